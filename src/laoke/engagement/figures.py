"""Per-customer figures: what a customer's paid orders and contacts add up to.

Only `paid` orders count. The repurchase interval is the mean gap between the customer's
distinct purchase days (UTC), i.e. (last day − first day) / (days − 1), None until they
bought on two days. The next expected purchase is the last purchase plus that interval; for
a customer who bought on one day only, the last purchase plus the longest `lasts_days` of
that order's items (None when no item has a usage cycle).

RFM scores are quintiles over the tenant's customers with at least one paid order, by rank:
score = 1 + 5 × (customers ranked strictly below) ÷ (buyers), so equal customers share a
score (NTILE would split them arbitrarily). 5 = most recent / most orders / most spent.
Value tier: top = the top 20% by total spent, tail = the bottom 30% and everyone who never
bought, middle in between. Customers without a paid order have no scores.

Everything is SQL that runs on SQLite (≥ 3.35) and PostgreSQL: `aggregate()` writes the
rows of any set of customers (one, an id range, the changed ones), `recompute.py` ranks.
"""

# ruff: noqa: S608 - the SQL is assembled from our own fragments; every value is bound

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Numeric, bindparam, delete, select, text
from sqlalchemy.orm import Session

from laoke.customers.models import Customer
from laoke.db import UtcDateTime
from laoke.engagement.lifecycle import apply_stage_rules
from laoke.engagement.models import CustomerFigures, ValueTier

EVERYONE = "1 = 1"  # the condition that selects every customer of the tenant
SCORE_AT_ONCE_LIMIT = 50_000  # buyers; above, a first order waits for the nightly ranking
TOP_SHARE_TENTHS = 2  # the top 20% by spend
TAIL_SHARE_TENTHS = 3  # the bottom 30%


def day_number_sql(dialect: str, column: str) -> str:
    """A whole UTC day number for a timestamp column (the same day → the same number)."""
    if dialect == "postgresql":
        return f"(CAST(({column} AT TIME ZONE 'UTC') AS DATE) - DATE '2000-01-01')"
    return f"CAST(julianday(date({column})) AS INTEGER)"


def plus_days_sql(dialect: str, column: str, days: str) -> str:
    """`column` + `days` (fractional), to the whole second on both databases."""
    if dialect == "postgresql":
        return (
            f"date_trunc('second', {column} + CAST(({days}) AS DOUBLE PRECISION)"
            " * INTERVAL '1 day')"
        )
    return f"datetime(julianday({column}) + ({days}))"


def _scan(dialect: str, table: str, where: str) -> str:
    # For the whole tenant one pass over the table and a sort beats SQLite's choice of
    # walking the (org, customer) index with a table lookup per row.
    return f"{table} NOT INDEXED" if dialect == "sqlite" and where == EVERYONE else table


def orders_summary_sql(dialect: str, where: str) -> str:
    """Per customer: paid orders, total, first and last purchase, distinct purchase days."""
    # SQLite keeps timestamps as ISO text, so the day is the first ten characters.
    day = (
        "CAST((ordered_at AT TIME ZONE 'UTC') AS DATE)"
        if dialect == "postgresql"
        else "substr(ordered_at, 1, 10)"
    )
    return (
        "SELECT customer_id, COUNT(*) AS n, ROUND(SUM(amount), 2) AS total,"
        " MIN(ordered_at) AS first_at, MAX(ordered_at) AS last_at,"
        f" COUNT(DISTINCT {day}) AS days"
        f" FROM {_scan(dialect, 'orders', where)}"
        f" WHERE org_id = :org_id AND status = :paid AND ({where}) GROUP BY customer_id"
    )


def contacts_summary_sql(dialect: str, where: str) -> str:
    return (
        "SELECT customer_id, COUNT(*) AS n, MAX(occurred_at) AS last_at"
        f" FROM {_scan(dialect, 'contacts', where)}"
        f" WHERE org_id = :org_id AND ({where}) GROUP BY customer_id"
    )


def stage_summaries(session: Session, org_id: int, customers: str, params: dict[str, Any]) -> None:
    """Materialise the order and contact summaries of the selected customers (same
    `{id}` condition as `aggregate`) into the temporary tables `lk_orders`/`lk_contacts`
    of this connection: one pass over each table instead of one index walk per chunk."""
    dialect = session.get_bind().dialect.name
    stamp = "TIMESTAMP WITH TIME ZONE" if dialect == "postgresql" else "DATETIME"
    where = customers.format(id="customer_id")
    values = {**params, "org_id": org_id, "paid": "paid"}
    for table in ("lk_orders", "lk_contacts"):
        session.execute(text(f"DROP TABLE IF EXISTS {table}"))
    session.execute(
        text(
            "CREATE TEMPORARY TABLE lk_orders (customer_id BIGINT PRIMARY KEY, n INTEGER,"
            f" total NUMERIC(14, 2), first_at {stamp}, last_at {stamp}, days INTEGER)"
        )
    )
    session.execute(text(f"INSERT INTO lk_orders {orders_summary_sql(dialect, where)}"), values)
    session.execute(
        text(
            "CREATE TEMPORARY TABLE lk_contacts (customer_id BIGINT PRIMARY KEY, n INTEGER,"
            f" last_at {stamp})"
        )
    )
    session.execute(text(f"INSERT INTO lk_contacts {contacts_summary_sql(dialect, where)}"), values)
    analyze_temporary(session, "lk_orders", "lk_contacts")


def analyze_temporary(session: Session, *tables: str) -> None:
    """PostgreSQL never analyses temporary tables by itself; without statistics it joins
    them by scanning them once per customer."""
    if session.get_bind().dialect.name == "postgresql":
        for table in tables:
            session.execute(text(f"ANALYZE {table}"))


def drop_summaries(session: Session) -> None:
    for table in ("lk_orders", "lk_contacts"):
        session.execute(text(f"DROP TABLE IF EXISTS {table}"))


def aggregate(
    session: Session,
    org_id: int,
    customers: str,
    params: dict[str, Any],
    *,
    staged: bool = False,
) -> None:
    """Upsert the figures rows (orders, totals, interval, next purchase, contacts) of the
    customers selected by the SQL condition `customers`, written over a `{id}` placeholder
    (`"{id} BETWEEN :lo AND :hi"`, values in `params`). RFM scores and tier are left as
    they are. `staged`: read the summaries `stage_summaries` left in temporary tables."""
    dialect = session.get_bind().dialect.name
    where = customers.format(id="customer_id")
    orders = "lk_orders" if staged else f"({orders_summary_sql(dialect, where)})"
    contacts = "lk_contacts" if staged else f"({contacts_summary_sql(dialect, where)})"
    first_day = day_number_sql(dialect, "o.first_at")
    last_day = day_number_sql(dialect, "o.last_at")
    interval = f"({last_day} - {first_day}) * 1.0 / (o.days - 1)"
    values = {**params, "org_id": org_id, "paid": "paid"}
    now_param = bindparam("now", type_=UtcDateTime())
    session.execute(
        text(
            "INSERT INTO customer_figures (org_id, customer_id, orders_count, total_spent,"
            " average_order_value, first_purchase_at, last_purchase_at,"
            " repurchase_interval_days, next_expected_purchase_at, contact_count,"
            " last_contact_at, value_tier, computed_at)"
            " SELECT c.org_id, c.id, COALESCE(o.n, 0), COALESCE(o.total, 0),"
            " ROUND(o.total * 1.0 / o.n, 2), o.first_at, o.last_at,"
            f" CASE WHEN o.days > 1 THEN {interval} END,"
            f" CASE WHEN o.days > 1 THEN {plus_days_sql(dialect, 'o.last_at', interval)} END,"
            " COALESCE(k.n, 0), k.last_at, 'tail', :now"
            f" FROM customers c LEFT JOIN {orders} o ON o.customer_id = c.id"
            f" LEFT JOIN {contacts} k ON k.customer_id = c.id"
            " WHERE c.org_id = :org_id AND c.merged_into_id IS NULL"
            f" AND ({customers.format(id='c.id')})"
            " ON CONFLICT (org_id, customer_id) DO UPDATE SET"
            " orders_count = excluded.orders_count, total_spent = excluded.total_spent,"
            " average_order_value = excluded.average_order_value,"
            " first_purchase_at = excluded.first_purchase_at,"
            " last_purchase_at = excluded.last_purchase_at,"
            " repurchase_interval_days = excluded.repurchase_interval_days,"
            " next_expected_purchase_at = excluded.next_expected_purchase_at,"
            " contact_count = excluded.contact_count, last_contact_at = excluded.last_contact_at,"
            " computed_at = excluded.computed_at"
        ).bindparams(now_param),
        values,
    )
    # One-day buyers: the last order's longest-lasting item says when they need more.
    lasts = (
        "(SELECT MAX(i.lasts_days) FROM orders o JOIN order_items i"
        " ON i.org_id = o.org_id AND i.order_id = o.id"
        " WHERE o.org_id = customer_figures.org_id"
        " AND o.customer_id = customer_figures.customer_id AND o.status = :paid"
        " AND o.ordered_at = customer_figures.last_purchase_at)"
    )
    session.execute(
        text(
            "UPDATE customer_figures SET next_expected_purchase_at ="
            f" {plus_days_sql(dialect, 'last_purchase_at', lasts)}"
            " WHERE org_id = :org_id AND computed_at = :now AND orders_count > 0"
            " AND repurchase_interval_days IS NULL"
            f" AND ({customers.format(id='customer_id')})"
        ).bindparams(now_param),
        values,
    )


def rank_sql(where: str) -> str:
    """Rank the buyers among `customer_figures` rows matching `where` into RFM and tier.
    Three sorts: `COUNT(*)` over the spend order counts those spending as much or less, so
    the top share needs no descending sort of its own."""
    return (
        "SELECT customer_id, 1 + 5 * (r - 1) / n AS r, 1 + 5 * (f - 1) / n AS f,"
        " 1 + 5 * (m - 1) / n AS m,"
        f" CASE WHEN 10 * (n - m_at_most) < {TOP_SHARE_TENTHS} * n THEN 'top'"
        f" WHEN 10 * (m - 1) < {TAIL_SHARE_TENTHS} * n THEN 'tail' ELSE 'middle' END AS tier"
        " FROM (SELECT customer_id, RANK() OVER (ORDER BY last_purchase_at) AS r,"
        " RANK() OVER (ORDER BY orders_count) AS f, RANK() OVER (ORDER BY total_spent) AS m,"
        " COUNT(*) OVER (ORDER BY total_spent) AS m_at_most, COUNT(*) OVER () AS n"
        f" FROM customer_figures WHERE {where} AND orders_count > 0) ranked"
    )


def score_one(session: Session, org_id: int, customer_id: int) -> None:
    """Place one customer against the tenant's current ranking without re-ranking anyone:
    the same formula as the full ranking, counting the other buyers below and above."""
    row = session.scalar(
        select(CustomerFigures).where(
            CustomerFigures.org_id == org_id, CustomerFigures.customer_id == customer_id
        )
    )
    if row is None:
        return
    if row.orders_count == 0:
        row.recency_score = row.frequency_score = row.monetary_score = None
        row.value_tier = ValueTier.TAIL
        return
    counts = session.execute(
        text(
            "SELECT COUNT(*) + 1,"
            " SUM(CASE WHEN last_purchase_at < :last THEN 1 ELSE 0 END),"
            " SUM(CASE WHEN orders_count < :n THEN 1 ELSE 0 END),"
            " SUM(CASE WHEN total_spent < :total THEN 1 ELSE 0 END),"
            " SUM(CASE WHEN total_spent > :total THEN 1 ELSE 0 END)"
            " FROM customer_figures WHERE org_id = :org_id AND orders_count > 0"
            " AND customer_id <> :customer_id"
        ).bindparams(
            bindparam("last", type_=UtcDateTime()), bindparam("total", type_=Numeric(14, 2))
        ),
        {
            "last": row.last_purchase_at,
            "n": row.orders_count,
            "total": row.total_spent,
            "org_id": org_id,
            "customer_id": customer_id,
        },
    ).one()
    buyers, older, fewer, less, more = (int(value or 0) for value in counts)
    row.recency_score = 1 + 5 * older // buyers
    row.frequency_score = 1 + 5 * fewer // buyers
    row.monetary_score = 1 + 5 * less // buyers
    if 10 * more < TOP_SHARE_TENTHS * buyers:
        row.value_tier = ValueTier.TOP
    elif 10 * less < TAIL_SHARE_TENTHS * buyers:
        row.value_tier = ValueTier.TAIL
    else:
        row.value_tier = ValueTier.MIDDLE


def refresh_figures(session: Session, org_id: int, customer_id: int, now: datetime) -> None:
    """Rewrite one customer's figures row in the caller's transaction (no stage change)."""
    session.flush()
    params = {"customer_id": customer_id, "now": now}
    aggregate(session, org_id, "{id} = :customer_id", params)
    session.expire_all()


def _buyers_at_most(session: Session, org_id: int, limit: int) -> bool:
    found = session.execute(
        text(
            "SELECT COUNT(*) FROM (SELECT 1 FROM customer_figures WHERE org_id = :org_id"
            " AND orders_count > 0 LIMIT :limit) buyers"
        ),
        {"org_id": org_id, "limit": limit + 1},
    ).scalar_one()
    return int(found) <= limit


def refresh_customer(session: Session, org_id: int, customer_id: int, now: datetime) -> None:
    """One customer's figures and lifecycle stage, now, in the caller's transaction.

    RFM scores and the value tier keep the values of the last full ranking (the nightly
    job re-ranks everyone, as one new order shifts everybody's quantiles a little); a
    customer who has none yet — a first paid order — is placed against the current ranking
    right away (one pass over the tenant's figures) while the tenant has at most
    `SCORE_AT_ONCE_LIMIT` buyers, so that importing orders into a large tenant stays cheap;
    one with no paid order left loses their scores at once."""
    refresh_figures(session, org_id, customer_id, now)
    row = session.scalar(
        select(CustomerFigures).where(
            CustomerFigures.org_id == org_id, CustomerFigures.customer_id == customer_id
        )
    )
    if row is not None and (row.orders_count == 0) != (row.recency_score is None):
        first_order = row.orders_count > 0
        if not first_order or _buyers_at_most(session, org_id, SCORE_AT_ONCE_LIMIT):
            score_one(session, org_id, customer_id)
            session.flush()
    apply_stage_rules(session, org_id, now, "{id} = :customer_id", {"customer_id": customer_id})
    session.expire_all()


def forget_customer(session: Session, org_id: int, customer_id: int) -> None:
    """A merged-away customer keeps no figures (their orders now count for the kept one)."""
    session.execute(
        delete(CustomerFigures).where(
            CustomerFigures.org_id == org_id, CustomerFigures.customer_id == customer_id
        )
    )


def figures_by_customer(
    session: Session, org_id: int, customer_ids: Iterable[int]
) -> dict[int, CustomerFigures]:
    """The figures rows of a page of customers, in one query."""
    ids = sorted(set(customer_ids))
    if not ids:
        return {}
    rows = session.scalars(
        select(CustomerFigures).where(
            CustomerFigures.org_id == org_id, CustomerFigures.customer_id.in_(ids)
        )
    )
    return {row.customer_id: row for row in rows}


def figures_of(session: Session, customer: Customer) -> CustomerFigures | None:
    return figures_by_customer(session, customer.org_id, [customer.id]).get(customer.id)
