"""Cookies, CSRF tokens and the per-request context (language, client address)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Request, Response

from laoke.accounts import tokens
from laoke.config import Settings
from laoke.web.i18n import LANGUAGES, negotiate

SESSION_COOKIE = "laoke_session"
ANON_COOKIE = "laoke_anon"
LANGUAGE_COOKIE = "laoke_lang"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "0.0.0.0"  # noqa: S104


def csrf_token_for(settings: Settings, *, session_token: str | None, anon_id: str) -> str:
    binding = f"s:{session_token}" if session_token else f"a:{anon_id}"
    return tokens.sign(settings.secret_key, "csrf:" + binding)


def cookie_secure(settings: Settings) -> bool:
    return settings.base_url.startswith("https://")


def set_session_cookie(response: Response, settings: Settings, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.session_absolute_hours * 3600,
        httponly=True,
        samesite="lax",
        secure=cookie_secure(settings),
        path="/",
    )


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")


async def request_context_middleware(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """Give every request an anonymous id (for CSRF before sign-in) and a language."""
    settings: Settings = request.app.state.settings
    anon_id = request.cookies.get(ANON_COOKIE)
    new_anon = anon_id is None or len(anon_id) < 20
    if new_anon:
        anon_id = tokens.new_secret(18)
    request.state.anon_id = anon_id
    requested = request.query_params.get("lang")
    chosen = requested if requested in LANGUAGES else request.cookies.get(LANGUAGE_COOKIE)
    if chosen not in LANGUAGES:
        chosen = negotiate(request.headers.get("accept-language"), settings.default_language)
    request.state.language = chosen
    request.state.actor = None
    request.state.org = None
    request.state.csrf_token = csrf_token_for(settings, session_token=None, anon_id=anon_id)
    response = await call_next(request)
    if new_anon:
        response.set_cookie(
            ANON_COOKIE,
            anon_id,
            httponly=True,
            samesite="lax",
            secure=cookie_secure(settings),
            path="/",
        )
    if requested in LANGUAGES:
        response.set_cookie(
            LANGUAGE_COOKIE, requested, max_age=365 * 86400, samesite="lax", path="/"
        )
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if response.media_type == "text/html" or response.headers.get("content-type", "").startswith(
        "text/html"
    ):
        response.headers.setdefault("X-Frame-Options", "DENY")
    return response
