"""Scheduled jobs: a registry the worker runs, each job once per tenant per period.

A job is a name, a schedule and a function:

    from laoke.messaging.scheduler import Job, register
    register(Job("orders.repurchase_reminders", remind, daily_at="10:00"))
    register(Job("referrals.release_holds", release, every_minutes=15))

- `daily_at="HH:MM"` runs once per tenant-local day, at or after that time. The period is
  the tenant's local date, so a worker that was down at 10:00 catches up later that day;
  a day missed entirely is not replayed (a birthday greeting a day late is worse than none).
- `every_minutes=N` runs once in each N-minute slot (UTC).

The function is called as `fn(database, org, now)` with `org` an `OrgInfo` and `now` an
aware UTC datetime; it opens its own units of work and commits (in chunks when it has
much to do) and returns how many things it did (or None). Messages it sends go through
`outbox.enqueue` with idempotency keys such as `birthday:{customer}:{date}`, so running
it twice in a period is harmless — but it does not happen: the first worker to insert the
(org, job, period) row of `scheduled_runs` runs it, the others see the row and skip. A run
that failed, or whose worker died (still `running` after 30 minutes), is tried again by a
later tick, up to 3 attempts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from laoke.db import Database
from laoke.messaging.models import RunStatus, ScheduledRun
from laoke.tenancy.models import Org
from laoke.tenancy.service import OrgInfo

log = logging.getLogger("laoke.worker")

JobFn = Callable[[Database, OrgInfo, datetime], int | None]
MAX_ATTEMPTS = 3
STALE_AFTER = timedelta(minutes=30)
RETRY_AFTER = timedelta(minutes=5)


@dataclass(frozen=True)
class Job:
    name: str
    run: JobFn
    daily_at: str | None = None
    every_minutes: int | None = None
    description: str = ""

    def __post_init__(self) -> None:
        if (self.daily_at is None) == (self.every_minutes is None):
            raise ValueError("a job runs either daily_at='HH:MM' or every_minutes=N")
        if self.daily_at is not None:
            hours, minutes = self.daily_at.split(":")
            time(int(hours), int(minutes))
        if self.every_minutes is not None and not 0 < self.every_minutes <= 1440:
            raise ValueError("every_minutes must be between 1 and 1440")

    def period(self, now: datetime, timezone: str) -> str | None:
        """The period `now` falls in, or None when today's run time has not come yet."""
        if self.every_minutes is not None:
            slot = int(now.timestamp() // (self.every_minutes * 60))
            return f"m{self.every_minutes}:{slot}"
        local = now.astimezone(ZoneInfo(timezone))
        hours, minutes = (int(p) for p in (self.daily_at or "00:00").split(":"))
        if local.time() < time(hours, minutes):
            return None
        return local.date().isoformat()


JOBS: dict[str, Job] = {}


def register(job: Job) -> Job:
    if job.name in JOBS and JOBS[job.name] != job:
        raise ValueError(f"a scheduled job named {job.name!r} is already registered")
    JOBS[job.name] = job
    return job


@dataclass(frozen=True)
class RunReport:
    org_id: int
    job: str
    period: str
    ok: bool
    result: int | None = None


def _claim(
    session: Session, org_id: int, job: str, period: str, worker: str, now: datetime
) -> bool:
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    inserted = session.execute(
        insert(ScheduledRun)
        .values(
            org_id=org_id,
            job=job,
            period=period,
            status=RunStatus.RUNNING,
            attempts=1,
            claimed_by=worker,
            started_at=now,
        )
        .on_conflict_do_nothing(index_elements=["org_id", "job", "period"])
        .returning(ScheduledRun.id)
    ).scalar()
    if inserted is None:
        # Take over a failed run (after a pause) or one whose worker vanished.
        retried = session.execute(
            update(ScheduledRun)
            .where(
                ScheduledRun.org_id == org_id,
                ScheduledRun.job == job,
                ScheduledRun.period == period,
                ScheduledRun.attempts < MAX_ATTEMPTS,
                or_(
                    (ScheduledRun.status == RunStatus.FAILED)
                    & (ScheduledRun.finished_at < now - RETRY_AFTER),
                    (ScheduledRun.status == RunStatus.RUNNING)
                    & (ScheduledRun.started_at < now - STALE_AFTER),
                ),
            )
            .values(
                status=RunStatus.RUNNING,
                attempts=ScheduledRun.attempts + 1,
                claimed_by=worker,
                started_at=now,
                error=None,
            )
        )
        inserted = retried.rowcount or None  # type: ignore[attr-defined]
    session.commit()
    return inserted is not None


def _finish(
    database: Database, org_id: int, job: str, period: str, worker: str, **values: object
) -> None:
    with database.unit_of_work() as session:
        session.execute(
            update(ScheduledRun)
            .where(
                ScheduledRun.org_id == org_id,
                ScheduledRun.job == job,
                ScheduledRun.period == period,
                ScheduledRun.claimed_by == worker,
            )
            .values(**values)
        )
        session.commit()


def run_due(
    database: Database,
    now: datetime,
    worker: str,
    *,
    jobs: dict[str, Job] | None = None,
    clock: Callable[[], datetime] | None = None,
    finished: set[tuple[int, str, str]] | None = None,
) -> list[RunReport]:
    """Run every registered job that is due for some tenant and not yet claimed.

    `finished` is the caller's memory of (org, job, period) runs known to be done, so a
    worker ticking every second does not ask the database about them again."""
    jobs = JOBS if jobs is None else jobs
    finished = set() if finished is None else finished
    if not jobs:
        return []
    with database.unit_of_work(write=False) as session:
        orgs = [OrgInfo.of(org) for org in session.scalars(select(Org).order_by(Org.id))]
        wanted = {
            (org.id, job.name): period
            for org in orgs
            for job in jobs.values()
            if (period := job.period(now, org.timezone)) is not None
            and (org.id, job.name, period) not in finished
        }
        if not wanted:
            return []
        done = {
            (org_id, job, period)
            for org_id, job, period in session.execute(
                select(ScheduledRun.org_id, ScheduledRun.job, ScheduledRun.period).where(
                    ScheduledRun.period.in_(set(wanted.values())),
                    ScheduledRun.status == RunStatus.DONE,
                )
            )
        }
    reports = []
    by_id = {org.id: org for org in orgs}
    if len(finished) > 100_000:
        finished.clear()
    finished.update(done)
    for (org_id, name), period in wanted.items():
        if (org_id, name, period) in done:
            continue
        with database.unit_of_work() as session:
            if not _claim(session, org_id, name, period, worker, now):
                continue
        try:
            result = jobs[name].run(database, by_id[org_id], now)
        except Exception as exc:
            log.exception("scheduled job %s failed for org %s", name, org_id)
            _finish(
                database,
                org_id,
                name,
                period,
                worker,
                status=RunStatus.FAILED,
                finished_at=(clock or (lambda: now))(),
                error=f"{type(exc).__name__}: {exc}"[:500],
            )
            reports.append(RunReport(org_id, name, period, ok=False))
            continue
        _finish(
            database,
            org_id,
            name,
            period,
            worker,
            status=RunStatus.DONE,
            finished_at=(clock or (lambda: now))(),
            result=result,
        )
        finished.add((org_id, name, period))
        reports.append(RunReport(org_id, name, period, ok=True, result=result))
    return reports
