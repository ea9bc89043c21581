"""`laoke import …` and `laoke export …`.

`import_app` and `export_app` are the command groups; each kind of data adds its command
(`laoke import customers` here, `laoke import orders` from the orders domain).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from laoke.cli_support import (
    console,
    database,
    domain_errors,
    err_console,
    explain,
    fail,
    print_json,
    resolve_actor,
)
from laoke.config import Settings, get_settings
from laoke.db import Database
from laoke.errors import DomainError
from laoke.imports import service
from laoke.imports.jobs import DEFAULT_BATCH, LOCAL_FILE_MAX_BYTES, run_job, target_for
from laoke.imports.mapping import parse_mapping_json
from laoke.imports.models import ImportJob, MergePolicy

import_app = typer.Typer(
    help="Import spreadsheets (.xlsx, .xls, .ods, .csv).", no_args_is_help=True
)
export_app = typer.Typer(help="Export to .xlsx or .csv.", no_args_is_help=True)

OrgOption = Annotated[str, typer.Option("--org", help="Organisation short name (slug)")]
AsOption = Annotated[
    str | None,
    typer.Option("--as", help="Act as this staff email (default: the system, with owner rights)"),
]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def run_import_command(
    kind: str,
    file: Path,
    org: str,
    *,
    sheet: str | None,
    mapping: str | None,
    policy: MergePolicy,
    day_first: bool | None,
    as_email: str | None,
    as_json: bool,
    batch_size: int = DEFAULT_BATCH,
) -> None:
    """Upload, confirm and run in one go — or carry on an interrupted run of the same file."""
    if not file.is_file():
        fail(f"no such file: {file}")
    settings = get_settings()
    db = database()
    try:
        overrides = parse_mapping_json(mapping)
        with db.unit_of_work() as session:
            _, actor = resolve_actor(session, org, as_email)
            job = service.find_resumable(session, actor, kind, _sha256(file))
            target = target_for(kind)
            if job is not None and (
                job.policy != policy
                or target.catalogue.apply_overrides(
                    job.headers, target.detect(job.headers), overrides
                )
                != job.mapping
            ):
                job = None
            if job is not None:
                err_console.print(
                    f"resuming import #{job.id} after row {job.checkpoint_row}", highlight=False
                )
            else:
                with file.open("rb") as source:
                    job = service.create_job(
                        session,
                        settings,
                        actor,
                        kind,
                        file.name,
                        source,
                        sheet=sheet,
                        max_bytes=max(settings.upload_max_bytes, LOCAL_FILE_MAX_BYTES),
                    )
                job = service.confirm_job(
                    session,
                    actor,
                    job.id,
                    mapping=overrides,
                    policy=policy,
                    day_first=day_first,
                    default_owner_id=actor.user_id,
                )
            job_id = job.id
    except DomainError as exc:
        fail(f"{explain(exc)} ({exc.code})")
    with domain_errors():
        finished = _run_with_progress(db, settings, job_id, quiet=as_json, batch_size=batch_size)
    if as_json:
        print_json(finished.summary())
        return
    _print_summary(finished)


def _run_with_progress(
    db: Database, settings: Settings, job_id: int, *, quiet: bool, batch_size: int
) -> ImportJob:
    columns = (
        TextColumn("[bold]import[/bold] {task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err_console, disable=quiet, transient=False) as bar:
        task = bar.add_task("", total=1.0)

        def progress(job: ImportJob) -> None:
            bar.update(
                task,
                completed=job.progress,
                description=f"{job.rows_read:,} rows · {job.inserted:,} new · {job.merged:,} merged",
            )

        job = run_job(db, settings, job_id, batch_size=batch_size, on_progress=progress)
        bar.update(task, completed=1.0)
    return job


def _print_summary(job: ImportJob) -> None:
    console.print(
        f"[green]import #{job.id} finished[/green]: {job.rows_read:,} rows read, "
        f"{job.inserted:,} new, {job.merged:,} merged, {job.skipped:,} left unchanged, "
        f"{job.duplicates_in_file:,} duplicates in the file, {job.rejected:,} not imported, "
        f"{job.warnings:,} notes",
        highlight=False,
    )
    console.print(f"report: {job.report_path}", highlight=False)


@import_app.command("customers")
def import_customers(
    file: Annotated[Path, typer.Argument(help="The spreadsheet: .xlsx .xls .ods .csv .tsv")],
    org: OrgOption,
    sheet: Annotated[
        str | None, typer.Option(help="Sheet name (default: the first with data)")
    ] = None,
    mapping: Annotated[
        str | None,
        typer.Option(
            help='Column mapping as JSON, e.g. \'{"联系方式": "phones", "F": "custom"}\'; '
            "columns by header or letter; fields: "
            + ", ".join(spec.key for spec in target_for("customers").catalogue.fields)
            + ", custom, ignore"
        ),
    ] = None,
    policy: Annotated[
        MergePolicy, typer.Option(help="For customers already in the pool")
    ] = MergePolicy.FILL,
    day_first: Annotated[
        bool | None,
        typer.Option(
            "--day-first/--month-first", help="How to read dates like 5/3/1990 (default: ask)"
        ),
    ] = None,
    as_email: AsOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
    batch_size: Annotated[
        int, typer.Option(min=1, max=100_000, hidden=True, help="Rows per transaction")
    ] = DEFAULT_BATCH,
) -> None:
    """Import customers; duplicates merged, every row not taken in listed in a report."""
    run_import_command(
        "customers",
        file,
        org,
        sheet=sheet,
        mapping=mapping,
        policy=policy,
        day_first=day_first,
        as_email=as_email,
        as_json=as_json,
        batch_size=batch_size,
    )


@export_app.command("customers")
def export_customers_command(
    org: OrgOption,
    output: Annotated[Path, typer.Option("-o", "--output", help="File to write")],
    fmt: Annotated[
        str | None, typer.Option("--format", help="xlsx or csv (default: from the file name)")
    ] = None,
    q: Annotated[str | None, typer.Option(help="Name, phone digits, WeChat id or email")] = None,
    tag: Annotated[str | None, typer.Option(help="Only customers with this tag")] = None,
    owner_id: Annotated[int | None, typer.Option(help="Only this owner's customers")] = None,
    consent: Annotated[
        bool | None, typer.Option("--consent/--no-consent", help="Only with / without consent")
    ] = None,
    source_channel: Annotated[str | None, typer.Option(help="Only from this channel")] = None,
    as_email: AsOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
) -> None:
    """Export the customer list (filtered like the list page) to .xlsx or .csv."""
    from laoke.customers.export import export_customers
    from laoke.customers.service import CustomerQuery

    chosen = fmt or output.suffix.lstrip(".").lower() or "xlsx"
    with domain_errors(), database().unit_of_work(write=False) as session:
        _, actor = resolve_actor(session, org, as_email)
        result = export_customers(
            session,
            actor,
            CustomerQuery(
                q=q, tag=tag, owner_id=owner_id, consent=consent, source_channel=source_channel
            ),
            output,
            fmt=chosen,
        )
    summary = {"path": str(result.path), "count": result.count, "masked": result.masked}
    if as_json:
        print_json(summary)
    else:
        console.print(f"{result.count:,} customers written to {result.path}", highlight=False)


__all__ = ["export_app", "import_app"]
