"""Request dependencies, named once: the database session and who is asking."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from laoke.accounts import service as accounts
from laoke.accounts import tokens
from laoke.accounts.actor import Actor
from laoke.config import Settings
from laoke.db import Database
from laoke.errors import N_, NotAuthenticated, PermissionDenied
from laoke.tenancy.models import Org
from laoke.tenancy.service import OrgInfo
from laoke.web.security import (
    CSRF_FIELD,
    CSRF_HEADER,
    SAFE_METHODS,
    SESSION_COOKIE,
    client_ip,
    csrf_token_for,
)


class LoginRequired(Exception):
    """A page needs a signed-in user; answered with a redirect to the login page."""


class CsrfFailed(PermissionDenied):
    code = "csrf_failed"
    default_message = N_("This form has expired. Please reload the page and try again.")


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_database(request: Request) -> Database:
    return request.app.state.database


async def write_turn(request: Request) -> AsyncIterator[None]:
    """A state-changing request waits for its turn to write (see laoke.web.write_turns)."""
    if request.method in SAFE_METHODS:
        yield
        return
    async with request.app.state.write_turns.turn():
        yield


async def write_turn_always(request: Request) -> AsyncIterator[None]:
    """For the few reading requests that may write (a share code made on first view)."""
    async with request.app.state.write_turns.turn():
        yield


def get_session(request: Request, _turn: Annotated[None, Depends(write_turn)]) -> Iterator[Session]:
    """Reads begin deferred; POST/PATCH/PUT/DELETE begin immediate (SQLite write lock)."""
    database: Database = request.app.state.database
    session = database.session(write=request.method not in SAFE_METHODS)
    try:
        yield session
    finally:
        session.rollback()
        session.close()


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session)]


def _touch(
    request: Request, session: Session, touch: Callable[[Session, int], None], row_id: int
) -> None:
    """Record activity. A write request already holds the write lock, so it touches in its
    own transaction (SQLite would deadlock on a second writer); reads use a short write unit."""
    if request.method not in SAFE_METHODS:
        touch(session, row_id)
        return
    database: Database = request.app.state.database
    with database.unit_of_work() as writer:
        touch(writer, row_id)
        writer.commit()


def _identify(request: Request, session: Session) -> Actor | None:
    if getattr(request.state, "identified", False):
        return request.state.actor
    request.state.identified = True
    settings: Settings = request.app.state.settings
    ip = client_ip(request)
    authorization = request.headers.get("authorization", "")
    actor: Actor | None = None
    if authorization.lower().startswith("bearer "):
        found = accounts.resolve_api_token(session, authorization[7:].strip())
        if found is None:
            raise NotAuthenticated(N_("The API token is not valid."), code="bad_token")
        user, token = found
        if accounts.token_needs_touch(token):
            _touch(request, session, accounts.touch_token, token.id)
        actor = accounts.actor_for(user, ip=ip, via_token=True, org=session.get(Org, user.org_id))
        request.state.auth = "token"
    elif cookie := request.cookies.get(SESSION_COOKIE):
        found_session = accounts.resolve_session(session, settings, cookie)
        if found_session is not None:
            user, web_session = found_session
            if accounts.session_needs_touch(web_session):
                _touch(request, session, accounts.touch_session, web_session.id)
            actor = accounts.actor_for(user, ip=ip, org=session.get(Org, user.org_id))
            request.state.auth = "cookie"
            request.state.csrf_token = csrf_token_for(
                settings, session_token=cookie, anon_id=request.state.anon_id
            )
    if actor is not None:
        request.state.actor = actor
        request.state.org = OrgInfo.of(session.get(Org, actor.org_id))
        request.state.language = actor.language
    return actor


async def verify_csrf(request: Request) -> None:
    """Every state-changing request made with cookies must carry the page's CSRF token."""
    if request.method in SAFE_METHODS or request.headers.get(
        "authorization", ""
    ).lower().startswith("bearer "):
        return
    if request.url.path.startswith("/api/") and SESSION_COOKIE not in request.cookies:
        return  # no ambient credentials to abuse; authentication will refuse the request
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    settings: Settings = request.app.state.settings
    cookie = request.cookies.get(SESSION_COOKIE)
    accepted = {csrf_token_for(settings, session_token=None, anon_id=request.state.anon_id)}
    if cookie:
        accepted.add(csrf_token_for(settings, session_token=cookie, anon_id=request.state.anon_id))
    if not sent or not any(tokens.same(sent, token) for token in accepted):
        raise CsrfFailed()


def optional_actor(request: Request, session: SessionDep) -> Actor | None:
    return _identify(request, session)


def page_actor(request: Request, session: SessionDep) -> Actor:
    actor = _identify(request, session)
    if actor is None:
        raise LoginRequired()
    return actor


def api_actor(request: Request, session: SessionDep) -> Actor:
    actor = _identify(request, session)
    if actor is None:
        raise NotAuthenticated()
    return actor


OptionalActor = Annotated[Actor | None, Depends(optional_actor)]
PageActor = Annotated[Actor, Depends(page_actor)]
ApiActor = Annotated[Actor, Depends(api_actor)]
CsrfProtected = Depends(verify_csrf)
