"""Import jobs and the rows they could not take in as given."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from laoke.db import Base, BigId, JsonDoc, TenantRow, utcnow
from laoke.errors import N_


class JobStatus(StrEnum):
    PENDING = "pending"  # uploaded; the mapping awaits confirmation
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


JOB_STATUS_LABELS = {
    JobStatus.PENDING: N_("Waiting for confirmation"),
    JobStatus.QUEUED: N_("Queued"),
    JobStatus.RUNNING: N_("Importing"),
    JobStatus.DONE: N_("Finished"),
    JobStatus.FAILED: N_("Failed"),
}


class MergePolicy(StrEnum):
    FILL = "fill"
    OVERWRITE = "overwrite"
    SKIP = "skip"


MERGE_POLICY_LABELS = {
    MergePolicy.FILL: N_("Fill in empty fields of existing customers"),
    MergePolicy.OVERWRITE: N_("Overwrite existing customers with the file's values"),
    MergePolicy.SKIP: N_("Leave existing customers unchanged"),
}


class Outcome(StrEnum):
    """Why a row appears in the report."""

    REJECTED = "rejected"  # not taken in
    DUPLICATE = "duplicate"  # the same person as an earlier row; folded into it
    SKIPPED = "skipped"  # already in the pool; left unchanged by the policy
    WARNING = "warning"  # taken in, but a value was not understood (kept as an attribute)


OUTCOME_LABELS = {
    Outcome.REJECTED: N_("Not imported"),
    Outcome.DUPLICATE: N_("Duplicate in the file"),
    Outcome.SKIPPED: N_("Already in the pool, left unchanged"),
    Outcome.WARNING: N_("Imported with a note"),
}


class ImportJob(TenantRow, Base):
    __tablename__ = "import_jobs"
    __table_args__ = (
        Index("ix_import_jobs_org_created", "org_id", "created_at"),
        Index("ix_import_jobs_org_sha", "org_id", "kind", "file_sha256"),
    )

    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[JobStatus] = mapped_column(String(16), default=JobStatus.PENDING)
    filename: Mapped[str] = mapped_column(String(255))
    # Relative to the data directory; the uploaded file is kept until the job is deleted.
    file_path: Mapped[str] = mapped_column(String(500))
    file_sha256: Mapped[str] = mapped_column(String(64))
    file_size: Mapped[int] = mapped_column(BigId)
    file_format: Mapped[str] = mapped_column(String(8))
    sheet: Mapped[str | None] = mapped_column(String(255))
    header_row: Mapped[int] = mapped_column(Integer, default=1)
    headers: Mapped[list[str]] = mapped_column(JsonDoc, default=list)
    # One target per column: a field key, "custom" or "ignore".
    mapping: Mapped[list[str]] = mapped_column(JsonDoc, default=list)
    policy: Mapped[MergePolicy] = mapped_column(String(16), default=MergePolicy.FILL)
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    language: Mapped[str] = mapped_column(String(8), default="zh_CN")
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    inserted: Mapped[int] = mapped_column(Integer, default=0)
    merged: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    duplicates_in_file: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    warnings: Mapped[int] = mapped_column(Integer, default=0)
    # The last spreadsheet row committed: a resumed job carries on after it.
    checkpoint_row: Mapped[int] = mapped_column(Integer, default=0)
    progress: Mapped[float] = mapped_column(default=0.0)
    report_path: Mapped[str | None] = mapped_column(String(500))
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)
    error_params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_by: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("users.id", ondelete="SET NULL")
    )
    # host:pid of the process running the job, and when it last committed a batch.
    worker: Mapped[str | None] = mapped_column(String(100))
    heartbeat_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()

    @property
    def is_active(self) -> bool:
        return self.status in (JobStatus.QUEUED, JobStatus.RUNNING)

    def summary(self) -> dict[str, Any]:
        """The counts the CLI prints with --json (and the API returns)."""
        return {
            "read": self.rows_read,
            "inserted": self.inserted,
            "merged": self.merged + self.skipped,
            "duplicates_in_file": self.duplicates_in_file,
            "rejected": self.rejected,
            "report_path": self.report_path,
        }


class ImportIssue(TenantRow, Base):
    """A row not taken in as given, with its original values and the reason (a message id)."""

    __tablename__ = "import_issues"
    __table_args__ = (Index("ix_import_issues_org_job_row", "org_id", "job_id", "row_number"),)

    job_id: Mapped[int] = mapped_column(BigId, ForeignKey("import_jobs.id", ondelete="CASCADE"))
    row_number: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[Outcome] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    values: Mapped[list[str]] = mapped_column(JsonDoc, default=list)
    # The customer the row went into (duplicates, warnings), so erasure can clear the values.
    customer_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("customers.id", ondelete="SET NULL")
    )


def forget_import_rows(session: Session, org_id: int, customer_id: int) -> None:
    """Erasure hook: report rows that went into an erased customer lose their values."""
    session.execute(
        update(ImportIssue)
        .where(ImportIssue.org_id == org_id, ImportIssue.customer_id == customer_id)
        .values(values=[], params={})
    )


def _register_erasure_hook() -> None:
    from laoke.customers.erasure import ERASURE_HOOKS

    if forget_import_rows not in ERASURE_HOOKS:
        ERASURE_HOOKS.append(forget_import_rows)


_register_erasure_hook()
