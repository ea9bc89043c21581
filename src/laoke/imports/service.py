"""Import rules: upload, preview, confirm, who sees which job, running in the background.

The flow is the same from every door: an upload creates a PENDING job with the detected
header and mapping; confirming (with the user's changes to the mapping, the merge policy and
the date order) queues it; running it takes the rows in. The CLI does all three at once.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from laoke.accounts.actor import Actor
from laoke.accounts.models import User
from laoke.accounts.roles import Permission
from laoke.config import Settings
from laoke.db import Database
from laoke.errors import N_, Conflict, Invalid, NotFound
from laoke.imports.jobs import (
    Progress,
    is_stale,
    job_file,
    limits_for,
    open_job_table,
    run_job,
    target_for,
)
from laoke.imports.mapping import SPECIAL_TARGETS
from laoke.imports.models import ImportIssue, ImportJob, JobStatus, MergePolicy
from laoke.imports.readers import Row, TableInfo, open_table
from laoke.imports.safety import FileTooLarge, check_size

log = logging.getLogger("laoke.imports")
ALLOWED_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods", ".csv", ".tsv", ".txt")
_COPY_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Preview:
    job: ImportJob
    info: TableInfo
    rows: list[Row]
    choices: list[tuple[str, str]]  # (target, label id) for the mapping selects


# --- the gate -----------------------------------------------------------------------------


def visible_jobs(actor: Actor) -> Select[tuple[ImportJob]]:
    query = select(ImportJob).where(ImportJob.org_id == actor.org_id)
    if not actor.can(Permission.SEE_ALL_CUSTOMERS):
        query = query.where(ImportJob.created_by == actor.user_id)
    return query


def get_job_for(session: Session, actor: Actor, job_id: int) -> ImportJob:
    """The job if this actor may see it: same tenant, and for sales their own jobs; else 404."""
    actor.require(Permission.IMPORT)
    job = session.scalars(visible_jobs(actor).where(ImportJob.id == job_id)).one_or_none()
    if job is None:
        raise NotFound(N_("No such import."), code="import_not_found")
    return job


def list_jobs(session: Session, actor: Actor, limit: int = 50) -> list[ImportJob]:
    actor.require(Permission.IMPORT)
    query = visible_jobs(actor).order_by(ImportJob.created_at.desc(), ImportJob.id.desc())
    return list(session.scalars(query.limit(limit)))


# --- upload -------------------------------------------------------------------------------


def _require(actor: Actor, kind: str) -> None:
    actor.require(Permission.IMPORT)
    if kind == "customers":
        actor.require(Permission.EDIT_CUSTOMERS)
    target_for(kind)


def _suffix(filename: str) -> str:
    suffix = Path(filename).suffix.lower()
    return suffix if suffix in ALLOWED_SUFFIXES else ".bin"


def _save_upload(
    settings: Settings, source: IO[bytes], filename: str, max_bytes: int
) -> tuple[Path, str, int]:
    """Copy the upload to the data directory, counting bytes: stops at the size limit."""
    folder = Path(settings.data_dir) / "imports" / "incoming"
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 - moved into place by the caller
        dir=folder, suffix=_suffix(filename), delete=False
    )
    path = Path(handle.name)
    try:
        with handle:
            while chunk := source.read(_COPY_CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise FileTooLarge(limit=f"{max_bytes / 1024 / 1024:.0f}")
                digest.update(chunk)
                handle.write(chunk)
        check_size(size, limits_for(settings, max_bytes=max_bytes))
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path, digest.hexdigest(), size


def create_job(
    session: Session,
    settings: Settings,
    actor: Actor,
    kind: str,
    filename: str,
    source: IO[bytes],
    *,
    sheet: str | None = None,
    max_bytes: int | None = None,
) -> ImportJob:
    """Store the upload, check it, find its header and guess the mapping: a PENDING job.

    `max_bytes` defaults to the upload limit; the CLI passes a larger one for local files.
    """
    _require(actor, kind)
    target = target_for(kind)
    max_bytes = max_bytes or settings.upload_max_bytes
    path, sha256, size = _save_upload(settings, source, filename, max_bytes)
    limits = limits_for(settings, max_bytes=max_bytes)
    try:
        with open_table(
            path, sheet=sheet, header_score=target.catalogue.is_known, limits=limits
        ) as reader:
            info = reader.info
        job = ImportJob(
            org_id=actor.org_id,
            kind=kind,
            status=JobStatus.PENDING,
            filename=Path(filename).name[:255] or "upload",
            file_path="",
            file_sha256=sha256,
            file_size=size,
            file_format=str(info.kind),
            sheet=info.sheet,
            header_row=info.header_row,
            headers=info.headers,
            mapping=target.detect(info.headers),
            policy=MergePolicy.FILL,
            options={"default_owner_id": actor.user_id, "max_bytes": max_bytes},
            language=actor.language,
            created_by=actor.user_id,
        )
        session.add(job)
        session.flush()
        folder = Path(settings.data_dir) / "imports" / str(actor.org_id) / str(job.id)
        folder.mkdir(parents=True, exist_ok=True)
        final = folder / f"source{path.suffix}"
        shutil.move(str(path), final)
        job.file_path = str(final.relative_to(settings.data_dir))
        session.commit()
        return job
    finally:
        path.unlink(missing_ok=True)


def preview(session: Session, settings: Settings, actor: Actor, job_id: int) -> Preview:
    job = get_job_for(session, actor, job_id)
    target = target_for(job.kind)
    with open_job_table(settings, job) as reader:
        info = reader.info
    choices = [(spec.key, spec.label) for spec in target.catalogue.fields]
    from laoke.imports.mapping import TARGET_LABELS

    choices += [(key, TARGET_LABELS[key]) for key in SPECIAL_TARGETS]
    return Preview(job=job, info=info, rows=info.preview, choices=choices)


def choose_sheet(
    session: Session, settings: Settings, actor: Actor, job_id: int, sheet: str
) -> ImportJob:
    """Read another sheet of the uploaded workbook: new header, new guessed mapping."""
    job = _pending(session, actor, job_id)
    target = target_for(job.kind)
    with open_table(
        job_file(settings, job),
        sheet=sheet,
        header_score=target.catalogue.is_known,
        limits=limits_for(settings, job),
    ) as reader:
        info = reader.info
    job.sheet, job.header_row, job.headers = info.sheet, info.header_row, info.headers
    job.mapping = target.detect(info.headers)
    session.commit()
    return job


def _pending(session: Session, actor: Actor, job_id: int) -> ImportJob:
    job = get_job_for(session, actor, job_id)
    if job.status != JobStatus.PENDING:
        raise Conflict(N_("This import has already started."), code="import_started")
    return job


def confirm_job(
    session: Session,
    actor: Actor,
    job_id: int,
    *,
    mapping: list[str] | Mapping[str, str] | None = None,
    policy: MergePolicy | str = MergePolicy.FILL,
    day_first: bool | None = None,
    default_owner_id: int | None = None,
) -> ImportJob:
    """Settle the mapping and the rules; the job is QUEUED to run."""
    job = _pending(session, actor, job_id)
    target = target_for(job.kind)
    headers = list(job.headers)
    if isinstance(mapping, Mapping):
        targets = target.catalogue.apply_overrides(headers, list(job.mapping), mapping)
    elif mapping is not None:
        if len(mapping) != len(headers):
            raise Invalid(
                N_("The mapping must name a target for each of the %(n)s columns."),
                code="invalid_mapping",
                n=len(headers),
            )
        targets = target.catalogue.validate(list(mapping))
    else:
        targets = target.catalogue.validate(list(job.mapping))
    try:
        job.policy = MergePolicy(policy)
    except ValueError as exc:
        raise Invalid(
            N_("Unknown merge policy %(policy)s."), code="invalid_policy", policy=policy
        ) from exc
    if default_owner_id is not None:
        if not actor.can(Permission.SEE_ALL_CUSTOMERS) and default_owner_id != actor.user_id:
            raise Invalid(N_("You can only assign customers to yourself."), field="owner_id")
        owner = session.get(User, default_owner_id)
        if owner is None or owner.org_id != actor.org_id or not owner.is_active:
            raise Invalid(
                N_("The owner must be an active staff member of this organisation."),
                field="owner_id",
            )
    job.mapping = targets
    job.options = {
        **(job.options or {}),
        "day_first": day_first,
        "default_owner_id": default_owner_id,
    }
    job.status = JobStatus.QUEUED
    session.commit()
    return job


def resume_job(session: Session, actor: Actor, job_id: int) -> ImportJob:
    """A job whose worker died (server restart, crash) may be started again."""
    job = get_job_for(session, actor, job_id)
    if job.status == JobStatus.RUNNING and not is_stale(job):
        raise Conflict(N_("This import is already running."), code="import_running")
    if job.status not in (JobStatus.RUNNING, JobStatus.QUEUED):
        raise Conflict(
            N_("Only an interrupted import can be resumed."), code="import_not_resumable"
        )
    return job


def find_resumable(session: Session, actor: Actor, kind: str, sha256: str) -> ImportJob | None:
    """An unfinished job of the same file whose worker is gone: the CLI carries it on."""
    query = (
        visible_jobs(actor)
        .where(
            ImportJob.kind == kind,
            ImportJob.file_sha256 == sha256,
            ImportJob.status.in_([JobStatus.QUEUED, JobStatus.RUNNING]),
        )
        .order_by(ImportJob.id.desc())
    )
    for job in session.scalars(query):
        if job.status == JobStatus.QUEUED or is_stale(job):
            return job
    return None


# --- running ------------------------------------------------------------------------------

_threads: dict[int, threading.Thread] = {}
_threads_lock = threading.Lock()


def start_in_background(database: Database, settings: Settings, job_id: int) -> None:
    """Run the job in a thread of this process (the web server); the page polls for progress."""
    with _threads_lock:
        running = _threads.get(job_id)
        if running is not None and running.is_alive():
            return

        def work() -> None:
            try:
                run_job(database, settings, job_id)
            except Exception:  # recorded on the job by run_job; keep the thread quiet
                log.info("import job %s ended with an error", job_id, exc_info=True)

        thread = threading.Thread(target=work, name=f"import-{job_id}", daemon=True)
        _threads[job_id] = thread
        thread.start()


def wait_for(job_id: int, timeout: float | None = None) -> None:
    """Tests and the demo: wait for a background job to end."""
    thread = _threads.get(job_id)
    if thread is not None:
        thread.join(timeout)


def run_in_foreground(
    database: Database, settings: Settings, job_id: int, on_progress: Progress | None = None
) -> ImportJob:
    return run_job(database, settings, job_id, on_progress=on_progress)


def issues_of(job: ImportJob) -> Select[tuple[ImportIssue]]:
    return (
        select(ImportIssue)
        .where(ImportIssue.org_id == job.org_id, ImportIssue.job_id == job.id)
        .order_by(ImportIssue.row_number, ImportIssue.id)
    )


def report_filename(job: ImportJob, fmt: str) -> str:
    stem = Path(job.filename).stem or "import"
    return f"{stem}-report-{job.id}.{fmt}"


def job_progress(job: ImportJob) -> dict[str, Any]:
    return {
        "id": job.id,
        "status": job.status,
        "progress": round(job.progress or 0.0, 3),
        "stale": is_stale(job),
        **job.summary(),
        "skipped": job.skipped,
        "warnings": job.warnings,
    }
