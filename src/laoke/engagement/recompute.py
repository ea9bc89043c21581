"""Keeping figures and lifecycle stages current: the full (or incremental) recompute of a
tenant, the daily job that runs it and the event handlers that refresh one customer.

A recompute works on one connection in short transactions so SQLite's write lock is never
held for long:

0. In a read transaction: summarise orders and contacts per customer (GROUP BY, one pass
   over each table) into temporary tables, which need no write lock.
1. Per range of `CHUNK` customer ids: upsert the figures rows from those summaries (one
   INSERT … SELECT … ON CONFLICT), then apply the lifecycle rules (history rows for the
   customers who move, then one UPDATE).
2. Rank every buyer once into a temporary table (window functions), then copy the RFM
   scores and value tiers into the figures rows, again per id range.

Incremental (the daily job): step 1 re-aggregates only the customers whose orders or
contacts were written since the previous run (its `computed_at`, kept on every row), plus
customers without a row; the stage rules still run for everyone (time alone makes a
customer lapse) and everyone is re-ranked (one purchase shifts everybody's quantiles).
Orders deleted outright leave no trace to find, so `laoke recompute` and the settings
page's button run the full recompute.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Connection, bindparam, func, select, text
from sqlalchemy.orm import Session

from laoke.customers.models import Customer
from laoke.db import Database, UtcDateTime, utcnow
from laoke.engagement.figures import (
    EVERYONE,
    aggregate,
    analyze_temporary,
    drop_summaries,
    forget_customer,
    rank_sql,
    refresh_customer,
    stage_summaries,
)
from laoke.engagement.lifecycle import apply_stage_rules
from laoke.engagement.models import CustomerFigures
from laoke.events.models import DomainEvent
from laoke.tenancy.service import OrgInfo

if TYPE_CHECKING:
    from laoke.demo.seed import DemoContext

log = logging.getLogger("laoke.engagement")

CHUNK = 50_000
SORT_CACHE_KIB = 256 * 1024  # SQLite's page cache while recomputing (sorts stay in memory)
INLINE_LIMIT = 20_000  # the settings page recomputes smaller tenants while you wait
Progress = Callable[[str, int, int], None]  # (phase, done, total)


@dataclass(frozen=True)
class RecomputeReport:
    customers: int
    aggregated: int
    ranked: int
    stage_changes: int
    seconds: float
    incremental: bool


def _customer_range(session: Session, org_id: int) -> tuple[int, int, int]:
    low, high, count = session.execute(
        select(func.min(Customer.id), func.max(Customer.id), func.count()).where(
            Customer.org_id == org_id, Customer.merged_into_id.is_(None)
        )
    ).one()
    return int(low or 0), int(high or -1), int(count or 0)


def _mark_changed(session: Session, org_id: int, since: datetime) -> int:
    """Fill the temporary table `lk_changed` with the customers to re-aggregate."""
    session.execute(text("DROP TABLE IF EXISTS lk_changed"))
    session.execute(text("CREATE TEMPORARY TABLE lk_changed (customer_id BIGINT PRIMARY KEY)"))
    session.execute(
        text(
            "INSERT INTO lk_changed (customer_id)"
            " SELECT customer_id FROM orders WHERE org_id = :org_id AND updated_at > :since"
            " UNION SELECT customer_id FROM contacts WHERE org_id = :org_id"
            " AND updated_at > :since"
            " UNION SELECT c.id FROM customers c WHERE c.org_id = :org_id AND NOT EXISTS"
            " (SELECT 1 FROM customer_figures f WHERE f.org_id = c.org_id"
            " AND f.customer_id = c.id)"
        ).bindparams(bindparam("since", type_=UtcDateTime())),
        {"org_id": org_id, "since": since},
    )
    analyze_temporary(session, "lk_changed")
    return int(session.execute(text("SELECT COUNT(*) FROM lk_changed")).scalar_one())


def _roomy_sorts(connection: Connection, *, on: bool) -> None:
    """SQLite sorts (GROUP BY, window functions) spill to temporary files beyond the page
    cache, 2 MB by default: give this connection room while it recomputes, then hand it
    back to the pool as it was."""
    if connection.dialect.name != "sqlite":
        return
    cache = -SORT_CACHE_KIB if on else -2000
    # Outside any transaction (SQLite refuses temp_store inside one): the driver
    # connection runs in autocommit, see laoke.db.
    raw = connection.connection.dbapi_connection
    assert raw is not None
    raw.execute(f"PRAGMA cache_size = {cache}")
    raw.execute(f"PRAGMA temp_store = {'MEMORY' if on else 'DEFAULT'}")


def _chunks(low: int, high: int) -> list[tuple[int, int]]:
    return [(start, min(start + CHUNK - 1, high)) for start in range(low, high + 1, CHUNK)]


def recompute_org(
    database: Database,
    org_id: int,
    now: datetime,
    progress: Progress | None = None,
    *,
    incremental: bool = False,
) -> RecomputeReport:
    """Recompute every customer's figures, RFM scores, value tier and lifecycle stage."""
    started = time.perf_counter()
    report = progress or (lambda phase, done, total: None)
    with database.engine.connect() as connection:
        _roomy_sorts(connection, on=True)
        # Counting and the summaries only read: temporary tables need no SQLite write
        # lock, so other writers go on meanwhile.
        connection.execution_options(laoke_write=False)
        session = Session(bind=connection, expire_on_commit=False)
        try:
            low, high, customers = _customer_range(session, org_id)
            since = None
            if incremental:
                since = session.scalar(
                    select(func.min(CustomerFigures.computed_at)).where(
                        CustomerFigures.org_id == org_id
                    )
                )
            which = "{id} BETWEEN :lo AND :hi"
            aggregated = customers
            if since is not None:
                aggregated = _mark_changed(session, org_id, since)
                stage_summaries(session, org_id, "{id} IN (SELECT customer_id FROM lk_changed)", {})
                which += " AND {id} IN (SELECT customer_id FROM lk_changed)"
            elif customers:
                stage_summaries(session, org_id, EVERYONE, {})
            session.commit()
            connection.execution_options(laoke_write=True)
            changes = 0
            chunks = _chunks(low, high)
            for done, (lo, hi) in enumerate(chunks, 1):
                bounds = {"lo": lo, "hi": hi, "now": now}
                if aggregated:
                    aggregate(session, org_id, which, bounds, staged=True)
                changes += apply_stage_rules(
                    session, org_id, now, "{id} BETWEEN :lo AND :hi", bounds
                )
                session.commit()
                report("figures", done, len(chunks))
            drop_summaries(session)
            session.commit()
            ranked = _rank(session, org_id, now, report)
            session.execute(text("DROP TABLE IF EXISTS lk_changed"))
            session.commit()
        finally:
            session.rollback()
            session.close()
            _roomy_sorts(connection, on=False)
    return RecomputeReport(
        customers=customers,
        aggregated=aggregated,
        ranked=ranked,
        stage_changes=changes,
        seconds=round(time.perf_counter() - started, 3),
        incremental=since is not None,
    )


def _rank(session: Session, org_id: int, now: datetime, report: Progress) -> int:
    """RFM scores and tiers for every buyer; none (and the tail) for everyone else."""
    session.execute(
        text(
            "DELETE FROM customer_figures WHERE org_id = :org_id AND customer_id IN"
            " (SELECT id FROM customers WHERE org_id = :org_id AND merged_into_id IS NOT NULL)"
        ),
        {"org_id": org_id},
    )
    session.execute(text("DROP TABLE IF EXISTS lk_ranks"))
    session.execute(
        text(
            "CREATE TEMPORARY TABLE lk_ranks (customer_id BIGINT PRIMARY KEY, r INTEGER,"
            " f INTEGER, m INTEGER, tier VARCHAR(8))"
        )
    )
    session.execute(
        text(f"INSERT INTO lk_ranks {rank_sql('org_id = :org_id')}"), {"org_id": org_id}
    )
    analyze_temporary(session, "lk_ranks")
    session.commit()
    ranked = session.execute(text("SELECT COUNT(*) FROM lk_ranks")).scalar_one()
    now_param = bindparam("now", type_=UtcDateTime())
    # The figures' own id range bounds the chunks: non-buyers need their scores cleared too.
    f_low, f_high = session.execute(
        select(func.min(CustomerFigures.customer_id), func.max(CustomerFigures.customer_id)).where(
            CustomerFigures.org_id == org_id
        )
    ).one()
    chunks = _chunks(int(f_low or 0), int(f_high or -1))
    for done, (lo, hi) in enumerate(chunks, 1):
        values = {"org_id": org_id, "lo": lo, "hi": hi, "now": now}
        session.execute(
            text(
                "UPDATE customer_figures SET recency_score = t.r, frequency_score = t.f,"
                " monetary_score = t.m, value_tier = t.tier, computed_at = :now"
                " FROM lk_ranks t WHERE customer_figures.org_id = :org_id"
                " AND customer_figures.customer_id = t.customer_id"
                " AND t.customer_id BETWEEN :lo AND :hi"
            ).bindparams(now_param),
            values,
        )
        session.execute(
            text(
                "UPDATE customer_figures SET recency_score = NULL, frequency_score = NULL,"
                " monetary_score = NULL, value_tier = 'tail', computed_at = :now"
                " WHERE org_id = :org_id AND orders_count = 0"
                " AND customer_id BETWEEN :lo AND :hi"
            ).bindparams(now_param),
            values,
        )
        session.commit()
        report("ranking", done, len(chunks))
    session.execute(text("DROP TABLE IF EXISTS lk_ranks"))
    session.commit()
    return int(ranked or 0)


def last_recomputed_at(session: Session, org_id: int) -> datetime | None:
    return session.scalar(
        select(func.max(CustomerFigures.computed_at)).where(CustomerFigures.org_id == org_id)
    )


# --- reacting to orders and merges -------------------------------------------------------


def on_order_changed(session: Session, event: DomainEvent) -> None:
    customer_id = (event.payload or {}).get("customer_id")
    if isinstance(customer_id, int):
        refresh_customer(session, event.org_id, customer_id, utcnow())


def on_customer_merged(session: Session, event: DomainEvent) -> None:
    payload = event.payload or {}
    merged_id, kept_id = payload.get("merged_id"), payload.get("customer_id")
    if isinstance(merged_id, int):
        forget_customer(session, event.org_id, merged_id)
    if isinstance(kept_id, int):
        refresh_customer(session, event.org_id, kept_id, utcnow())


# --- the daily job and the button ---------------------------------------------------------


def nightly(database: Database, org: OrgInfo, now: datetime) -> int:
    """Scheduled: the incremental recompute of one tenant; returns its customer count."""
    org_id = org.id
    result = recompute_org(database, org_id, now, incremental=True)
    log.info(
        "recomputed org %s: %s customers (%s re-aggregated), %s stage changes in %.1fs",
        org_id,
        result.customers,
        result.aggregated,
        result.stage_changes,
        result.seconds,
    )
    return result.customers


_running: dict[int, threading.Thread] = {}
_running_lock = threading.Lock()


def start_recompute(database: Database, org_id: int, customers: int) -> bool:
    """The settings page's button: inline for small tenants, else a thread of this
    process. False when a background recompute of this tenant is still running."""
    if customers <= INLINE_LIMIT:
        recompute_org(database, org_id, utcnow())
        return True
    with _running_lock:
        thread = _running.get(org_id)
        if thread is not None and thread.is_alive():
            return False

        def work() -> None:
            try:
                recompute_org(database, org_id, utcnow())
            except Exception:  # the daily job tries again; keep the thread quiet
                log.warning("recompute of org %s failed", org_id, exc_info=True)

        thread = threading.Thread(target=work, name=f"recompute-{org_id}", daemon=True)
        _running[org_id] = thread
        thread.start()
    return True


def is_running(org_id: int) -> bool:
    thread = _running.get(org_id)
    return thread is not None and thread.is_alive()


_installed = False


def install() -> None:
    """Subscribe to the events that change a customer's figures; register the daily job."""
    global _installed
    if _installed:
        return
    _installed = True
    from laoke.events.bus import subscribe
    from laoke.messaging.scheduler import Job, register

    for name in ("order.created", "order.refunded", "order.cancelled", "order.updated"):
        subscribe(name, on_order_changed)
    subscribe("customer.merged", on_customer_merged)
    register(
        Job(
            "engagement.recompute",
            nightly,
            daily_at="03:00",
            description="Customer figures, RFM scores, value tiers and lifecycle stages",
        )
    )


def demo_step(session: Session, ctx: DemoContext) -> None:
    """Demo: figures and stages for the seeded orders and contacts (runs after them)."""
    session.commit()
    engine = session.get_bind()
    recompute_org(Database(engine), ctx.org.id, utcnow())  # type: ignore[arg-type]
