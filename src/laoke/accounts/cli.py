"""`laoke org …`, `laoke user …`, `laoke token …`."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy import select

from laoke.accounts import service
from laoke.accounts.models import User
from laoke.accounts.service import actor_for
from laoke.cli_support import console, database, domain_errors, fail
from laoke.tenancy.service import create_org, get_org_by_slug

org_app = typer.Typer(help="Organisations (tenants).", no_args_is_help=True)
user_app = typer.Typer(help="Staff accounts.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens.", no_args_is_help=True)

OrgOption = Annotated[str, typer.Option("--org", help="Organisation short name (slug)")]


@org_app.command("create")
def org_create(
    slug: Annotated[str, typer.Argument(help="Short name, e.g. my-salon")],
    name: Annotated[str, typer.Option("--name", help="Display name")],
    language: Annotated[str, typer.Option(help="zh_CN, zh_TW or en")] = "zh_CN",
    timezone: Annotated[str, typer.Option(help="IANA time zone")] = "Asia/Shanghai",
) -> None:
    """Create an organisation."""
    with domain_errors(), database().unit_of_work() as session:
        org = create_org(
            session, slug=slug, name=name, default_language=language, timezone=timezone
        )
        console.print(f"created organisation {org.slug} (id {org.id})")


@user_app.command("create")
def user_create(
    org: OrgOption,
    email: Annotated[str, typer.Option(help="Login email")],
    role: Annotated[str, typer.Option(help="owner, admin, manager, sales or viewer")],
    password: Annotated[
        str, typer.Option(help="At least 8 characters", prompt=True, hide_input=True)
    ],
    name: Annotated[
        str | None, typer.Option(help="Display name (default: the email's local part)")
    ] = None,
) -> None:
    """Create a staff account."""
    with domain_errors(), database().unit_of_work() as session:
        tenant = get_org_by_slug(session, org)
        user = service.create_user(
            session,
            org_id=tenant.id,
            email=email,
            name=name or email.split("@")[0],
            role=role,
            password=password,
        )
        console.print(f"created {user.role} {user.email} (id {user.id}) in {tenant.slug}")


@token_app.command("create")
def token_create(
    org: OrgOption,
    email: Annotated[str, typer.Option(help="The staff member the token acts as")],
    name: Annotated[str, typer.Option(help="A label, e.g. the integration's name")] = "cli",
) -> None:
    """Create an API token and print only the token."""
    with domain_errors(), database().unit_of_work() as session:
        tenant = get_org_by_slug(session, org)
        user = session.scalar(
            select(User).where(User.email == email.strip().lower(), User.org_id == tenant.id)
        )
        if user is None or not user.is_active:
            fail(f"no active staff member {email} in {tenant.slug}")
        created = service.create_api_token(session, actor_for(user, org=tenant), name=name)
        typer.echo(created.secret)
