"""Scheduled care: birthday and holiday greetings, staff digests, outbox upkeep.

Each job is idempotent per customer per day through its outbox keys
(`birthday:{customer}:{date}`, `holiday:{holiday}:{customer}`), and registered in
`scheduler.JOBS`, so each runs once per tenant per period whatever the number of workers.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, and_, extract, func, or_, select, update
from sqlalchemy.orm import Session

from laoke.accounts.actor import Actor
from laoke.accounts.models import User
from laoke.accounts.roles import Permission, Role
from laoke.customers.models import Customer
from laoke.db import Database
from laoke.errors import N_, Conflict, Invalid, NotFound
from laoke.messaging import preferences
from laoke.messaging.models import (
    ChannelKind,
    Holiday,
    MessageStatus,
    MessageTemplate,
    OutboxMessage,
    ScheduledRun,
)
from laoke.messaging.outbox import address_of, channel_for, enqueue, enqueue_text, find_template
from laoke.messaging.purposes import BIRTHDAY, HOLIDAY, STAFF_DIGEST
from laoke.messaging.scheduler import Job, register
from laoke.tenancy.service import OrgInfo
from laoke.web.i18n import translations

CHUNK = 500
RETENTION_DAYS = 180


def local_today(now: datetime, timezone: str) -> date:
    return now.astimezone(ZoneInfo(timezone)).date()


def _month_days(day: date) -> list[tuple[int, int]]:
    days = [(day.month, day.day)]
    if (day.month, day.day) == (2, 28) and not calendar.isleap(day.year):
        days.append((2, 29))  # leap-day birthdays are celebrated on 28 February
    return days


def _birthday_condition(days: list[tuple[int, int]]) -> ColumnElement[bool]:
    return or_(
        *(
            and_(extract("month", Customer.birthday) == m, extract("day", Customer.birthday) == d)
            for m, d in days
        )
    )


def _consenting(org_id: int) -> Select[tuple[Customer]]:
    return select(Customer).where(
        Customer.org_id == org_id,
        Customer.merged_into_id.is_(None),
        Customer.erased_at.is_(None),
        Customer.marketing_consent.is_(True),
    )


def _in_chunks(
    database: Database, query: Select[tuple[Customer]], send: Callable[[Session, Customer], bool]
) -> int:
    """Walk the customers by id, one committed unit of work per chunk."""
    done, cursor = 0, 0
    while True:
        with database.unit_of_work() as session:
            chunk = list(
                session.scalars(
                    query.where(Customer.id > cursor).order_by(Customer.id).limit(CHUNK)
                )
            )
            for customer in chunk:
                done += send(session, customer)
            session.commit()
        if len(chunk) < CHUNK:
            return done
        cursor = chunk[-1].id


def birthday_greetings(database: Database, org: OrgInfo, now: datetime) -> int:
    today = local_today(now, org.timezone)
    with database.unit_of_work(write=False) as session:
        template = find_template(session, org.id, BIRTHDAY.name)
        template_id = template.id if template is not None else None
        coupon = preferences.load(session, org.id).birthday_coupon
    if template_id is None:
        return 0
    query = _consenting(org.id).where(
        Customer.birthday.is_not(None), _birthday_condition(_month_days(today))
    )

    def send(session: Session, customer: Customer) -> bool:
        return enqueue(
            session,
            org_id=org.id,
            purpose=BIRTHDAY.name,
            key=f"birthday:{customer.id}:{today.isoformat()}",
            template=session.get(MessageTemplate, template_id),
            customer=customer,
            variables={"coupon": coupon},
            now=now,
        ).created

    return _in_chunks(database, query, send)


def holiday_greetings(database: Database, org: OrgInfo, now: datetime) -> int:
    today = local_today(now, org.timezone)
    with database.unit_of_work(write=False) as session:
        holidays = session.execute(
            select(Holiday.id, Holiday.name, Holiday.template_id).where(
                Holiday.org_id == org.id, Holiday.on_date == today
            )
        ).all()
    done = 0
    for holiday_id, name, template_id in holidays:
        done += _in_chunks(
            database,
            _consenting(org.id),
            lambda session, customer, h=(holiday_id, name, template_id): (
                enqueue(
                    session,
                    org_id=org.id,
                    purpose=HOLIDAY.name,
                    key=f"holiday:{h[0]}:{customer.id}",
                    template=session.get(MessageTemplate, h[2]),
                    customer=customer,
                    variables={"holiday_name": h[1]},
                    now=now,
                ).created
            ),
        )
    return done


# --- digests to staff ---------------------------------------------------------------------


@dataclass(frozen=True)
class Digest:
    subject: str
    body: str


DigestBuilder = Callable[[Session, OrgInfo, User, date], Digest | None]


def staff_digest_job(
    name: str,
    build: DigestBuilder,
    *,
    daily_at: str = "08:00",
    roles: tuple[Role, ...] | None = None,
    description: str = "",
) -> Job:
    """A job that emails each active staff member (of `roles`) what `build` returns for
    them that day; None skips a person. Example: engagement's "your Today" list."""

    def run(database: Database, org: OrgInfo, now: datetime) -> int:
        today = local_today(now, org.timezone)
        sent = 0
        with database.unit_of_work() as session:
            channel = channel_for(session, org.id, ChannelKind.SMTP)
            if channel is None:
                return 0
            query = select(User).where(User.org_id == org.id, User.is_active.is_(True))
            if roles:
                query = query.where(User.role.in_(roles))
            for user in session.scalars(query.order_by(User.id)):
                digest = build(session, org, user, today)
                if digest is None:
                    continue
                sent += enqueue_text(
                    session,
                    org_id=org.id,
                    purpose=STAFF_DIGEST.name,
                    key=f"digest:{name}:{user.id}:{today.isoformat()}",
                    channel=channel,
                    recipient=user.email,
                    subject=digest.subject,
                    body=digest.body,
                    language=user.language or org.default_language,
                    user_id=user.id,
                    now=now,
                ).created
            session.commit()
        return sent

    return Job(name, run, daily_at=daily_at, description=description)


def undelivered_digest(session: Session, org: OrgInfo, user: User, today: date) -> Digest | None:
    """Yesterday's messages that failed or went dead, by purpose, for owners and admins."""
    zone = ZoneInfo(org.timezone)
    start = datetime.combine(today - timedelta(days=1), datetime.min.time(), tzinfo=zone)
    rows = session.execute(
        select(OutboxMessage.purpose, func.count())
        .where(
            OutboxMessage.org_id == org.id,
            OutboxMessage.status.in_([MessageStatus.FAILED, MessageStatus.DEAD]),
            OutboxMessage.updated_at >= start,
            OutboxMessage.updated_at < start + timedelta(days=1),
        )
        .group_by(OutboxMessage.purpose)
    ).all()
    if not rows:
        return None
    gettext = translations(user.language or org.default_language).gettext
    lines = [f"- {purpose}: {count}" for purpose, count in rows]
    return Digest(
        gettext(N_("Messages that did not go out yesterday")),
        "\n".join([*lines, "", gettext(N_("Retry or cancel them on the dead letters page."))]),
    )


def outbox_retention(database: Database, org: OrgInfo, now: datetime) -> int:
    """Finished messages older than 180 days keep their row (history, idempotency) but
    lose their text and address; scheduled-run rows older than 30 days go."""
    with database.unit_of_work() as session:
        scrubbed = session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.org_id == org.id,
                OutboxMessage.status.not_in([MessageStatus.QUEUED, MessageStatus.SENDING]),
                OutboxMessage.created_at < now - timedelta(days=RETENTION_DAYS),
                OutboxMessage.body != "",
            )
            .values(recipient="(expired)", subject=None, body="", meta={})
        ).rowcount  # type: ignore[attr-defined]
        session.execute(
            ScheduledRun.__table__.delete().where(
                ScheduledRun.org_id == org.id, ScheduledRun.started_at < now - timedelta(days=30)
            )
        )
        session.commit()
    return scrubbed


def register_jobs() -> None:
    register(Job("care.birthday", birthday_greetings, daily_at="09:00"))
    register(Job("care.holiday", holiday_greetings, daily_at="09:30"))
    register(
        staff_digest_job(
            "messaging.undelivered_digest",
            undelivered_digest,
            daily_at="08:30",
            roles=(Role.OWNER, Role.ADMIN),
        )
    )
    register(Job("messaging.retention", outbox_retention, daily_at="03:30"))


# --- the care calendar, for pages -------------------------------------------------------


def list_holidays(session: Session, actor: Actor) -> list[Holiday]:
    actor.require(Permission.SEE_ALL_CUSTOMERS)
    return list(
        session.scalars(
            select(Holiday).where(Holiday.org_id == actor.org_id).order_by(Holiday.on_date)
        )
    )


def add_holiday(
    session: Session, actor: Actor, *, on_date: date, name: str, template_id: int
) -> Holiday:
    actor.require(Permission.SEND_MESSAGES)
    name = " ".join(name.split())
    if not name or len(name) > 100:
        raise Invalid(N_("A name of at most 100 characters is required."), field="name")
    template = session.get(MessageTemplate, template_id)
    if template is None or template.org_id != actor.org_id:
        raise NotFound(N_("No such template."), code="template_not_found")
    if template.purpose != HOLIDAY.name:
        raise Invalid(
            N_("Choose a template whose purpose is a holiday greeting."), field="template_id"
        )
    if session.scalar(
        select(Holiday.id).where(
            Holiday.org_id == actor.org_id,
            Holiday.on_date == on_date,
            Holiday.template_id == template_id,
        )
    ):
        raise Conflict(N_("This greeting is already on that date."), code="duplicate_holiday")
    holiday = Holiday(org_id=actor.org_id, on_date=on_date, name=name, template_id=template_id)
    session.add(holiday)
    session.commit()
    return holiday


def remove_holiday(session: Session, actor: Actor, holiday_id: int) -> None:
    actor.require(Permission.SEND_MESSAGES)
    holiday = session.get(Holiday, holiday_id)
    if holiday is None or holiday.org_id != actor.org_id:
        raise NotFound(N_("No such date."), code="holiday_not_found")
    session.delete(holiday)
    session.commit()


@dataclass(frozen=True)
class UpcomingBirthday:
    day: date
    customer: Customer
    has_consent: bool
    will_greet: bool  # consent, an active birthday template and an address for its channel


def upcoming_birthdays(
    session: Session, actor: Actor, today: date, days: int = 7, limit: int = 100
) -> list[UpcomingBirthday]:
    actor.require(Permission.SEE_ALL_CUSTOMERS)
    dates = [today + timedelta(days=n) for n in range(days)]
    wanted = {md: d for d in dates for md in _month_days(d)}
    customers = session.scalars(
        select(Customer)
        .where(
            Customer.org_id == actor.org_id,
            Customer.merged_into_id.is_(None),
            Customer.erased_at.is_(None),
            Customer.birthday.is_not(None),
            _birthday_condition(list(wanted)),
        )
        .limit(limit * 2)
    )
    template = find_template(session, actor.org_id, BIRTHDAY.name)
    kind = ChannelKind(template.channel) if template is not None else None
    found = [
        UpcomingBirthday(
            wanted[(c.birthday.month, c.birthday.day)],
            c,
            c.marketing_consent,
            bool(c.marketing_consent and kind and address_of(kind, c, None)),
        )
        for c in customers
        if c.birthday is not None and (c.birthday.month, c.birthday.day) in wanted
    ]
    return sorted(found, key=lambda b: (b.day, b.customer.name))[:limit]
