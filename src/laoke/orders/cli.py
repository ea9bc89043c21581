"""`laoke import orders`: a shop's order export into the pool's customers."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from laoke.imports.cli import AsOption, OrgOption, import_app, run_import_command
from laoke.imports.jobs import DEFAULT_BATCH
from laoke.imports.models import MergePolicy
from laoke.orders.import_fields import ORDER_FIELDS


@import_app.command("orders")
def import_orders(
    file: Annotated[Path, typer.Argument(help="The spreadsheet: .xlsx .xls .ods .csv .tsv")],
    org: OrgOption,
    sheet: Annotated[
        str | None, typer.Option(help="Sheet name (default: the first with data)")
    ] = None,
    mapping: Annotated[
        str | None,
        typer.Option(
            help='Column mapping as JSON, e.g. \'{"付款时间": "ordered_at", "F": "ignore"}\'; '
            "columns by header or letter; fields: "
            + ", ".join(spec.key for spec in ORDER_FIELDS.fields)
            + ", ignore"
        ),
    ] = None,
    day_first: Annotated[
        bool | None,
        typer.Option(
            "--day-first/--month-first", help="How to read dates like 5/3/2024 (default: ask)"
        ),
    ] = None,
    as_email: AsOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
    batch_size: Annotated[
        int, typer.Option(min=1, max=100_000, hidden=True, help="Rows per transaction")
    ] = DEFAULT_BATCH,
) -> None:
    """Import orders; customers found by phone or customer number, orders already in the
    pool (same order number) skipped, every row not taken in listed in a report."""
    run_import_command(
        "orders",
        file,
        org,
        sheet=sheet,
        mapping=mapping,
        policy=MergePolicy.SKIP,
        day_first=day_first,
        as_email=as_email,
        as_json=as_json,
        batch_size=batch_size,
    )
