"""Writes that meet another writer: retried a few times, then answered 409 `busy_retry`.

Two requests touching the same tenant's ledger queue on its lock, but the database may
still give up on one of them: SQLite's "database is locked" after the busy timeout,
PostgreSQL's serialization, deadlock and lock-timeout failures, or a unique violation when a
racing request inserted the same idempotency key first (the retry then finds that row and
answers like a replay). None of these is a server error: the work is rolled back, tried
again, and if it still cannot go through the client is told to retry.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from laoke.db import is_contention
from laoke.errors import N_, Conflict

T = TypeVar("T")

ATTEMPTS = 3


class Busy(Conflict):
    code = "busy_retry"
    default_message = N_("Someone else is changing the same records. Please try again.")


def committed(session: Session, work: Callable[[], T], *, attempts: int = ATTEMPTS) -> T:
    """Run `work` and commit; on contention roll back and run it again (bounded).

    Domain errors pass through untouched (the request's session is rolled back by its
    dependency). `work` must do all its reading itself, since a retry starts afresh.
    """
    for attempt in range(1, attempts + 1):
        try:
            result = work()
            session.commit()
            return result
        except DBAPIError as exc:
            session.rollback()
            if not is_contention(exc):
                raise
            if attempt == attempts:
                raise Busy() from exc
            time.sleep(0.05 * attempt)
    raise Busy()  # pragma: no cover - the loop always returns or raises
