"""`laoke customers …`: the same rules as the pages and the API, from a terminal."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.table import Table

from laoke.cli_support import console, database, domain_errors, fail, print_json, resolve_actor
from laoke.customers import erasure, merge, service
from laoke.customers.phones import format_phone
from laoke.customers.presenters import customer_public
from laoke.customers.schemas import CustomerCreate, CustomerUpdate

customers_app = typer.Typer(
    help="Customers: list, show, add, update, merge, erase.", no_args_is_help=True
)

OrgOption = Annotated[str, typer.Option("--org", help="Organisation short name (slug)")]
AsOption = Annotated[
    str | None,
    typer.Option("--as", help="Act as this staff email (default: the system, with owner rights)"),
]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table")]


def _validated(
    model: type[CustomerCreate] | type[CustomerUpdate], payload: dict
) -> CustomerCreate | CustomerUpdate:
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        fail("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()))


@customers_app.command("list")
def list_customers(
    org: OrgOption,
    q: Annotated[str | None, typer.Option(help="Name, phone digits, WeChat id or email")] = None,
    tag: Annotated[str | None, typer.Option(help="Only customers with this tag")] = None,
    owner_id: Annotated[int | None, typer.Option(help="Only this owner's customers")] = None,
    page: Annotated[int, typer.Option(min=1)] = 1,
    per_page: Annotated[int, typer.Option(min=1, max=200)] = 20,
    as_email: AsOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Search customers, a page at a time."""
    with domain_errors(), database().unit_of_work(write=False) as session:
        _, actor = resolve_actor(session, org, as_email)
        result = service.search_customers(
            session,
            actor,
            service.CustomerQuery(q=q, tag=tag, owner_id=owner_id, page=page, per_page=per_page),
        )
        if as_json:
            print_json(
                {
                    "items": [
                        customer_public(c, actor).model_dump(mode="json") for c in result.items
                    ],
                    "total": result.total,
                    "page": result.page,
                    "pages": result.pages,
                }
            )
            return
        table = Table(title=f"{result.total} customers — page {result.page}/{result.pages}")
        for column in ("id", "name", "phone", "tags", "source"):
            table.add_column(column)
        for c in result.items:
            public = customer_public(c, actor)
            phone = public.phones[0] if public.phones else ""
            shown = format_phone(phone) if phone and not public.phones_masked else phone
            table.add_row(str(c.id), c.name, shown, ", ".join(c.tags), c.source_channel or "")
        console.print(table)


@customers_app.command("show")
def show_customer(org: OrgOption, customer_id: int, as_email: AsOption = None) -> None:
    """One customer as JSON."""
    with domain_errors(), database().unit_of_work(write=False) as session:
        _, actor = resolve_actor(session, org, as_email)
        print_json(
            customer_public(
                service.get_customer_for(session, actor, customer_id), actor
            ).model_dump(mode="json")
        )


@customers_app.command("add")
def add_customer(
    org: OrgOption,
    name: Annotated[str, typer.Option(help="Full name")],
    phone: Annotated[
        list[str] | None, typer.Option(help="Repeat for several; the first is primary")
    ] = None,
    tag: Annotated[list[str] | None, typer.Option(help="Repeat for several")] = None,
    email: str | None = None,
    wechat_id: str | None = None,
    birthday: Annotated[str | None, typer.Option(help="YYYY-MM-DD")] = None,
    source_channel: str | None = None,
    consent: Annotated[bool, typer.Option(help="Agrees to marketing messages")] = False,
    as_email: AsOption = None,
) -> None:
    """Create a customer and print it as JSON."""
    payload = {
        "name": name,
        "phones": phone or [],
        "tags": tag or [],
        "email": email,
        "wechat_id": wechat_id,
        "birthday": date.fromisoformat(birthday) if birthday else None,
        "source_channel": source_channel,
    }
    if consent:
        payload |= {"marketing_consent": True, "consent_source": "staff"}
    data = _validated(CustomerCreate, payload)
    with domain_errors(), database().unit_of_work() as session:
        _, actor = resolve_actor(session, org, as_email)
        print_json(
            customer_public(service.create_customer(session, actor, data), actor).model_dump(
                mode="json"
            )
        )


@customers_app.command("update")
def update_customer(
    org: OrgOption,
    customer_id: int,
    name: str | None = None,
    phone: Annotated[
        list[str] | None, typer.Option(help="Replaces all phones; repeat for several")
    ] = None,
    tag: Annotated[
        list[str] | None, typer.Option(help="Replaces all tags; repeat for several")
    ] = None,
    email: str | None = None,
    owner_id: int | None = None,
    as_email: AsOption = None,
) -> None:
    """Change some fields; the others stay as they are."""
    payload = {
        key: value
        for key, value in {
            "name": name,
            "phones": phone,
            "tags": tag,
            "email": email,
            "owner_id": owner_id,
        }.items()
        if value is not None
    }
    data = _validated(CustomerUpdate, payload)
    with domain_errors(), database().unit_of_work() as session:
        _, actor = resolve_actor(session, org, as_email)
        customer = service.update_customer(session, actor, customer_id, data)
        print_json(customer_public(customer, actor).model_dump(mode="json"))


@customers_app.command("merge")
def merge_command(
    org: OrgOption,
    keep_id: Annotated[int, typer.Argument(help="The customer that stays")],
    other_id: Annotated[int, typer.Argument(help="The duplicate folded into it")],
    as_email: AsOption = None,
) -> None:
    """Merge a duplicate into another customer."""
    with domain_errors(), database().unit_of_work() as session:
        _, actor = resolve_actor(session, org, as_email)
        outcome = merge.merge_customers(session, actor, keep_id, other_id)
        print_json(
            {"kept_id": outcome.kept.id, "merged_id": outcome.retired_id, "moved": outcome.moved}
        )


@customers_app.command("erase")
def erase_command(
    org: OrgOption,
    customer_id: int,
    yes: Annotated[bool, typer.Option("--yes", help="Confirm: this cannot be undone")] = False,
    reason: str = "",
    as_email: AsOption = None,
) -> None:
    """Erase a customer's personal data (PIPL/GDPR request)."""
    if not yes:
        fail("erasure cannot be undone; add --yes to confirm")
    with domain_errors(), database().unit_of_work() as session:
        _, actor = resolve_actor(session, org, as_email)
        customer = erasure.erase_customer(session, actor, customer_id, reason=reason)
        console.print(f"erased customer {customer.id}; pseudonym {customer.pseudonym}")
