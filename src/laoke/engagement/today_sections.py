"""The Today list's four sections as SQL: each one query returning a page of rows, the
section's total (a window count) and whose item each row is, so the lists of one staff
member, of the whole team and the counts per staff member share the same definitions."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, String, and_, case, cast, exists, func, select
from sqlalchemy.orm import Session, aliased

from laoke.accounts.actor import Actor
from laoke.accounts.roles import Permission
from laoke.customers.models import Customer
from laoke.engagement.cadence import (
    day_number,
    overdue_columns,
    utc_literal,
    value_tier_column,
)
from laoke.engagement.models import (
    TASK_KIND_LABELS,
    Contact,
    CustomerFigures,
    Task,
    TaskKind,
    TaskStatus,
)
from laoke.engagement.today_items import (
    BIRTHDAY_DAYS,
    PROMISE_LOOKBACK_DAYS,
    TIER_WEIGHT,
    Section,
    SectionPage,
    TodayItem,
    When,
    Window,
)
from laoke.errors import N_


def _visible(actor: Actor) -> list[ColumnElement[bool]]:
    conditions = [
        Customer.org_id == actor.org_id,
        Customer.merged_into_id.is_(None),
        Customer.erased_at.is_(None),
    ]
    if not actor.can(Permission.SEE_ALL_CUSTOMERS):
        conditions.append(Customer.owner_id == actor.user_id)
    return conditions


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _with_figures(query: Select[Any]) -> Select[Any]:
    return query.outerjoin(
        CustomerFigures,
        and_(CustomerFigures.org_id == Customer.org_id, CustomerFigures.customer_id == Customer.id),
    )


def _weight() -> ColumnElement[float]:
    tier = value_tier_column()
    return case(*((tier == t.value, w) for t, w in TIER_WEIGHT.items()), else_=1.0)


def _spent() -> ColumnElement[Decimal]:
    return func.coalesce(CustomerFigures.total_spent, 0)


def _customer_columns() -> tuple[ColumnElement[Any], ...]:
    return (
        Customer.id,
        Customer.name,
        Customer.owner_id,
        value_tier_column(),
        _spent(),
        func.count().over(),
    )


def task_person() -> ColumnElement[int | None]:
    """Whose task: its assignee, or the customer's owner while it has none."""
    return func.coalesce(Task.assignee_id, Customer.owner_id)


def promise_person() -> ColumnElement[int | None]:
    """Who promised: the staff member who logged the contact, else the customer's owner."""
    return func.coalesce(Contact.staff_id, Customer.owner_id)


# --- the sections ---------------------------------------------------------------------------


def _page(section: Section, rows: list[Any], items: list[TodayItem], window: Window) -> SectionPage:
    total = rows[0][5] if rows else 0
    return SectionPage(section, items, int(total), window.page, window.per_page)


def _base_item(row: Any, section: Section) -> dict[str, Any]:
    return {
        "section": section,
        "customer_id": row[0],
        "customer_name": row[1],
        "owner_id": row[2],
        "value_tier": row[3],
        "total_spent": Decimal(row[4] or 0),
    }


Query = tuple[Select[Any], ColumnElement[Any]]  # a section's rows and whose item each is


def overdue_query(session: Session, actor: Actor, when: When, staff_id: int | None) -> Query:
    """Each customer's gap and last contact are worked out once, in a materialised CTE, so
    the filter, the urgency order and the count reuse them instead of re-evaluating the
    rule CASE (and its tag lookups) per use."""
    columns = overdue_columns(when.rules, actor.org_id, when.today, when.timezone)
    inner = _with_figures(
        select(
            Customer.id.label("id"),
            Customer.name.label("name"),
            Customer.owner_id.label("owner_id"),
            value_tier_column().label("tier"),
            _spent().label("spent"),
            columns.gap_days.label("gap"),
            columns.last_contact_at.label("last_contact_at"),
        )
    ).where(*_visible(actor))
    for join in columns.joins:
        inner = inner.outerjoin(join.table, join.onclause)
    if staff_id is not None:
        inner = inner.where(Customer.owner_id == staff_id)
    base = inner.cte("cadence_base").prefix_with("MATERIALIZED")
    dialect = session.get_bind().dialect.name
    elapsed = day_number(utc_literal(when.now), dialect) - day_number(
        base.c.last_contact_at, dialect
    )
    weight = case({t.value: w for t, w in TIER_WEIGHT.items()}, value=base.c.tier, else_=1.0)
    urgency = (elapsed - base.c.gap) / base.c.gap * weight
    is_overdue = columns.is_overdue(base.c.gap, base.c.last_contact_at)
    # A second scan of the materialised rows counts them far cheaper than a window count.
    total = select(func.count()).select_from(base).where(is_overdue).scalar_subquery()
    query = (
        select(
            base.c.id,
            base.c.name,
            base.c.owner_id,
            base.c.tier,
            base.c.spent,
            total,
            base.c.gap,
            base.c.last_contact_at,
        )
        .where(is_overdue)
        .order_by(urgency.desc(), base.c.spent.desc(), base.c.id)
    )
    return query, base.c.owner_id


def _rows(session: Session, built: Query, staff_id: int | None, w: Window) -> list[Any]:
    query, person = built
    if staff_id is not None:
        query = query.where(person == staff_id)
    return list(session.execute(query.limit(w.per_page).offset(w.offset)).all())


def _overdue(
    session: Session, actor: Actor, staff_id: int | None, when: When, w: Window
) -> SectionPage:
    today, tz = when.today, when.timezone
    rows = _rows(session, overdue_query(session, actor, when, staff_id), staff_id, w)
    items = []
    for row in rows:
        gap, last = row[6], row[7]
        since = (today - last.astimezone(ZoneInfo(tz)).date()).days
        items.append(
            TodayItem(
                **_base_item(row, Section.OVERDUE),
                why=N_("No contact for %(days)s days; the cadence is every %(gap)s days."),
                why_params={"days": since, "gap": gap},
                days_late=since - gap,
            )
        )
    return _page(Section.OVERDUE, rows, items, w)


def tasks_query(actor: Actor, today: date) -> Query:
    query = (
        _with_figures(
            select(*_customer_columns(), Task.id, Task.kind, Task.title, Task.due_on)
            .select_from(Task)
            .join(Customer, and_(Customer.id == Task.customer_id, Customer.org_id == Task.org_id))
        )
        .where(
            Task.org_id == actor.org_id,
            Task.status == TaskStatus.OPEN,
            Task.due_on <= today,
            *_visible(actor),
        )
        .order_by(Task.due_on, _weight().desc(), _spent().desc(), Task.id)
    )
    return query, task_person()


def _tasks(
    session: Session, actor: Actor, staff_id: int | None, when: When, w: Window
) -> SectionPage:
    today = when.today
    rows = _rows(session, tasks_query(actor, today), staff_id, w)
    items = []
    for row in rows:
        task_id, kind, title, due_on = row[6], TaskKind(row[7]), row[8], row[9]
        late = (today - due_on).days
        message = (
            N_("%(kind)s: %(title)s (due today)")
            if late == 0
            else N_("%(kind)s: %(title)s (%(late)s days late)")
        )
        items.append(
            TodayItem(
                **_base_item(row, Section.TASKS),
                why=message,
                why_params={"kind": TASK_KIND_LABELS[kind], "title": title, "late": late},
                days_late=late,
                task_id=task_id,
                task_kind=kind,
                due_on=due_on,
            )
        )
    return _page(Section.TASKS, rows, items, w)


def birthday_days(today: date, days: int = BIRTHDAY_DAYS) -> dict[tuple[int, int], int]:
    """(month, day) → days from today, for the next `days` days. 29 February birthdays are
    kept on 28 February in common years."""
    found: dict[tuple[int, int], int] = {}
    for offset in range(days):
        day = today + timedelta(days=offset)
        found.setdefault((day.month, day.day), offset)
        if (day.month, day.day) == (2, 28) and (day + timedelta(days=1)).month == 3:
            found.setdefault((2, 29), offset)
    return found


def month_day(dialect: str) -> ColumnElement[str]:
    """The birthday as 'MM-DD' text: one cheap string per row instead of date parts."""
    if dialect == "postgresql":
        return func.to_char(Customer.birthday, "MM-DD")
    return func.substr(Customer.birthday, 6, 5)  # SQLite keeps dates as 'YYYY-MM-DD'


def birthdays_query(actor: Actor, today: date, dialect: str) -> Query:
    days = {f"{m:02d}-{d:02d}": offset for (m, d), offset in birthday_days(today).items()}
    md = month_day(dialect)
    offset = case(days, value=md, else_=None)
    query = (
        _with_figures(select(*_customer_columns(), offset))
        .where(*_visible(actor), Customer.birthday.is_not(None), md.in_(list(days)))
        .order_by(offset, _weight().desc(), _spent().desc(), Customer.id)
    )
    return query, Customer.owner_id


def _birthdays(
    session: Session, actor: Actor, staff_id: int | None, when: When, w: Window
) -> SectionPage:
    today = when.today
    rows = _rows(session, birthdays_query(actor, today, _dialect(session)), staff_id, w)
    items = []
    for row in rows:
        day = today + timedelta(days=int(row[6]))
        message = N_("Birthday today") if row[6] == 0 else N_("Birthday on %(day)s")
        items.append(
            TodayItem(
                **_base_item(row, Section.BIRTHDAYS),
                why=message,
                why_params={"day": day.strftime("%m-%d")} if row[6] else {},
                due_on=day,
            )
        )
    return _page(Section.BIRTHDAYS, rows, items, w)


def promises_query(actor: Actor, today: date) -> Query:
    later = aliased(Contact)
    contacted_since = exists().where(
        later.org_id == actor.org_id,
        later.customer_id == Contact.customer_id,
        later.occurred_at > Contact.occurred_at,
    )
    has_task = exists().where(
        Task.org_id == actor.org_id, Task.key == "follow_up:contact:" + cast(Contact.id, String)
    )
    return (
        _with_figures(
            select(*_customer_columns(), Contact.id, Contact.next_step, Contact.next_step_on)
            .select_from(Contact)
            .join(
                Customer,
                and_(Customer.id == Contact.customer_id, Customer.org_id == Contact.org_id),
            )
        )
        .where(
            Contact.org_id == actor.org_id,
            Contact.next_step_on <= today,
            Contact.next_step_on >= today - timedelta(days=PROMISE_LOOKBACK_DAYS),
            ~contacted_since,
            ~has_task,
            *_visible(actor),
        )
        .order_by(Contact.next_step_on, _weight().desc(), _spent().desc(), Contact.id)
    ), promise_person()


def _promises(
    session: Session, actor: Actor, staff_id: int | None, when: When, w: Window
) -> SectionPage:
    today = when.today
    rows = _rows(session, promises_query(actor, today), staff_id, w)
    items = []
    for row in rows:
        contact_id, next_step, due_on = row[6], row[7], row[8]
        late = (today - due_on).days
        items.append(
            TodayItem(
                **_base_item(row, Section.PROMISES),
                why=N_("Promised: %(step)s") if next_step else N_("Promised a follow-up"),
                why_params={"step": next_step} if next_step else {},
                days_late=late,
                due_on=due_on,
                contact_id=contact_id,
            )
        )
    return _page(Section.PROMISES, rows, items, w)


def page_of(
    session: Session,
    actor: Actor,
    section: Section,
    staff_id: int | None,
    when: When,
    window: Window,
) -> SectionPage:
    """One page of a section for one staff member (None: everyone the actor sees)."""
    build = {
        Section.OVERDUE: _overdue,
        Section.TASKS: _tasks,
        Section.BIRTHDAYS: _birthdays,
        Section.PROMISES: _promises,
    }[section]
    return build(session, actor, staff_id, when, window)


def section_queries(session: Session, actor: Actor, when: When) -> dict[Section, Query]:
    return {
        Section.OVERDUE: overdue_query(session, actor, when, None),
        Section.TASKS: tasks_query(actor, when.today),
        Section.BIRTHDAYS: birthdays_query(actor, when.today, _dialect(session)),
        Section.PROMISES: promises_query(actor, when.today),
    }
