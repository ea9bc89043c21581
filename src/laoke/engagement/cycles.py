"""Product-cycle marketing (购买期 / 使用期 / 结束期 / 重购期).

An order item that lasts `lasts_days` runs out on the local date it was ordered plus
those days. For every paid item the daily job opens, assigned to the customer's owner:

- a RUNNING_OUT task `reminder_days_before` days before it runs out
  (key `running_out:item:{id}`),
- a REPURCHASE task on the day it runs out (key `repurchase:item:{id}`),

unless the customer has bought the same product again since (same `product_id`; same
`product_name` for items without one). It also opens a WIN_BACK task (key
`win_back:customer:{id}:{local date of last purchase}`) for a customer whose days since the
last purchase exceed `winback_factor` × their own repurchase interval (the tenant's
`default_cycle_days` for one-time buyers).

Tasks are opened when their due date is at most `LOOK_AHEAD_DAYS` away, so staff can plan
the week; items that ran out more than `STALE_AFTER_DAYS` ago, and win-backs that became due
that long ago, are left alone (a first run on years of imported orders opens no backlog).
A new paid order closes, as done, the open cycle tasks of the same product and any open
win-back of that customer (`order.created` event).
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, String, and_, cast, exists, func, or_, select, update
from sqlalchemy.orm import Session, aliased

from laoke.customers.models import Customer
from laoke.db import Database, utcnow
from laoke.engagement.cadence import day_number, utc_literal
from laoke.engagement.models import CustomerFigures, Task, TaskKind, TaskStatus
from laoke.engagement.settings import rules_for
from laoke.engagement.tasks import open_task
from laoke.events.bus import subscribe
from laoke.events.models import DomainEvent
from laoke.orders.models import Order, OrderItem, OrderStatus
from laoke.tenancy.service import OrgInfo

LOOK_AHEAD_DAYS = 7
STALE_AFTER_DAYS = 180
CYCLE_KINDS = (TaskKind.RUNNING_OUT, TaskKind.REPURCHASE)


def _local_date(moment: datetime, timezone: str) -> date:
    return moment.astimezone(ZoneInfo(timezone)).date()


def _same_product(earlier: type[OrderItem], later: type[OrderItem]) -> ColumnElement[bool]:
    return or_(
        and_(earlier.product_id.is_not(None), later.product_id == earlier.product_id),
        and_(earlier.product_id.is_(None), later.product_name == earlier.product_name),
    )


def _bought_again(org_id: int) -> ColumnElement[bool]:
    """The item's customer paid for the same product in a later order."""
    later_order = aliased(Order)
    later_item = aliased(OrderItem)
    return exists().where(
        later_order.org_id == org_id,
        later_order.customer_id == Order.customer_id,
        later_order.status == OrderStatus.PAID,
        later_order.ordered_at > Order.ordered_at,
        later_item.org_id == org_id,
        later_item.order_id == later_order.id,
        _same_product(OrderItem, later_item),  # type: ignore[arg-type]
    )


def _item_tasks(session: Session, org_id: int, timezone: str, now: datetime) -> Counter[str]:
    rules = rules_for(session, org_id)
    today = _local_date(now, timezone)
    dialect = session.get_bind().dialect.name
    today_number = day_number(utc_literal(now), dialect)
    runs_out = day_number(Order.ordered_at, dialect) + OrderItem.lasts_days
    repurchase_opened = exists().where(
        Task.org_id == org_id,
        Task.key == "repurchase:item:" + cast(OrderItem.id, String),
    )
    rows = session.execute(
        select(
            OrderItem.id,
            OrderItem.product_name,
            OrderItem.lasts_days,
            Order.ordered_at,
            Order.customer_id,
            Customer.owner_id,
        )
        .join(Order, and_(Order.id == OrderItem.order_id, Order.org_id == org_id))
        .join(Customer, and_(Customer.id == Order.customer_id, Customer.org_id == org_id))
        .where(
            OrderItem.org_id == org_id,
            OrderItem.lasts_days > 0,
            Order.status == OrderStatus.PAID,
            Customer.merged_into_id.is_(None),
            Customer.erased_at.is_(None),
            # A day of slack each side: the exact local-date test is below.
            runs_out >= today_number - (STALE_AFTER_DAYS + 1),
            runs_out <= today_number + (LOOK_AHEAD_DAYS + rules.reminder_days_before + 1),
            ~repurchase_opened,
            ~_bought_again(org_id),
        )
    ).all()
    opened: Counter[str] = Counter()
    horizon = today + timedelta(days=LOOK_AHEAD_DAYS)
    for item_id, name, lasts_days, ordered_at, customer_id, owner_id in rows:
        run_out_on = _local_date(ordered_at, timezone) + timedelta(days=lasts_days)
        if run_out_on < today - timedelta(days=STALE_AFTER_DAYS):
            continue
        remind_on = run_out_on - timedelta(days=rules.reminder_days_before)
        wanted = []
        if remind_on <= horizon and today <= run_out_on:
            wanted.append((TaskKind.RUNNING_OUT, remind_on))
        if run_out_on <= horizon:
            wanted.append((TaskKind.REPURCHASE, run_out_on))
        for kind, due_on in wanted:
            opened[kind] += open_task(
                session,
                org_id,
                customer_id=customer_id,
                assignee_id=owner_id,
                kind=kind,
                key=f"{kind.value}:item:{item_id}",
                title=name,
                due_on=due_on,
                order_item_id=item_id,
            )
    return opened


def _win_back_tasks(session: Session, org_id: int, timezone: str, now: datetime) -> int:
    rules = rules_for(session, org_id)
    dialect = session.get_bind().dialect.name
    since_purchase = day_number(utc_literal(now), dialect) - day_number(
        CustomerFigures.last_purchase_at, dialect
    )
    allowed = rules.winback_factor * func.coalesce(
        CustomerFigures.repurchase_interval_days, rules.default_cycle_days
    )
    already_opened = exists().where(
        Task.org_id == org_id,
        Task.customer_id == CustomerFigures.customer_id,
        Task.kind == TaskKind.WIN_BACK,
        Task.created_at >= CustomerFigures.last_purchase_at,
    )
    rows = session.execute(
        select(CustomerFigures.customer_id, CustomerFigures.last_purchase_at, Customer.owner_id)
        .join(Customer, and_(Customer.id == CustomerFigures.customer_id, Customer.org_id == org_id))
        .where(
            CustomerFigures.org_id == org_id,
            CustomerFigures.last_purchase_at.is_not(None),
            Customer.merged_into_id.is_(None),
            Customer.erased_at.is_(None),
            since_purchase > allowed,
            since_purchase <= allowed + STALE_AFTER_DAYS,
            ~already_opened,
        )
    ).all()
    today = _local_date(now, timezone)
    opened = 0
    for customer_id, last_purchase_at, owner_id in rows:
        last_day = _local_date(last_purchase_at, timezone).isoformat()
        opened += open_task(
            session,
            org_id,
            customer_id=customer_id,
            assignee_id=owner_id,
            kind=TaskKind.WIN_BACK,
            key=f"win_back:customer:{customer_id}:{last_day}",
            title=last_day,
            due_on=today,
        )
    return opened


def open_cycle_tasks_in(session: Session, org_id: int, timezone: str, now: datetime) -> int:
    """Open the tenant's due cycle and win-back tasks in the caller's transaction; returns
    how many were new."""
    opened = _item_tasks(session, org_id, timezone, now)
    opened[TaskKind.WIN_BACK] += _win_back_tasks(session, org_id, timezone, now)
    session.flush()
    return sum(opened.values())


def open_cycle_tasks(database: Database, org: OrgInfo, now: datetime) -> int:
    """The daily job: open due cycle tasks for one tenant (safe to run again)."""
    with database.unit_of_work() as session:
        opened = open_cycle_tasks_in(session, org.id, org.timezone, now)
        session.commit()
    return opened


def close_after_purchase(session: Session, org_id: int, order_id: int) -> int:
    """A paid order closes the customer's open cycle tasks of the products it contains (from
    earlier orders) and any open win-back. Returns how many tasks it closed."""
    order = session.get(Order, order_id)
    if order is None or order.org_id != org_id or order.status != OrderStatus.PAID:
        return 0
    ids = {item.product_id for item in order.items if item.product_id is not None}
    names = {item.product_name for item in order.items}
    earlier_items = (
        select(OrderItem.id)
        .join(Order, and_(Order.id == OrderItem.order_id, Order.org_id == org_id))
        .where(
            OrderItem.org_id == org_id,
            Order.customer_id == order.customer_id,
            Order.ordered_at < order.ordered_at,
            or_(
                OrderItem.product_id.in_(ids),
                and_(OrderItem.product_id.is_(None), OrderItem.product_name.in_(names)),
            ),
        )
    )
    now = utcnow()
    base = update(Task).where(
        Task.org_id == org_id,
        Task.customer_id == order.customer_id,
        Task.status == TaskStatus.OPEN,
    )
    closed = 0
    if names:
        closed += session.execute(
            base.where(Task.kind.in_(CYCLE_KINDS), Task.order_item_id.in_(earlier_items)).values(
                status=TaskStatus.DONE, closed_at=now, updated_at=now
            )
        ).rowcount  # type: ignore[attr-defined]
    closed += session.execute(
        base.where(Task.kind == TaskKind.WIN_BACK).values(
            status=TaskStatus.DONE, closed_at=now, updated_at=now
        )
    ).rowcount  # type: ignore[attr-defined]
    return closed


def on_order_created(session: Session, event: DomainEvent) -> None:
    close_after_purchase(session, event.org_id, int(event.payload["order_id"]))


def install() -> None:
    """Hear new orders and run the daily job (called wherever scheduled jobs are set up)."""
    from laoke.messaging.scheduler import Job, register

    subscribe("order.created", on_order_created)
    register(
        Job(
            "engagement.product_cycles",
            open_cycle_tasks,
            daily_at="06:00",
            description="Open running-out, repurchase and win-back tasks",
        )
    )
