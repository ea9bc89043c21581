"""What every CLI command needs: settings, the database, the acting user, errors."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import typer
from rich.console import Console
from sqlalchemy import select
from sqlalchemy.orm import Session

from laoke.accounts.actor import Actor
from laoke.accounts.models import User
from laoke.accounts.service import actor_for
from laoke.config import get_settings
from laoke.db import Database, make_engine
from laoke.errors import DomainError
from laoke.tenancy.models import Org
from laoke.tenancy.service import get_org_by_slug
from laoke.web.i18n import translations

console = Console()
err_console = Console(stderr=True)


def database() -> Database:
    settings = get_settings()
    return Database(
        make_engine(settings.database_url, busy_timeout_ms=settings.sqlite_busy_timeout_ms)
    )


def fail(message: str, code: int = 1) -> NoReturn:
    err_console.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def explain(exc: DomainError) -> str:
    text = translations(get_settings().default_language).gettext(exc.message)
    return text % exc.params if exc.params else text


@contextmanager
def domain_errors() -> Iterator[None]:
    """Domain errors become one readable line on stderr and exit code 1."""
    try:
        yield
    except DomainError as exc:
        where = f": {exc.field}" if exc.field else ""
        fail(f"{explain(exc)} ({exc.code}{where})")


def resolve_actor(session: Session, org_slug: str, as_email: str | None) -> tuple[Org, Actor]:
    org = get_org_by_slug(session, org_slug)
    if not as_email:
        return org, Actor.system(org.id)
    user = session.scalar(
        select(User).where(User.email == as_email.strip().lower(), User.org_id == org.id)
    )
    if user is None:
        fail(f"no staff member {as_email} in {org.slug}")
    return org, actor_for(user, org=org)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, default=str) + "\n")
