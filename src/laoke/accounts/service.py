"""Staff accounts: creation, roles, sign-in with throttling, sessions and API tokens."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from laoke.accounts import passwords, tokens
from laoke.accounts.actor import Actor
from laoke.accounts.models import ApiToken, LoginAttempt, User, WebSession
from laoke.accounts.roles import ROLE_RANK, Permission, Role
from laoke.audit.models import AuditAction
from laoke.audit.service import record
from laoke.config import Language, Settings
from laoke.db import utcnow
from laoke.errors import (
    N_,
    Conflict,
    Invalid,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    TooManyRequests,
)
from laoke.tenancy.models import Org

_STAFF_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s.]+$")


def normalise_email(raw: str) -> str:
    """Staff emails are login names: a syntax check only, so internal domains (.local) work."""
    email = unicodedata.normalize("NFKC", raw).strip().lower()
    if len(email) > 254 or not _STAFF_EMAIL.match(email):
        raise Invalid(N_("This email address is not valid."), field="email")
    return email


def actor_for(
    user: User, *, ip: str | None = None, via_token: bool = False, org: Org | None = None
) -> Actor:
    language = user.language or (org.default_language if org else Language.ZH_CN)
    return Actor(
        user_id=user.id,
        org_id=user.org_id,
        role=Role(user.role),
        name=user.name,
        language=language,
        ip=ip,
        via_token=via_token,
    )


# --- staff -----------------------------------------------------------------------------


def create_user(
    session: Session,
    *,
    org_id: int,
    email: str,
    name: str,
    role: Role | str,
    password: str,
    language: str | None = None,
    by: Actor | None = None,
) -> User:
    try:
        role = Role(role)
    except ValueError as exc:
        raise Invalid(N_("Unknown role."), field="role") from exc
    if by is not None:
        by.require(Permission.MANAGE_STAFF)
        if by.org_id != org_id or ROLE_RANK[role] > ROLE_RANK[by.role]:
            raise PermissionDenied()
    email = normalise_email(email)
    if not name.strip():
        raise Invalid(N_("A name is required."), field="name")
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict(
            N_("A staff account with this email already exists."), code="duplicate_email"
        )
    user = User(
        org_id=org_id,
        email=email,
        name=name.strip(),
        role=role,
        password_hash=passwords.hash_password(password),
        language=language,
    )
    session.add(user)
    session.flush()
    record(
        session,
        by or Actor.system(org_id),
        AuditAction.USER_CREATED,
        target_type="user",
        target_id=user.id,
        details={"role": str(role)},
    )
    session.commit()
    return user


def list_staff(session: Session, actor: Actor, *, include_inactive: bool = False) -> list[User]:
    query = select(User).where(User.org_id == actor.org_id)
    if not include_inactive:
        query = query.where(User.is_active.is_(True))
    return list(session.scalars(query.order_by(User.name)))


def get_staff(session: Session, actor: Actor, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None or user.org_id != actor.org_id:
        raise NotFound()
    return user


def change_role(session: Session, actor: Actor, user_id: int, role: Role | str) -> User:
    actor.require(Permission.MANAGE_STAFF)
    user = get_staff(session, actor, user_id)
    try:
        new_role = Role(role)
    except ValueError as exc:
        raise Invalid(N_("Unknown role."), field="role") from exc
    old_role = Role(user.role)
    if max(ROLE_RANK[new_role], ROLE_RANK[old_role]) > ROLE_RANK[actor.role]:
        raise PermissionDenied()
    if (
        old_role is Role.OWNER
        and new_role is not Role.OWNER
        and _owner_count(session, actor.org_id) == 1
    ):
        raise Conflict(N_("An organisation needs at least one owner."), code="last_owner")
    user.role = new_role
    record(
        session,
        actor,
        AuditAction.ROLE_CHANGED,
        target_type="user",
        target_id=user.id,
        details={"from": str(old_role), "to": str(new_role)},
    )
    session.commit()
    return user


def deactivate_user(session: Session, actor: Actor, user_id: int) -> User:
    actor.require(Permission.MANAGE_STAFF)
    user = get_staff(session, actor, user_id)
    if user.id == actor.user_id:
        raise Conflict(N_("You cannot deactivate your own account."), code="self_deactivation")
    if ROLE_RANK[Role(user.role)] > ROLE_RANK[actor.role]:
        raise PermissionDenied()
    if user.role == Role.OWNER and _owner_count(session, actor.org_id) == 1:
        raise Conflict(N_("An organisation needs at least one owner."), code="last_owner")
    user.is_active = False
    session.execute(delete(WebSession).where(WebSession.user_id == user.id))
    for token in session.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    ):
        token.revoked_at = utcnow()
    record(session, actor, AuditAction.USER_DEACTIVATED, target_type="user", target_id=user.id)
    session.commit()
    return user


def set_language(session: Session, actor: Actor, language: str) -> None:
    if language not in Language.__members__.values():
        raise Invalid(N_("Unknown language."), field="language")
    user = get_staff(session, actor, actor.user_id or 0)
    user.language = language
    session.commit()


def _owner_count(session: Session, org_id: int) -> int:
    return (
        session.scalar(
            select(func.count()).where(
                User.org_id == org_id, User.role == Role.OWNER, User.is_active.is_(True)
            )
        )
        or 0
    )


# --- sign-in ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SignedIn:
    user: User
    session_token: str


def _throttled(session: Session, settings: Settings, email: str, ip: str) -> bool:
    since = utcnow() - timedelta(minutes=settings.login_throttle_minutes)
    failures = select(func.count()).where(
        LoginAttempt.succeeded.is_(False), LoginAttempt.at >= since
    )
    by_account = session.scalar(failures.where(LoginAttempt.email == email)) or 0
    by_ip = session.scalar(failures.where(LoginAttempt.ip == ip)) or 0
    return (
        by_account >= settings.login_failures_per_account or by_ip >= settings.login_failures_per_ip
    )


def sign_in(
    session: Session,
    settings: Settings,
    *,
    email: str,
    password: str,
    ip: str,
    user_agent: str | None = None,
) -> SignedIn:
    """Check a password and open a fresh session (a new token: the session is rotated)."""
    email = email.strip().lower()[:254]
    if _throttled(session, settings, email, ip):
        raise TooManyRequests()
    user = session.scalar(select(User).where(User.email == email))
    ok = passwords.verify_password(user.password_hash if user else None, password)
    if user is None or not ok or not user.is_active:
        session.add(LoginAttempt(email=email, ip=ip, succeeded=False))
        if user is not None:
            record(
                session,
                Actor(user.id, user.org_id, Role(user.role), ip=ip),
                AuditAction.LOGIN_FAILED,
                target_type="user",
                target_id=user.id,
            )
        session.commit()
        raise NotAuthenticated(N_("Wrong email or password."), code="bad_credentials")
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.HASHER.hash(password)
    token = tokens.new_secret()
    session.add(
        WebSession(
            org_id=user.org_id,
            user_id=user.id,
            token_hash=tokens.digest(token),
            ip=ip,
            user_agent=(user_agent or "")[:300],
        )
    )
    session.add(LoginAttempt(email=email, ip=ip, succeeded=True))
    user.last_login_at = utcnow()
    record(
        session,
        Actor(user.id, user.org_id, Role(user.role), ip=ip),
        AuditAction.LOGIN,
        target_type="user",
        target_id=user.id,
    )
    session.commit()
    return SignedIn(user=user, session_token=token)


TOUCH_EVERY = timedelta(minutes=1)


def resolve_session(
    session: Session, settings: Settings, token: str
) -> tuple[User, WebSession] | None:
    """The user behind a session cookie, or None when it is unknown or timed out.

    Read-only: the caller refreshes `last_seen_at` with `touch_session` in a write unit,
    so page views stay read transactions."""
    web_session = session.scalar(
        select(WebSession).where(WebSession.token_hash == tokens.digest(token))
    )
    if web_session is None:
        return None
    now = utcnow()
    idle = now - web_session.last_seen_at > timedelta(minutes=settings.session_idle_minutes)
    too_old = now - web_session.created_at > timedelta(hours=settings.session_absolute_hours)
    user = session.get(User, web_session.user_id)
    if idle or too_old or user is None or not user.is_active:
        return None
    return user, web_session


def session_needs_touch(web_session: WebSession) -> bool:
    return utcnow() - web_session.last_seen_at > TOUCH_EVERY


def touch_session(session: Session, session_id: int) -> None:
    session.execute(
        update(WebSession).where(WebSession.id == session_id).values(last_seen_at=utcnow())
    )
    session.commit()


def sign_out(session: Session, token: str) -> None:
    web_session = session.scalar(
        select(WebSession).where(WebSession.token_hash == tokens.digest(token))
    )
    if web_session is None:
        return
    user = session.get(User, web_session.user_id)
    session.delete(web_session)
    if user is not None:
        record(
            session,
            Actor(user.id, user.org_id, Role(user.role)),
            AuditAction.LOGOUT,
            target_type="user",
            target_id=user.id,
        )
    session.commit()


def purge_expired_sessions(
    session: Session, settings: Settings, now: datetime | None = None
) -> int:
    now = now or utcnow()
    result = session.execute(
        delete(WebSession).where(
            (WebSession.last_seen_at < now - timedelta(minutes=settings.session_idle_minutes))
            | (WebSession.created_at < now - timedelta(hours=settings.session_absolute_hours))
        )
    )
    session.execute(delete(LoginAttempt).where(LoginAttempt.at < now - timedelta(days=30)))
    session.commit()
    return result.rowcount or 0


# --- API tokens ------------------------------------------------------------------------


@dataclass(frozen=True)
class NewApiToken:
    token: ApiToken
    secret: str


def create_api_token(
    session: Session, actor: Actor, *, name: str, user_id: int | None = None
) -> NewApiToken:
    actor.require(Permission.USE_API_TOKENS)
    owner_id = user_id if user_id is not None else actor.user_id
    if owner_id != actor.user_id:
        actor.require(Permission.MANAGE_STAFF)
    owner = get_staff(session, actor, owner_id or 0)
    secret = tokens.API_TOKEN_PREFIX + tokens.new_secret()
    token = ApiToken(
        org_id=actor.org_id,
        user_id=owner.id,
        name=(name.strip() or "API")[:100],
        prefix=secret[:10],
        token_hash=tokens.digest(secret),
    )
    session.add(token)
    session.flush()
    record(
        session,
        actor,
        AuditAction.TOKEN_CREATED,
        target_type="api_token",
        target_id=token.id,
        details={"user_id": owner.id},
    )
    session.commit()
    return NewApiToken(token=token, secret=secret)


def list_api_tokens(session: Session, actor: Actor) -> list[ApiToken]:
    query = select(ApiToken).where(ApiToken.org_id == actor.org_id, ApiToken.revoked_at.is_(None))
    if not actor.can(Permission.MANAGE_STAFF):
        query = query.where(ApiToken.user_id == actor.user_id)
    return list(session.scalars(query.order_by(ApiToken.created_at.desc())))


def revoke_api_token(session: Session, actor: Actor, token_id: int) -> None:
    token = session.get(ApiToken, token_id)
    if token is None or token.org_id != actor.org_id:
        raise NotFound()
    if token.user_id != actor.user_id:
        actor.require(Permission.MANAGE_STAFF)
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        record(
            session, actor, AuditAction.TOKEN_REVOKED, target_type="api_token", target_id=token.id
        )
    session.commit()


def resolve_api_token(session: Session, secret: str) -> tuple[User, ApiToken] | None:
    if not secret.startswith(tokens.API_TOKEN_PREFIX):
        return None
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == tokens.digest(secret)))
    if token is None or token.revoked_at is not None:
        return None
    user = session.get(User, token.user_id)
    if user is None or not user.is_active:
        return None
    return user, token


def token_needs_touch(token: ApiToken) -> bool:
    return token.last_used_at is None or utcnow() - token.last_used_at > TOUCH_EVERY * 5


def touch_token(session: Session, token_id: int) -> None:
    session.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=utcnow()))
