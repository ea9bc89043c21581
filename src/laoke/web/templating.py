"""Jinja2 pages: autoescaping everywhere, translations per request, one `render`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, select_autoescape

from laoke.web.i18n import HTML_LANG, LANGUAGES, translations

PACKAGE_ROOT = Path(__file__).resolve().parent.parent


def _loader() -> ChoiceLoader:
    # web/templates holds the base layout; each domain has its own templates folder.
    folders = [PACKAGE_ROOT / "web" / "templates"]
    folders += sorted(p for p in PACKAGE_ROOT.glob("*/templates") if p.parent.name != "web")
    return ChoiceLoader([FileSystemLoader(str(folder)) for folder in folders])


ENV = Environment(
    loader=_loader(),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def _format_datetime(
    value: datetime | None, tz: str = "Asia/Shanghai", fmt: str = "%Y-%m-%d %H:%M"
) -> str:
    if value is None:
        return ""
    return value.astimezone(ZoneInfo(tz)).strftime(fmt)


def _format_date(value: date | None) -> str:
    return value.isoformat() if value else ""


ENV.filters["datetime"] = _format_datetime
ENV.filters["date"] = _format_date


def _translator(language: str) -> tuple[Callable[..., str], Callable[..., str]]:
    catalog = translations(language)

    def gettext(message: str, **params: Any) -> str:
        text = catalog.gettext(message)
        return text % params if params else text

    def ngettext(singular: str, plural: str, n: int, **params: Any) -> str:
        text = catalog.ngettext(singular, plural, n)
        return text % {"n": n, **params}

    return gettext, ngettext


def render_string(name: str, language: str, **context: Any) -> str:
    gettext, ngettext = _translator(language)
    template = ENV.get_template(name)
    return template.render(
        _=gettext,
        gettext=gettext,
        ngettext=ngettext,
        language=language,
        html_lang=HTML_LANG.get(language, "zh-CN"),
        languages=LANGUAGES,
        **context,
    )


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> HTMLResponse:
    """Render a page in the request's language with the signed-in user and CSRF token at hand."""
    state = request.state
    context = dict(context or {})
    context.setdefault("request", request)
    context.setdefault("actor", getattr(state, "actor", None))
    context.setdefault("csrf_token", getattr(state, "csrf_token", ""))
    context.setdefault("org", getattr(state, "org", None))
    context.setdefault(
        "timezone", getattr(getattr(state, "org", None), "timezone", "Asia/Shanghai")
    )
    context.setdefault("htmx", request.headers.get("HX-Request") == "true")
    language = getattr(state, "language", "zh_CN")
    html = render_string(name, language, **context)
    return HTMLResponse(html, status_code=status_code)
