"""Translations. Message ids are English; catalogs translate them to zh_CN and zh_TW.

Each domain keeps its own catalogs in `<domain>/locale/<lang>.po` so domains stay
self-contained; they are merged per language when first used. `.po` files are read
directly (no compiled `.mo` step to forget).
"""

from __future__ import annotations

import gettext
from functools import cache
from pathlib import Path

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


class _Catalog(gettext.GNUTranslations):
    def __init__(
        self, messages: dict[str, str], plurals: dict[str, list[str]], plural_rule
    ) -> None:
        gettext.NullTranslations.__init__(self)
        self._catalog = {}
        for msgid, text in messages.items():
            self._catalog[msgid] = text
        for msgid, forms in plurals.items():
            for index, form in enumerate(forms):
                self._catalog[(msgid, index)] = form
        self.plural = plural_rule


@cache
def translations(language: str) -> gettext.NullTranslations:
    if language not in LANGUAGES or language == Language.EN:
        return gettext.NullTranslations()
    messages: dict[str, str] = {}
    plurals: dict[str, list[str]] = {}
    for path in catalog_paths(language):
        with path.open("rb") as handle:
            catalog = read_po(handle, locale=language)
        for message in catalog:
            if not message.id or message.fuzzy:
                continue
            if isinstance(message.id, tuple):
                forms = [s for s in message.string if s]
                if forms:
                    plurals[message.id[0]] = list(message.string)
            elif message.string:
                messages[message.id] = message.string
    return _Catalog(messages, plurals, lambda n: 0)  # Chinese has one plural form


def gettext_for(language: str):
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


__all__ = ["HTML_LANG", "LANGUAGES", "Translations", "gettext_for", "negotiate", "translations"]
