"""Running an import job: batches that commit with their checkpoint, and resuming after a crash.

Each batch is one write transaction holding the batch's rows, its report issues, the job's
counters and `checkpoint_row` (the last spreadsheet row taken care of). A process killed at
any moment therefore leaves either the whole batch or none of it; running the job again
starts after the checkpoint, and the end state is the same as an uninterrupted run.

A job records which process runs it (`worker`, host:pid) and when it last committed
(`heartbeat_at`). Another process may take over a RUNNING job only when that worker is gone:
a dead pid on this host, or no heartbeat for `STALE_AFTER`.

Targets (customers now, orders later) register here with `register_target`; a target knows
its field catalogue, prepares per-run state and writes one batch without committing.
"""

from __future__ import annotations

import importlib
import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from laoke.accounts.actor import Actor
from laoke.accounts.models import User
from laoke.accounts.service import actor_for
from laoke.audit.models import AuditAction
from laoke.audit.service import record
from laoke.config import Settings
from laoke.db import Database, utcnow
from laoke.errors import N_, Conflict, DomainError, NotFound
from laoke.imports.bulk import BulkInserter, tune_for_bulk
from laoke.imports.mapping import Catalogue
from laoke.imports.models import ImportIssue, ImportJob, JobStatus, Outcome
from laoke.imports.readers import TableReader, open_table
from laoke.imports.safety import Limits
from laoke.tenancy.models import Org

log = logging.getLogger("laoke.imports")

DEFAULT_BATCH = 10_000
STALE_AFTER = timedelta(minutes=5)
TARGET_MODULES = ["laoke.customers.importer", "laoke.orders.importer"]


@dataclass
class Issue:
    row: int
    outcome: Outcome
    reason: str
    params: dict[str, Any]
    values: list[str]
    customer_id: int | None = None

    def as_row(self, org_id: int, job_id: int) -> dict[str, Any]:
        return {
            "org_id": org_id,
            "job_id": job_id,
            "row_number": self.row,
            "outcome": self.outcome,
            "reason": self.reason,
            "params": self.params,
            "values": self.values,
            "customer_id": self.customer_id,
        }


@dataclass
class BatchResult:
    read: int = 0
    inserted: int = 0
    merged: int = 0
    skipped: int = 0
    duplicates_in_file: int = 0
    rejected: int = 0
    warnings: int = 0
    issues: list[dict[str, Any]] = field(default_factory=list)


ISSUES = ImportIssue.__table__
_ISSUE_COLUMNS = ("row_number", "outcome", "reason", "params", "values", "customer_id")
COUNTERS = ("inserted", "merged", "skipped", "duplicates_in_file", "rejected", "warnings")


class ImportTarget(Protocol):
    kind: str
    catalogue: Catalogue

    def detect(self, headers: list[str]) -> list[str]: ...

    def prepare(self, session: Session, actor: Actor, job: ImportJob, now: datetime) -> Any: ...

    def write_batch(
        self, session: Session, state: Any, job: ImportJob, rows: list[tuple[int, list[str]]]
    ) -> BatchResult: ...


class JobLost(Conflict):
    """Another process took the job over (this one was thought dead): stop, change nothing."""

    code = "import_lost"
    default_message = N_("This import was taken over by another process.")


_TARGETS: dict[str, ImportTarget] = {}


def register_target(target: ImportTarget) -> None:
    _TARGETS[target.kind] = target


def target_for(kind: str) -> ImportTarget:
    if not _TARGETS:
        for module in TARGET_MODULES:
            importlib.import_module(module)
    if kind not in _TARGETS:
        raise NotFound(N_("There is no import of this kind."), code="unknown_import_kind")
    return _TARGETS[kind]


# --- who runs a job -----------------------------------------------------------------------


def this_worker() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def worker_alive(worker: str | None) -> bool:
    if not worker:
        return False
    host, _, pid = worker.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return True  # another machine's process: only the heartbeat can tell
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def is_stale(job: ImportJob, now: datetime | None = None) -> bool:
    """A RUNNING job whose worker is gone (crashed, killed, server restarted)."""
    if job.status != JobStatus.RUNNING:
        return False
    now = now or utcnow()
    if job.worker == this_worker():
        return False
    if not worker_alive(job.worker):
        return True
    return job.heartbeat_at is None or now - job.heartbeat_at > STALE_AFTER


def job_actor(session: Session, job: ImportJob) -> Actor:
    """The person the job acts for (their rights, checked again on every run)."""
    org = session.get(Org, job.org_id)
    if job.created_by is None:
        return Actor.system(job.org_id)
    user = session.get(User, job.created_by)
    if user is None or not user.is_active:
        raise Conflict(
            N_("The staff member who started this import is no longer active."),
            code="import_owner_inactive",
        )
    return actor_for(user, org=org)


def job_file(settings: Settings, job: ImportJob) -> Path:
    return Path(settings.data_dir) / job.file_path


LOCAL_FILE_MAX_BYTES = 4 * 1024 * 1024 * 1024
"""Files given on the command line come from the operator, not a browser: a larger limit."""


def limits_for(
    settings: Settings, job: ImportJob | None = None, max_bytes: int | None = None
) -> Limits:
    if max_bytes is None:
        max_bytes = (job.options or {}).get("max_bytes") if job is not None else None
    return Limits(max_bytes=max_bytes or settings.upload_max_bytes)


def open_job_table(settings: Settings, job: ImportJob) -> TableReader:
    target = target_for(job.kind)
    return open_table(
        job_file(settings, job),
        sheet=job.sheet,
        header_score=target.catalogue.is_known,
        limits=limits_for(settings, job),
        header_row=job.header_row,
    )


# --- running ------------------------------------------------------------------------------

Progress = Callable[[ImportJob], None]


def _claim(database: Database, job_id: int, worker: str) -> bool:
    """Mark the job RUNNING for this worker; False when it is already finished."""
    with database.unit_of_work() as session:
        job = session.scalars(
            select(ImportJob).where(ImportJob.id == job_id).with_for_update()
        ).one_or_none()
        if job is None:
            raise NotFound(N_("No such import."), code="import_not_found")
        if job.status in (JobStatus.DONE, JobStatus.FAILED):
            return False
        if job.status == JobStatus.PENDING:
            raise Conflict(
                N_("Confirm the column mapping before the import starts."),
                code="import_not_confirmed",
            )
        if job.status == JobStatus.RUNNING and job.worker != worker and not is_stale(job):
            raise Conflict(N_("This import is already running."), code="import_running")
        job.status = JobStatus.RUNNING
        job.worker = worker
        job.heartbeat_at = utcnow()
        job.started_at = job.started_at or job.heartbeat_at
        session.commit()
        return True


def run_job(
    database: Database,
    settings: Settings,
    job_id: int,
    *,
    batch_size: int = DEFAULT_BATCH,
    on_progress: Progress | None = None,
) -> ImportJob:
    """Run (or resume) a confirmed job to the end; returns the finished job (detached)."""
    worker = this_worker()
    if _claim(database, job_id, worker):
        try:
            _run(database, settings, job_id, worker, batch_size, on_progress)
        except JobLost:
            raise
        except DomainError as exc:
            _fail(database, job_id, exc.code, exc.message, exc.params)
            raise
        except Exception:
            log.exception("import job %s failed", job_id)
            _fail(
                database,
                job_id,
                "internal_error",
                N_("An unexpected error happened. It has been logged."),
                {},
            )
            raise
    with database.unit_of_work(write=False) as session:
        job = session.get(ImportJob, job_id)
        assert job is not None
        session.expunge(job)
        return job


def _run(
    database: Database,
    settings: Settings,
    job_id: int,
    worker: str,
    batch_size: int,
    on_progress: Progress | None,
) -> None:
    now = utcnow()
    with database.unit_of_work(write=False) as session:
        job = session.get(ImportJob, job_id)
        assert job is not None
        target = target_for(job.kind)
        actor = job_actor(session, job)
        state = target.prepare(session, actor, job, now)
        checkpoint = job.checkpoint_row
        session.expunge(job)
    with open_job_table(settings, job) as reader:
        batch: list[tuple[int, list[str]]] = []
        for row in reader.rows(after=checkpoint):
            batch.append(row)
            if len(batch) >= batch_size:
                _commit_batch(database, target, state, job_id, worker, batch, reader, on_progress)
                batch = []
        if batch:
            _commit_batch(database, target, state, job_id, worker, batch, reader, on_progress)
    _finish(database, settings, job_id, actor)


def _commit_batch(
    database: Database,
    target: ImportTarget,
    state: Any,
    job_id: int,
    worker: str,
    batch: list[tuple[int, list[str]]],
    reader: TableReader,
    on_progress: Progress | None,
) -> None:
    with database.unit_of_work() as session:
        job = session.get(ImportJob, job_id)
        assert job is not None
        if job.status != JobStatus.RUNNING or job.worker != worker:
            raise JobLost()
        tune_for_bulk(session)
        result = target.write_batch(session, state, job, batch)
        BulkInserter(
            session, ISSUES, _ISSUE_COLUMNS, {"org_id": job.org_id, "job_id": job.id}
        ).insert(tuple(issue[name] for name in _ISSUE_COLUMNS) for issue in result.issues)
        job.rows_read += result.read
        for name in COUNTERS:
            setattr(job, name, getattr(job, name) + getattr(result, name))
        job.checkpoint_row = batch[-1][0]
        job.progress = min(reader.fraction(batch[-1][0]), 0.99)
        job.heartbeat_at = utcnow()
        tune_for_bulk(session, on=False)
        session.commit()
        if on_progress:
            on_progress(job)


def _finish(database: Database, settings: Settings, job_id: int, actor: Actor) -> None:
    from laoke.imports.report import write_reports

    with database.unit_of_work() as session:
        job = session.get(ImportJob, job_id)
        assert job is not None
        job.report_path = str(write_reports(session, settings, job).resolve())
        job.status = JobStatus.DONE
        job.progress = 1.0
        job.finished_at = job.heartbeat_at = utcnow()
        record(
            session,
            actor,
            AuditAction.IMPORTED,
            target_type="import_job",
            target_id=job.id,
            details={
                "kind": job.kind,
                "policy": job.policy,
                **{k: v for k, v in job.summary().items() if k != "report_path"},
            },
        )
        session.commit()


def _fail(database: Database, job_id: int, code: str, message: str, params: dict[str, Any]) -> None:
    with database.unit_of_work() as session:
        job = session.get(ImportJob, job_id)
        if job is None:
            return
        job.status = JobStatus.FAILED
        job.error_code = code
        job.error_message = message
        job.error_params = {k: str(v) for k, v in params.items()}
        job.finished_at = utcnow()
        session.commit()
