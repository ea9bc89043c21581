"""Sign-in, sign-out, language, staff and API-token pages."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from laoke.accounts import service
from laoke.accounts.roles import ROLE_LABELS, ROLE_RANK, Permission, Role
from laoke.errors import DomainError, NotAuthenticated, TooManyRequests
from laoke.web.deps import CsrfProtected, OptionalActor, PageActor, SessionDep, SettingsDep
from laoke.web.security import (
    SESSION_COOKIE,
    clear_session_cookie,
    client_ip,
    set_session_cookie,
)
from laoke.web.templating import render

router = APIRouter(include_in_schema=False, dependencies=[CsrfProtected])


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


@router.get("/login")
def login_page(request: Request, actor: OptionalActor, next: str | None = None) -> Response:
    if actor is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return render(request, "login.html", {"next": _safe_next(next), "email": "", "error": None})


@router.post("/login")
def login(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    email: Annotated[str, Form(max_length=254)],
    password: Annotated[str, Form(max_length=1024)],
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    try:
        signed_in = service.sign_in(
            session,
            settings,
            email=email,
            password=password,
            ip=client_ip(request),
            user_agent=request.headers.get("user-agent"),
        )
    except (NotAuthenticated, TooManyRequests) as exc:
        status = exc.status if isinstance(exc, TooManyRequests) else 400
        return render(
            request,
            "login.html",
            {"next": _safe_next(next), "email": email, "error": exc},
            status_code=status,
        )
    response = RedirectResponse(_safe_next(next), status_code=303)
    set_session_cookie(response, settings, signed_in.session_token)
    return response


@router.post("/logout")
def logout(request: Request, session: SessionDep) -> Response:
    if token := request.cookies.get(SESSION_COOKIE):
        service.sign_out(session, token)
    response = RedirectResponse("/login", status_code=303)
    clear_session_cookie(response)
    return response


@router.post("/settings/language")
def change_language(
    request: Request,
    session: SessionDep,
    actor: PageActor,
    language: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/customers",
) -> Response:
    service.set_language(session, actor, language)
    return RedirectResponse(_safe_next(next), status_code=303)


@router.get("/settings/staff")
def staff_page(request: Request, session: SessionDep, actor: PageActor) -> HTMLResponse:
    actor.require(Permission.MANAGE_STAFF)
    return _staff(request, session, actor)


def _staff(
    request: Request, session: SessionDep, actor: PageActor, **extra: object
) -> HTMLResponse:
    grantable = [role for role in Role if ROLE_RANK[role] <= ROLE_RANK[actor.role]]
    return render(
        request,
        "staff.html",
        {
            "staff": service.list_staff(session, actor, include_inactive=True),
            "roles": grantable,
            "role_labels": ROLE_LABELS,
            "error": None,
            **extra,
        },
        status_code=400 if extra.get("error") else 200,
    )


@router.post("/settings/staff")
def create_staff(
    request: Request,
    session: SessionDep,
    actor: PageActor,
    email: Annotated[str, Form(max_length=254)],
    name: Annotated[str, Form(max_length=100)],
    role: Annotated[str, Form(max_length=16)],
    password: Annotated[str, Form(max_length=1024)],
) -> Response:
    try:
        service.create_user(
            session,
            org_id=actor.org_id,
            email=email,
            name=name,
            role=role,
            password=password,
            by=actor,
        )
    except DomainError as exc:
        if exc.status == 403:
            raise
        session.rollback()
        return _staff(request, session, actor, error=exc)
    return RedirectResponse("/settings/staff", status_code=303)


@router.post("/settings/staff/{user_id}/role")
def change_staff_role(
    session: SessionDep, actor: PageActor, user_id: int, role: Annotated[str, Form(max_length=16)]
) -> Response:
    service.change_role(session, actor, user_id, role)
    return RedirectResponse("/settings/staff", status_code=303)


@router.post("/settings/staff/{user_id}/deactivate")
def deactivate_staff(session: SessionDep, actor: PageActor, user_id: int) -> Response:
    service.deactivate_user(session, actor, user_id)
    return RedirectResponse("/settings/staff", status_code=303)


@router.get("/settings/tokens")
def tokens_page(request: Request, session: SessionDep, actor: PageActor) -> HTMLResponse:
    actor.require(Permission.USE_API_TOKENS)
    return render(
        request,
        "tokens.html",
        {"tokens": service.list_api_tokens(session, actor), "new_secret": None},
    )


@router.post("/settings/tokens")
def create_token(
    request: Request,
    session: SessionDep,
    actor: PageActor,
    name: Annotated[str, Form(max_length=100)] = "",
) -> HTMLResponse:
    created = service.create_api_token(session, actor, name=name)
    # The secret is shown on this response only; it is never stored in clear.
    response = render(
        request,
        "tokens.html",
        {"tokens": service.list_api_tokens(session, actor), "new_secret": created.secret},
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/settings/tokens/{token_id}/revoke")
def revoke_token(session: SessionDep, actor: PageActor, token_id: int) -> Response:
    service.revoke_api_token(session, actor, token_id)
    return RedirectResponse("/settings/tokens", status_code=303)
