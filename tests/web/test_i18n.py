"""Translations: complete catalogs, no hard-coded text in templates, per-user language."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from laoke.web.i18n import negotiate, translations
from tests.conftest import csrf_from

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = sorted((ROOT / "src" / "laoke").glob("*/templates/*.html"))
_JINJA = re.compile(r"{{.*?}}|{%.*?%}|{#.*?#}", re.S)
_TAG = re.compile(r"<[^>]*>", re.S)
_SCRIPT = re.compile(r"<(script|style)\b.*?</\1>", re.S | re.I)
_WORDS = re.compile(r"[A-Za-z\u4e00-\u9fff]{2,}")
_VISIBLE_ATTRIBUTE = re.compile(
    r"""\b(placeholder|title|alt|aria-label)\s*=\s*["']([^"'{]*[A-Za-z\u4e00-\u9fff][^"'{]*)["']"""
)


def test_every_message_is_translated_to_simplified_and_traditional_chinese() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "i18n.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_templates_show_no_untranslated_text(template: Path) -> None:
    source = _JINJA.sub(" ", template.read_text())
    attributes = _VISIBLE_ATTRIBUTE.findall(source)
    visible = _TAG.sub(" ", _SCRIPT.sub(" ", source))
    visible = re.sub(r"&\w+;", " ", visible)
    assert _WORDS.findall(visible) == [], "wrap visible text in _()"
    assert attributes == [], "wrap attribute text in _()"


def test_language_negotiation() -> None:
    assert negotiate("zh-TW,zh;q=0.9") == "zh_TW"
    assert negotiate("en-US,en;q=0.9,zh-CN;q=0.5") == "en"
    assert negotiate("fr-FR") == "zh_CN"
    assert negotiate(None) == "zh_CN"
    assert translations("zh_TW").gettext("Customers") == "客戶"


def test_pages_default_to_simplified_chinese_and_follow_the_users_choice(cast, browser_of) -> None:
    alice = browser_of(cast.alice)
    page = alice.get("/customers").text
    assert 'lang="zh-CN"' in page and ">客户</h1>" in page
    alice.post("/settings/language", data={"csrf_token": csrf_from(page), "language": "en"})
    assert ">Customers</h1>" in alice.get("/customers").text
    alice.post("/settings/language", data={"csrf_token": csrf_from(page), "language": "zh_TW"})
    assert ">客戶</h1>" in alice.get("/customers").text
    # Another user keeps their own language.
    assert ">客户</h1>" in browser_of(cast.bob).get("/customers").text


def test_the_login_page_takes_the_browser_language_and_a_lang_link(client) -> None:
    assert "登入" in client.get("/login", headers={"Accept-Language": "zh-TW"}).text
    assert "Sign in" in client.get("/login?lang=en").text
    assert "Sign in" in client.get("/login").text  # the choice is remembered in a cookie


def test_api_errors_speak_the_users_language(cast, api_of) -> None:
    api = api_of(cast.alice)
    assert api.get("/api/v1/customers/999999").json()["detail"] == "找不到该客户。"
