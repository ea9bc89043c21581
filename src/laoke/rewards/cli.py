"""`laoke ledger verify --org SLUG`: recompute a tenant's hash chain and balances;
`laoke ledger export --org SLUG FILE`: the ledger workbook for accountants."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from laoke.cli_support import console, database, domain_errors, fail, resolve_actor
from laoke.rewards import ledger
from laoke.tenancy.service import get_org_by_slug

ledger_app = typer.Typer(help="The reward ledger.", no_args_is_help=True)

OrgOption = Annotated[str, typer.Option("--org", help="The organisation's short name (slug)")]


@ledger_app.command("verify")
def verify(
    org: OrgOption,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
) -> None:
    """Check every entry's hash and link, and every balance against the entries.

    Prints `ok` with the entry and account counts, or names the first broken entry and
    exits 1."""
    db = database()
    with domain_errors(), db.unit_of_work(write=False) as session:
        tenant = get_org_by_slug(session, org)
        with console.status(f"verifying the ledger of {tenant.slug}…"):
            result = ledger.verify(session, tenant.id)
    if as_json:
        print(
            json.dumps(
                {
                    "ok": result.ok,
                    "entries": result.entries,
                    "accounts": result.accounts,
                    "head_hash": result.head_hash,
                    "first_broken_seq": result.first_broken_seq,
                    "first_broken_id": result.first_broken_id,
                    "problems": result.problems,
                },
                ensure_ascii=False,
            )
        )
        if not result.ok:
            raise typer.Exit(1)
        return
    if result.ok:
        print(f"ok: {result.entries} entries, {result.accounts} accounts, head {result.head_hash}")
        return
    fail("broken: " + "; ".join(result.problems[:5]))


@ledger_app.command("export")
def export(
    file: Annotated[Path, typer.Argument(help="Where to write the .xlsx workbook")],
    org: OrgOption,
    as_email: Annotated[
        str | None,
        typer.Option("--as", help="Export as this staff member (names masked per their role)"),
    ] = None,
) -> None:
    """Write the ledger (entries, balances, the chain check) to an Excel workbook."""
    from laoke.rewards.export import export_ledger

    if file.suffix.lower() != ".xlsx":
        fail("the file name must end in .xlsx")
    db = database()
    with domain_errors(), db.unit_of_work() as session:
        _tenant, actor = resolve_actor(session, org, as_email)
        with console.status("writing the ledger workbook…"):
            details = export_ledger(session, actor, file)
    print(f"wrote {file}: {details['count']} entries, {details['accounts']} accounts")
