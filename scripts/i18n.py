"""Refresh the per-domain translation catalogs from the code and templates.

    python scripts/i18n.py            # update src/laoke/<domain>/locale/{zh_CN,zh_TW}.po
    python scripts/i18n.py --check    # exit 1 if any message lacks a translation

Message ids are English. New zh_TW entries are drafted from the zh_CN translation with
OpenCC (s2twp: Taiwan phrasing) and then reviewed by hand like any other text.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent / "src" / "laoke"
LANGUAGES = ("zh_CN", "zh_TW")
KEYWORDS = {**DEFAULT_KEYWORDS, "N_": None, "_": None}
METHOD_MAP = [
    ("**/locale/**", "ignore"),
    ("**.py", "python"),
    ("**/templates/**.html", "jinja2.ext:babel_extract"),
]


def domains() -> list[Path]:
    return sorted(p for p in ROOT.iterdir() if p.is_dir() and (p / "__init__.py").exists())


def extract(domain: Path) -> Catalog:
    catalog = Catalog(project="laoke", locale=None)
    sources = [(domain, METHOD_MAP, domain.name)]
    if domain.name == "web":
        # Shared top-level modules (errors.py, config.py) keep their messages with the web layer.
        sources.append((ROOT, [("*.py", "python")], ""))
    for folder, method_map, prefix in sources:
        for filename, lineno, message, comments, _context in extract_from_dir(
            str(folder),
            method_map=method_map,
            keywords=KEYWORDS,
            options_map={"**.html": {"trimmed": "true"}},
        ):
            if not message or (isinstance(message, tuple) and not message[0]):
                continue
            location = f"{prefix}/{filename}" if prefix else filename
            catalog.add(message, locations=[(location, lineno)], auto_comments=comments)
    return catalog


def load(path: Path, language: str) -> Catalog:
    if not path.exists():
        return Catalog(locale=language, project="laoke")
    with path.open("rb") as handle:
        return read_po(handle, locale=language)


# Where OpenCC's Taiwan phrasing misses what Taiwanese software actually says.
TW_FIXUPS = {
    "郵箱": "電子郵件",
    "賬號": "帳號",
    "賬戶": "帳戶",
    "錯誤程式碼": "錯誤代碼",
    "許可權": "權限",
    "只讀": "唯讀",
    "微訊": "微信",
}


def _to_traditional():
    try:
        import opencc
    except ImportError:
        return None
    converter = opencc.OpenCC("s2twp")

    def convert(text: str) -> str:
        text = converter.convert(text)
        for wrong, right in TW_FIXUPS.items():
            text = text.replace(wrong, right)
        return text

    return convert


def update(check: bool) -> int:
    convert = _to_traditional()
    missing: list[str] = []
    for domain in domains():
        template = extract(domain)
        if not len(template):
            continue
        simplified: dict[object, object] = {}
        for language in LANGUAGES:
            path = domain / "locale" / f"{language}.po"
            old = load(path, language)
            new = Catalog(locale=language, project="laoke", fuzzy=False)
            for message in template:
                if not message.id:
                    continue
                previous = old.get(message.id)
                string = (
                    previous.string
                    if previous is not None
                    else ("", "")
                    if message.pluralizable
                    else ""
                )
                if (
                    language == "zh_TW"
                    and convert
                    and not _filled(string)
                    and _filled(simplified.get(message.id))
                ):
                    source = simplified[message.id]
                    string = (
                        tuple(convert(s) for s in source)
                        if isinstance(source, tuple)
                        else convert(source)
                    )
                new.add(
                    message.id,
                    string,
                    locations=message.locations,
                    auto_comments=message.auto_comments,
                )
                if language == "zh_CN":
                    simplified[message.id] = string
                if not _filled(string):
                    missing.append(f"{domain.name}/{language}: {message.id!r}")
            if check:
                continue
            path.parent.mkdir(exist_ok=True)
            with path.open("wb") as handle:
                write_po(
                    handle, new, width=0, omit_header=True, sort_output=True, include_lineno=False
                )
    for line in missing:
        print("untranslated", line)
    return 1 if (check and missing) else 0


def _filled(string: object) -> bool:
    if isinstance(string, tuple | list):
        return all(bool(s) for s in string)
    return bool(string)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--check", action="store_true", help="report untranslated messages, write nothing"
    )
    sys.exit(update(parser.parse_args().check))
