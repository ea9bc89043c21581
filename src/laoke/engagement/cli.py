"""`laoke recompute`: customer figures, RFM scores, value tiers and lifecycle stages."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from laoke.cli_support import console, database, domain_errors, err_console, print_json
from laoke.db import utcnow
from laoke.engagement.recompute import recompute_org
from laoke.tenancy.service import get_org_by_slug


def recompute(
    org: Annotated[str, typer.Option("--org", help="The organisation's slug")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
    incremental: Annotated[
        bool,
        typer.Option(
            "--incremental",
            help="Re-aggregate only customers whose orders or contacts changed (as nightly)",
        ),
    ] = False,
) -> None:
    """Recompute every customer's figures, RFM scores, value tier and lifecycle stage."""
    db = database()
    with domain_errors(), db.unit_of_work(write=False) as session:
        org_id = get_org_by_slug(session, org).id
    columns = (
        TextColumn("[bold]recompute[/bold] {task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err_console, disable=as_json, transient=False) as bar:
        task = bar.add_task("figures", total=2.0)

        def progress(phase: str, done: int, total: int) -> None:
            base = 0.0 if phase == "figures" else 1.0
            bar.update(task, completed=base + done / max(total, 1), description=phase)

        report = recompute_org(db, org_id, utcnow(), progress, incremental=incremental)
        bar.update(task, completed=2.0, description="done")
    if as_json:
        print_json(asdict(report))
        return
    console.print(
        f"{report.customers:,} customers · {report.aggregated:,} re-aggregated · "
        f"{report.ranked:,} ranked · {report.stage_changes:,} stage changes · "
        f"{report.seconds:.2f} s",
        highlight=False,
    )
