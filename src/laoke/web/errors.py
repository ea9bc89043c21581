"""One mapper from errors to responses: problem+json for the API, friendly pages for HTML."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from laoke.db import is_contention
from laoke.errors import N_, DomainError
from laoke.web.deps import LoginRequired
from laoke.web.i18n import translations
from laoke.web.templating import render

log = logging.getLogger("laoke.web")

STATUS_TITLES = {
    400: N_("Bad request"),
    401: N_("Please sign in"),
    403: N_("Not allowed"),
    404: N_("Not found"),
    405: N_("Method not allowed"),
    409: N_("Conflict"),
    413: N_("Too large"),
    422: N_("Invalid input"),
    429: N_("Too many requests"),
    500: N_("Something went wrong"),
}


def wants_json(request: Request) -> bool:
    if request.url.path.startswith("/api/") or request.url.path in ("/healthz", "/openapi.json"):
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def problem(
    request: Request,
    status: int,
    code: str,
    detail: str,
    *,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    language = getattr(request.state, "language", "zh_CN")
    gettext = translations(language).gettext
    title = gettext(STATUS_TITLES.get(status, STATUS_TITLES[400]))
    if wants_json(request):
        body: dict[str, Any] = {
            "type": f"https://laoke.dev/problems/{code}",
            "title": title,
            "status": status,
            "code": code,
            "detail": detail,
        }
        if errors:
            body["errors"] = errors
        return JSONResponse(
            body, status_code=status, media_type="application/problem+json", headers=headers
        )
    response = render(
        request,
        "error.html",
        {"status": status, "title": title, "detail": detail, "code": code},
        status_code=status,
    )
    if headers:
        response.headers.update(headers)
    return response


async def _domain_error(request: Request, exc: DomainError) -> Response:
    gettext = translations(getattr(request.state, "language", "zh_CN")).gettext
    text = gettext(exc.message)
    detail = text % exc.params if exc.params else text
    errors = [{"field": exc.field, "message": detail}] if exc.field else None
    headers = None
    if exc.status == 429:
        headers = {"Retry-After": "900"}
    elif exc.code == "busy_retry":
        headers = {"Retry-After": "1"}
    return problem(request, exc.status, exc.code, detail, errors=errors, headers=headers)


async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
    errors = [
        {
            "field": ".".join(
                str(part) for part in err.get("loc", ()) if part not in ("body", "query", "path")
            ),
            "message": err.get("msg", ""),
            "type": err.get("type", ""),
        }
        for err in exc.errors()
    ]
    gettext = translations(getattr(request.state, "language", "zh_CN")).gettext
    return problem(
        request, 422, "invalid", gettext(N_("Some values are not valid.")), errors=errors
    )


async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
    gettext = translations(getattr(request.state, "language", "zh_CN")).gettext
    code = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}.get(
        exc.status_code, "http_error"
    )
    detail = gettext(STATUS_TITLES.get(exc.status_code, N_("The request could not be processed.")))
    return problem(request, exc.status_code, code, detail, headers=getattr(exc, "headers", None))


async def _login_required(request: Request, exc: LoginRequired) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.headers.get("HX-Request") == "true":
        return Response(status_code=204, headers={"HX-Redirect": "/login"})
    return RedirectResponse(f"/login?next={quote(target)}", status_code=303)


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    gettext = translations(getattr(request.state, "language", "zh_CN")).gettext
    return problem(
        request,
        500,
        "internal_error",
        gettext(N_("An unexpected error happened. It has been logged.")),
    )


async def _database_error(request: Request, exc: Exception) -> Response:
    """Contention met outside a route's own retries (e.g. while authenticating): the client
    is asked to retry; anything else is an unexpected error."""
    busy = isinstance(exc, PoolTimeout) or (isinstance(exc, DBAPIError) and is_contention(exc))
    if not busy:
        return await _unexpected(request, exc)
    gettext = translations(getattr(request.state, "language", "zh_CN")).gettext
    return problem(
        request,
        409,
        "busy_retry",
        gettext(N_("Someone else is changing the same records. Please try again.")),
        headers={"Retry-After": "1"},
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(LoginRequired, _login_required)  # type: ignore[arg-type]
    app.add_exception_handler(DBAPIError, _database_error)
    app.add_exception_handler(PoolTimeout, _database_error)
    app.add_exception_handler(Exception, _unexpected)
