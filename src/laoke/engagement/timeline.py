"""One stream per customer, newest first: orders, contacts, stage changes, tasks, messages
and merges — and whatever later domains add (referrals, surveys, rewards).

A source is a function `(session, org_id, customer_id, before, limit) -> list[TimelineEntry]`
returning at most `limit` entries at or before `before` (all when None), newest first.
Register one with `register_source(name, fn)`. Pages are cut by an opaque cursor
`"<microseconds>.<kind>.<ref_id>"`, so entries sharing a time are neither lost nor repeated.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from laoke.accounts.actor import Actor
from laoke.accounts.models import User
from laoke.audit.models import AuditAction, AuditEvent
from laoke.customers.service import get_customer_for
from laoke.engagement.models import Contact, StageChange, Task
from laoke.errors import N_, Invalid
from laoke.messaging.models import OutboxMessage
from laoke.orders.models import Order

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_LIMIT = 100
# Extra rows each source is asked for, so entries sharing the cursor's exact time
# (already shown) do not crowd out the older ones.
TIE_SLACK = 10


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str
    ref_id: int
    data: dict[str, Any]

    @property
    def key(self) -> tuple[int, str, int]:
        return (_micros(self.at), self.kind, self.ref_id)

    @property
    def cursor(self) -> str:
        micros, kind, ref_id = self.key
        return f"{micros}.{kind}.{ref_id}"


TimelineSource = Callable[[Session, int, int, datetime | None, int], list[TimelineEntry]]
SOURCES: dict[str, TimelineSource] = {}


def register_source(name: str, source: TimelineSource) -> None:
    """Add a stream to every customer's timeline (re-registering a name replaces it)."""
    SOURCES[name] = source


def _micros(at: datetime) -> int:
    return (at - EPOCH) // timedelta(microseconds=1)


def parse_cursor(text: str) -> tuple[int, str, int]:
    """`"<microseconds>.<kind>.<ref_id>"` as a sortable key; Invalid when malformed."""
    parts = text.split(".")
    if (
        len(parts) != 3
        or not parts[0].isdigit()
        or not parts[2].isdigit()
        or not parts[1].replace("_", "").isalpha()
        or len(text) > 80
    ):
        raise Invalid(N_("This page marker is not valid."), field="before")
    return (int(parts[0]), parts[1], int(parts[2]))


@dataclass(frozen=True)
class TimelinePage:
    items: list[TimelineEntry]
    next_before: str | None


def customer_timeline(
    session: Session, actor: Actor, customer_id: int, *, before: str | None = None, limit: int = 20
) -> TimelinePage:
    """A page of the customer's stream, newest first, older than the cursor `before`."""
    customer = get_customer_for(session, actor, customer_id)
    limit = min(max(limit, 1), MAX_LIMIT)
    cursor = parse_cursor(before) if before else None
    until = EPOCH + timedelta(microseconds=cursor[0]) if cursor else None
    wanted = limit + 1 + TIE_SLACK
    entries: list[TimelineEntry] = []
    # The newest "oldest entry" among sources that may hold more: below it, a source's
    # rows were not fetched, so the page must stop there to skip nothing.
    frontier: tuple[int, str, int] | None = None
    for source in SOURCES.values():
        rows = source(session, actor.org_id, customer.id, until, wanted)
        if len(rows) >= wanted:
            oldest = min(row.key for row in rows)
            frontier = oldest if frontier is None else max(frontier, oldest)
        entries.extend(row for row in rows if cursor is None or row.key < cursor)
    entries.sort(key=lambda entry: entry.key, reverse=True)
    if frontier is not None:
        entries = [entry for entry in entries if entry.key >= frontier]
    page = entries[:limit]
    more = len(entries) > limit or frontier is not None
    return TimelinePage(page, page[-1].cursor if page and more else None)


# --- the built-in sources ----------------------------------------------------------------


def orders_source(
    session: Session, org_id: int, customer_id: int, before: datetime | None, limit: int
) -> list[TimelineEntry]:
    query = select(Order).where(Order.org_id == org_id, Order.customer_id == customer_id)
    if before is not None:
        query = query.where(Order.ordered_at <= before)
    rows = session.scalars(query.order_by(Order.ordered_at.desc(), Order.id.desc()).limit(limit))
    return [
        TimelineEntry(
            order.ordered_at,
            "order",
            order.id,
            {
                "amount": str(order.amount),
                "status": order.status,
                "order_number": order.order_number,
                "channel": order.channel,
                "items": [item.product_name for item in order.items],
            },
        )
        for order in rows
    ]


def contacts_source(
    session: Session, org_id: int, customer_id: int, before: datetime | None, limit: int
) -> list[TimelineEntry]:
    query = (
        select(Contact, User.name)
        .outerjoin(User, User.id == Contact.staff_id)
        .where(Contact.org_id == org_id, Contact.customer_id == customer_id)
    )
    if before is not None:
        query = query.where(Contact.occurred_at <= before)
    rows = session.execute(
        query.order_by(Contact.occurred_at.desc(), Contact.id.desc()).limit(limit)
    ).all()
    return [
        TimelineEntry(
            contact.occurred_at,
            "contact",
            contact.id,
            {
                "channel": contact.channel,
                "direction": contact.direction,
                "outcome": contact.outcome,
                "notes": contact.notes,
                "next_step": contact.next_step,
                "next_step_on": contact.next_step_on.isoformat() if contact.next_step_on else None,
                "staff_id": contact.staff_id,
                "staff_name": staff_name,
            },
        )
        for contact, staff_name in rows
    ]


def stage_changes_source(
    session: Session, org_id: int, customer_id: int, before: datetime | None, limit: int
) -> list[TimelineEntry]:
    query = (
        select(StageChange, User.name)
        .outerjoin(User, User.id == StageChange.changed_by_id)
        .where(StageChange.org_id == org_id, StageChange.customer_id == customer_id)
    )
    if before is not None:
        query = query.where(StageChange.at <= before)
    rows = session.execute(
        query.order_by(StageChange.at.desc(), StageChange.id.desc()).limit(limit)
    ).all()
    return [
        TimelineEntry(
            change.at,
            "stage_change",
            change.id,
            {
                "stage_kind": change.kind,
                "from_stage": change.from_stage,
                "to_stage": change.to_stage,
                "reason": change.reason,
                "changed_by_id": change.changed_by_id,
                "changed_by_name": changed_by_name,
            },
        )
        for change, changed_by_name in rows
    ]


def _task_data(task: Task) -> dict[str, Any]:
    return {
        "task_kind": task.kind,
        "title": task.title,
        "due_on": task.due_on.isoformat(),
        "status": task.status,
        "assignee_id": task.assignee_id,
    }


def tasks_opened_source(
    session: Session, org_id: int, customer_id: int, before: datetime | None, limit: int
) -> list[TimelineEntry]:
    query = select(Task).where(Task.org_id == org_id, Task.customer_id == customer_id)
    if before is not None:
        query = query.where(Task.created_at <= before)
    rows = session.scalars(query.order_by(Task.created_at.desc(), Task.id.desc()).limit(limit))
    return [
        TimelineEntry(task.created_at, "task_opened", task.id, _task_data(task)) for task in rows
    ]


def tasks_closed_source(
    session: Session, org_id: int, customer_id: int, before: datetime | None, limit: int
) -> list[TimelineEntry]:
    query = select(Task).where(
        Task.org_id == org_id, Task.customer_id == customer_id, Task.closed_at.is_not(None)
    )
    if before is not None:
        query = query.where(Task.closed_at <= before)
    rows = session.scalars(query.order_by(Task.closed_at.desc(), Task.id.desc()).limit(limit))
    return [
        TimelineEntry(task.closed_at, "task_closed", task.id, _task_data(task))
        for task in rows
        if task.closed_at is not None
    ]


def messages_source(
    session: Session, org_id: int, customer_id: int, before: datetime | None, limit: int
) -> list[TimelineEntry]:
    # Only what a colleague needs to know was sent: never the body, address or metadata.
    query = select(
        OutboxMessage.id,
        OutboxMessage.created_at,
        OutboxMessage.purpose,
        OutboxMessage.channel,
        OutboxMessage.subject,
        OutboxMessage.status,
        OutboxMessage.sent_at,
    ).where(OutboxMessage.org_id == org_id, OutboxMessage.customer_id == customer_id)
    if before is not None:
        query = query.where(OutboxMessage.created_at <= before)
    rows = session.execute(
        query.order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc()).limit(limit)
    ).all()
    return [
        TimelineEntry(
            row.created_at,
            "message",
            row.id,
            {
                "purpose": row.purpose,
                "channel": row.channel,
                "subject": row.subject,
                "status": row.status,
                "sent_at": row.sent_at.isoformat() if row.sent_at else None,
            },
        )
        for row in rows
    ]


def merges_source(
    session: Session, org_id: int, customer_id: int, before: datetime | None, limit: int
) -> list[TimelineEntry]:
    query = select(AuditEvent).where(
        AuditEvent.org_id == org_id,
        AuditEvent.target_type == "customer",
        AuditEvent.target_id == customer_id,
        AuditEvent.action == AuditAction.MERGED,
    )
    if before is not None:
        query = query.where(AuditEvent.at <= before)
    rows = session.scalars(query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit))
    return [
        TimelineEntry(event.at, "merge", event.id, {"merged_id": event.details.get("merged_id")})
        for event in rows
    ]


for _name, _source in (
    ("order", orders_source),
    ("contact", contacts_source),
    ("stage_change", stage_changes_source),
    ("task_opened", tasks_opened_source),
    ("task_closed", tasks_closed_source),
    ("message", messages_source),
    ("merge", merges_source),
):
    register_source(_name, _source)
