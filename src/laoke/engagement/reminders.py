"""Scheduled care that engagement adds to messaging: a reminder to customers whose purchase
is about to run out, and each salesperson's "your Today" digest.

- `engagement.running_out_reminders` (daily 10:00, tenant time): for every open
  running-out task due today, the customer (with marketing consent) gets the
  `care.product_cycle` template once per order item (key `cycle:{item}`), so a second run,
  or a second worker, sends nothing more.
- `engagement.today_digest` (daily 08:00): each active staff member who has something on
  their Today list gets a short email of its sections (key `digest:…:{user}:{day}`).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from laoke.accounts.models import User
from laoke.accounts.roles import Role
from laoke.accounts.service import actor_for
from laoke.customers.models import Customer
from laoke.db import Database
from laoke.engagement.models import Task, TaskKind, TaskStatus
from laoke.engagement.today import today_for
from laoke.engagement.today_items import SECTION_LABELS
from laoke.errors import N_
from laoke.messaging.care import Digest, local_today, staff_digest_job
from laoke.messaging.models import MessageTemplate
from laoke.messaging.outbox import enqueue, find_template
from laoke.messaging.purposes import Purpose, Variable, register
from laoke.orders.models import Order, OrderItem
from laoke.tenancy.service import OrgInfo
from laoke.web.i18n import translations

PRODUCT_CYCLE = register(
    Purpose(
        "care.product_cycle",
        N_("Running-out reminder"),
        marketing=True,
        variables=(
            Variable("product_name", N_("Product"), sample="补水面霜"),
            Variable("runs_out_on", N_("Runs out on"), sample="2026-12-11"),
        ),
        description=N_(
            "Sent on the day a purchase is a few days from running out (the product's "
            "usage cycle), once per item bought."
        ),
    )
)
CHUNK = 500


def running_out_reminders(database: Database, org: OrgInfo, now: datetime) -> int:
    """Queue today's running-out reminders; returns how many were new."""
    today = local_today(now, org.timezone)
    with database.unit_of_work(write=False) as session:
        template = find_template(session, org.id, PRODUCT_CYCLE.name)
        template_id = template.id if template is not None else None
    if template_id is None:
        return 0
    queued, cursor = 0, 0
    while True:
        with database.unit_of_work() as session:
            rows = session.execute(
                select(Task, Customer, OrderItem, Order.ordered_at)
                .join(Customer, Customer.id == Task.customer_id)
                .join(OrderItem, OrderItem.id == Task.order_item_id)
                .join(Order, Order.id == OrderItem.order_id)
                .where(
                    Task.org_id == org.id,
                    Task.kind == TaskKind.RUNNING_OUT,
                    Task.status == TaskStatus.OPEN,
                    Task.due_on == today,
                    Task.id > cursor,
                    Customer.marketing_consent.is_(True),
                    Customer.erased_at.is_(None),
                    Customer.merged_into_id.is_(None),
                )
                .order_by(Task.id)
                .limit(CHUNK)
            ).all()
            template = session.get(MessageTemplate, template_id)
            for _task, customer, item, ordered_at in rows:
                queued += enqueue(
                    session,
                    org_id=org.id,
                    purpose=PRODUCT_CYCLE.name,
                    key=f"cycle:{item.id}",
                    template=template,
                    customer=customer,
                    variables={
                        "product_name": item.product_name,
                        "runs_out_on": runs_out_on(ordered_at, item, org.timezone).isoformat(),
                    },
                    now=now,
                ).created
            session.commit()
        if len(rows) < CHUNK:
            return queued
        cursor = rows[-1][0].id


def runs_out_on(ordered_at: datetime, item: OrderItem, timezone: str) -> date:
    """The tenant-local day the item is used up."""
    return local_today(ordered_at, timezone) + timedelta(days=item.lasts_days or 0)


def today_digest(session: Session, org: OrgInfo, user: User, today: date) -> Digest | None:
    """A staff member's Today list in a few lines, or None when it is empty."""
    noon = datetime.combine(today, time(12), tzinfo=ZoneInfo(org.timezone))
    listing = today_for(session, actor_for(user), now=noon, timezone=org.timezone)
    counts = [(name, page.total) for name, page in listing.sections.items() if page.total]
    if not counts:
        return None
    gettext = translations(user.language or org.default_language).gettext
    lines = [f"- {gettext(SECTION_LABELS[name])}: {total}" for name, total in counts]
    for page in listing.sections.values():
        for item in page.items[:3]:
            lines.append(f"  · {item.customer_name} — {item.reason(gettext)}")
    return Digest(
        gettext(N_("Your Today list")),
        "\n".join([*lines, "", gettext(N_("Open the Today page to log each contact."))]),
    )


def register_jobs() -> None:
    from laoke.messaging.scheduler import Job
    from laoke.messaging.scheduler import register as register_job

    register_job(
        Job(
            "engagement.running_out_reminders",
            running_out_reminders,
            daily_at="10:00",
            description="Remind customers whose purchase is about to run out",
        )
    )
    register_job(
        staff_digest_job(
            "engagement.today_digest",
            today_digest,
            daily_at="08:00",
            roles=(Role.OWNER, Role.ADMIN, Role.MANAGER, Role.SALES),
            description="Email each staff member their Today list",
        )
    )
