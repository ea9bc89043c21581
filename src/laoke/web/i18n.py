"""Translations. Message ids are English; catalogs translate them to zh_CN and zh_TW.

Each domain keeps its own catalogs in `<domain>/locale/<lang>.po` so domains stay
self-contained; they are merged per language when first used. `.po` files are read
directly (no compiled `.mo` step to forget).
"""

from __future__ import annotations

import gettext
import io
from collections.abc import Callable
from functools import cache
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from laoke.config import Language

PACKAGE_ROOT = Path(__file__).resolve().parent.parent
LANGUAGES: dict[str, str] = {
    Language.ZH_CN: "简体中文",
    Language.ZH_TW: "繁體中文",
    Language.EN: "English",
}
HTML_LANG = {Language.ZH_CN: "zh-CN", Language.ZH_TW: "zh-TW", Language.EN: "en"}


def catalog_paths(language: str) -> list[Path]:
    return sorted(PACKAGE_ROOT.glob(f"*/locale/{language}.po"))


@cache
def translations(language: str) -> gettext.NullTranslations:
    """All domains' catalogs for a language merged into one, compiled in memory."""
    if language not in LANGUAGES or language == Language.EN:
        return gettext.NullTranslations()
    merged = Catalog(locale=language)
    for path in catalog_paths(language):
        with path.open("rb") as handle:
            for message in read_po(handle, locale=language):
                if message.id and not message.fuzzy and message.string:
                    merged.add(message.id, message.string)
    compiled = io.BytesIO()
    write_mo(compiled, merged)
    compiled.seek(0)
    return Translations(compiled)


def gettext_for(language: str) -> Callable[[str], str]:
    return translations(language).gettext


def negotiate(accept_language: str | None, default: str = Language.ZH_CN) -> str:
    """Pick zh_CN / zh_TW / en from an Accept-Language header."""
    if not accept_language:
        return default
    ranked = []
    for part in accept_language.split(","):
        tag, _, q = part.strip().partition(";q=")
        try:
            weight = float(q) if q else 1.0
        except ValueError:
            weight = 0.0
        ranked.append((weight, tag.strip().lower()))
    for _, tag in sorted(ranked, key=lambda item: -item[0]):
        if tag.startswith(("zh-tw", "zh-hk", "zh-mo", "zh-hant")):
            return Language.ZH_TW
        if tag.startswith("zh"):
            return Language.ZH_CN
        if tag.startswith("en"):
            return Language.EN
    return default
