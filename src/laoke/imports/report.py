"""The import report: every row not taken in as given, in the reader's language.

One line per issue: the row number as a spreadsheet shows it, what happened (not imported,
duplicate, left unchanged, imported with a note), why, and the row's original values under
their original headers. Written as .xlsx and .csv; text that could run as a formula is
neutralised (see `cells`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from laoke.config import Settings
from laoke.errors import N_, Conflict, NotFound
from laoke.imports.cells import write_csv, write_xlsx
from laoke.imports.models import OUTCOME_LABELS, ImportIssue, ImportJob, JobStatus
from laoke.imports.readers import column_letter
from laoke.web.i18n import translations

REPORT_FORMATS = ("xlsx", "csv")


def reason_text(issue: ImportIssue, language: str) -> str:
    gettext = translations(language).gettext
    params = dict(issue.params or {})
    column = params.pop("column", None)
    text = gettext(issue.reason)
    with contextlib.suppress(KeyError, TypeError, ValueError):
        text = text % params if params else text
    return f"{column}: {text}" if column else text


def report_header(job: ImportJob, language: str, width: int) -> list[str]:
    gettext = translations(language).gettext
    headers = list(job.headers) + [column_letter(i) for i in range(len(job.headers), width)]
    return [gettext(N_("Row")), gettext(N_("Result")), gettext(N_("Reason")), *headers]


def issue_rows(session: Session, job: ImportJob, language: str) -> Iterator[list[Any]]:
    gettext = translations(language).gettext
    query = (
        select(ImportIssue)
        .where(ImportIssue.org_id == job.org_id, ImportIssue.job_id == job.id)
        .order_by(ImportIssue.row_number, ImportIssue.id)
        .execution_options(yield_per=2000)
    )
    for issue in session.scalars(query):
        yield [
            issue.row_number,
            gettext(OUTCOME_LABELS.get(issue.outcome, issue.outcome)),
            reason_text(issue, language),
            *(issue.values or []),
        ]


def _width(session: Session, job: ImportJob) -> int:
    widest = len(job.headers)
    query = select(ImportIssue.values).where(
        ImportIssue.org_id == job.org_id, ImportIssue.job_id == job.id
    )
    for (values,) in session.execute(query.execution_options(yield_per=5000)):
        widest = max(widest, len(values or []))
    return widest


def write_report(session: Session, job: ImportJob, path: Path, language: str) -> Path:
    """Write the report as .xlsx or .csv (by the path's suffix)."""
    width = _width(session, job)
    header = report_header(job, language, width)
    rows = issue_rows(session, job, language)
    if path.suffix == ".csv":
        write_csv(path, header, rows)
    else:
        title = translations(language).gettext(N_("Import report"))
        write_xlsx(path, header, rows, title=title, widths=[8, 18, 48] + [16] * (width))
    return path


def report_dir(settings: Settings, job: ImportJob) -> Path:
    folder = Path(settings.data_dir) / "imports" / str(job.org_id) / str(job.id)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


EAGER_XLSX_ROWS = 20_000


def write_reports(session: Session, settings: Settings, job: ImportJob) -> Path:
    """The report in the job creator's language; returns the .csv path.

    The .xlsx is written alongside when the report is of a readable size; a longer one is
    written on its first download (openpyxl needs ~20 µs a cell; a CSV is written at once).
    """
    folder = report_dir(settings, job)
    csv_path = write_report(session, job, folder / "report.csv", job.language)
    count = session.scalar(
        select(func.count()).where(ImportIssue.org_id == job.org_id, ImportIssue.job_id == job.id)
    )
    if (count or 0) <= EAGER_XLSX_ROWS:
        write_report(session, job, folder / "report.xlsx", job.language)
    return csv_path


def report_file(
    session: Session, settings: Settings, job: ImportJob, fmt: str, language: str
) -> Path:
    """The finished job's report as a file, in `language` (written on first request)."""
    if fmt not in REPORT_FORMATS:
        raise NotFound(N_("Not found."), code="not_found")
    if job.status != JobStatus.DONE:
        raise Conflict(
            N_("The report is ready when the import has finished."), code="import_running"
        )
    folder = report_dir(settings, job)
    stored = folder / f"report.{fmt}"
    if language == job.language and stored.exists():
        return stored
    path = folder / f"report.{language}.{fmt}"
    if not path.exists():
        write_report(session, job, path, language)
    return path
