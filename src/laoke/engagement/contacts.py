"""The contact log: every touch with a customer, the follow-up it promises, and the
contact count (接触次数) on the customer's figures, kept current as contacts come and go.

Rules: only someone who may edit the customer logs a contact; a contact is changed or
deleted by its author or a manager (SEE_ALL_CUSTOMERS), and only within EDIT_WINDOW of
being logged, so the log stays a record rather than a draft. These functions never commit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from laoke.accounts.actor import Actor
from laoke.accounts.roles import Permission
from laoke.customers.models import Customer
from laoke.customers.service import get_customer_for
from laoke.db import utcnow
from laoke.engagement.contact_schemas import ContactChange, ContactCreate
from laoke.engagement.models import Contact, CustomerFigures, Task, TaskKind, TaskStatus
from laoke.engagement.tasks import close_task, open_task
from laoke.errors import N_, Conflict, Invalid, NotFound, PermissionDenied
from laoke.events.bus import emit
from laoke.tenancy.models import Org

EDIT_WINDOW = timedelta(hours=24)
# Phones and servers disagree on the time by a little; a contact "in a minute" is fine.
FUTURE_TOLERANCE = timedelta(minutes=5)
EARLIEST_CONTACT = datetime(2000, 1, 1, tzinfo=UTC)
NEXT_STEP_YEARS = 2
# Tasks a contact can settle on the way ("this also completes: …").
SETTLED_BY_CONTACT = (TaskKind.FOLLOW_UP, TaskKind.CALLBACK)


def follow_up_key(contact_id: int) -> str:
    return f"follow_up:contact:{contact_id}"


def tenant_today(session: Session, org_id: int) -> date:
    """Today's date where the tenant is."""
    org = session.get(Org, org_id)
    timezone = org.timezone if org is not None else "Asia/Shanghai"
    return utcnow().astimezone(ZoneInfo(timezone)).date()


def _years_later(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _check_occurred_at(when: datetime) -> datetime:
    if when.tzinfo is None:
        raise Invalid(N_("Give the time with its time zone."), field="occurred_at")
    when = when.astimezone(UTC)
    if when > utcnow() + FUTURE_TOLERANCE:
        raise Invalid(N_("A contact cannot be in the future."), field="occurred_at")
    if when < EARLIEST_CONTACT:
        raise Invalid(N_("A contact cannot be before the year 2000."), field="occurred_at")
    return when


def _check_next_step_on(session: Session, org_id: int, day: date) -> date:
    today = tenant_today(session, org_id)
    if day < today:
        raise Invalid(N_("The next step cannot be in the past."), field="next_step_on")
    if day > _years_later(today, NEXT_STEP_YEARS):
        raise Invalid(
            N_("The next step can be at most %(n)s years ahead."),
            field="next_step_on",
            n=NEXT_STEP_YEARS,
        )
    return day


# --- the customer's figures --------------------------------------------------------------


def _insert_for(session: Session):  # noqa: ANN202 - the dialect's insert construct
    dialect = session.get_bind().dialect.name
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


def _count_contact(session: Session, org_id: int, customer_id: int, at: datetime) -> None:
    """One more contact on the customer's figures row, created when it is missing."""
    table = CustomerFigures.__table__
    statement = _insert_for(session)(table).values(
        org_id=org_id, customer_id=customer_id, contact_count=1, last_contact_at=at
    )
    statement = statement.on_conflict_do_update(
        index_elements=["org_id", "customer_id"],
        set_={
            "contact_count": table.c.contact_count + 1,
            "last_contact_at": case(
                (table.c.last_contact_at.is_(None), statement.excluded.last_contact_at),
                (
                    table.c.last_contact_at < statement.excluded.last_contact_at,
                    statement.excluded.last_contact_at,
                ),
                else_=table.c.last_contact_at,
            ),
        },
    )
    session.execute(statement)


def recount_contacts(session: Session, org_id: int, customer_id: int) -> None:
    """Set the contact count and last contact from the log itself."""
    count, last = session.execute(
        select(func.count(Contact.id), func.max(Contact.occurred_at)).where(
            Contact.org_id == org_id, Contact.customer_id == customer_id
        )
    ).one()
    if isinstance(last, str):  # SQLite's max() over a text column bypasses the column type
        last = datetime.fromisoformat(last)
    if last is not None and last.tzinfo is None:
        last = last.replace(tzinfo=UTC)
    table = CustomerFigures.__table__
    statement = _insert_for(session)(table).values(
        org_id=org_id, customer_id=customer_id, contact_count=count, last_contact_at=last
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["org_id", "customer_id"],
            set_={"contact_count": count, "last_contact_at": last},
        )
    )


# --- tasks a contact opens or settles ----------------------------------------------------


def follow_up_task(session: Session, contact: Contact) -> Task | None:
    return session.scalar(
        select(Task).where(Task.org_id == contact.org_id, Task.key == follow_up_key(contact.id))
    )


def follow_up_task_ids(session: Session, org_id: int, contact_ids: list[int]) -> dict[int, int]:
    """contact id → id of the follow-up task it opened, for a page of contacts at once."""
    if not contact_ids:
        return {}
    keys = [follow_up_key(contact_id) for contact_id in contact_ids]
    rows = session.execute(
        select(Task.contact_id, Task.id).where(Task.org_id == org_id, Task.key.in_(keys))
    ).all()
    return {contact_id: task_id for contact_id, task_id in rows if contact_id is not None}


def _follow_up_title(contact: Contact) -> str:
    return contact.next_step or contact.notes or ""


def _sync_follow_up(session: Session, actor: Actor, customer: Customer, contact: Contact) -> None:
    """The contact's promised next step as one FOLLOW_UP task: opened once, moved when the
    date changes, dismissed when the promise is taken back."""
    task = follow_up_task(session, contact)
    if contact.next_step_on is None:
        if task is not None and task.status == TaskStatus.OPEN:
            task.status = TaskStatus.DISMISSED
            task.closed_at = utcnow()
        return
    if task is None:
        open_task(
            session,
            contact.org_id,
            customer_id=customer.id,
            assignee_id=customer.owner_id or actor.user_id,
            kind=TaskKind.FOLLOW_UP,
            key=follow_up_key(contact.id),
            title=_follow_up_title(contact),
            due_on=contact.next_step_on,
            contact_id=contact.id,
        )
    elif task.status == TaskStatus.OPEN:
        task.due_on = contact.next_step_on
        task.title = _follow_up_title(contact)[:300]
        task.updated_at = utcnow()


def _complete_tasks(session: Session, actor: Actor, customer_id: int, task_ids: list[int]) -> None:
    for task_id in dict.fromkeys(task_ids):
        task = session.get(Task, task_id)
        if task is None or task.org_id != actor.org_id or task.customer_id != customer_id:
            raise Invalid(
                N_("Only this customer's own tasks can be completed here."), field="complete_task"
            )
        close_task(session, actor, task_id, TaskStatus.DONE)


# --- commands ----------------------------------------------------------------------------


def get_contact_for(session: Session, actor: Actor, contact_id: int) -> Contact:
    """The contact if its customer is visible to this actor, else NotFound."""
    contact = session.get(Contact, contact_id)
    if contact is None or contact.org_id != actor.org_id:
        raise NotFound(N_("No such contact."), code="contact_not_found")
    try:
        get_customer_for(session, actor, contact.customer_id)
    except NotFound:
        raise NotFound(N_("No such contact."), code="contact_not_found") from None
    return contact


def log_contact(session: Session, actor: Actor, customer_id: int, data: ContactCreate) -> Contact:
    """Record a touch with the customer; open the promised follow-up; count it."""
    customer = get_customer_for(session, actor, customer_id, edit=True)
    occurred_at = _check_occurred_at(data.occurred_at) if data.occurred_at else utcnow()
    if data.next_step_on is not None:
        _check_next_step_on(session, actor.org_id, data.next_step_on)
    contact = Contact(
        org_id=actor.org_id,
        customer_id=customer.id,
        staff_id=actor.user_id,
        channel=data.channel,
        direction=data.direction,
        outcome=data.outcome,
        occurred_at=occurred_at,
        notes=data.notes,
        next_step=data.next_step,
        next_step_on=data.next_step_on,
    )
    session.add(contact)
    session.flush()
    _sync_follow_up(session, actor, customer, contact)
    _complete_tasks(session, actor, customer.id, data.complete_task_ids)
    _count_contact(session, actor.org_id, customer.id, occurred_at)
    emit(
        session,
        actor.org_id,
        "contact.logged",
        subject_type="contact",
        subject_id=contact.id,
        payload={"contact_id": contact.id, "customer_id": customer.id, "channel": contact.channel},
    )
    return contact


def _editable_contact(session: Session, actor: Actor, contact_id: int) -> tuple[Contact, Customer]:
    contact = get_contact_for(session, actor, contact_id)
    customer = get_customer_for(session, actor, contact.customer_id, edit=True)
    if contact.staff_id != actor.user_id and not actor.can(Permission.SEE_ALL_CUSTOMERS):
        raise PermissionDenied(N_("Only the author or a manager can change a contact."))
    if utcnow() - contact.created_at > EDIT_WINDOW:
        raise Conflict(
            N_("A contact can only be changed within 24 hours of being logged."),
            code="contact_locked",
        )
    return contact, customer


def can_change(actor: Actor, contact: Contact) -> bool:
    """Whether the page should offer to change or delete this contact."""
    return (
        actor.can(Permission.EDIT_CUSTOMERS)
        and (contact.staff_id == actor.user_id or actor.can(Permission.SEE_ALL_CUSTOMERS))
        and utcnow() - contact.created_at <= EDIT_WINDOW
    )


def change_contact(session: Session, actor: Actor, contact_id: int, data: ContactChange) -> Contact:
    """Change the fields given (PATCH); the follow-up task and the figures follow."""
    contact, customer = _editable_contact(session, actor, contact_id)
    given = data.model_fields_set
    for name in ("channel", "direction", "outcome"):
        value = getattr(data, name)
        if name in given and value is not None:
            setattr(contact, name, value)
    moved = False
    if "occurred_at" in given and data.occurred_at is not None:
        contact.occurred_at = _check_occurred_at(data.occurred_at)
        moved = True
    if "notes" in given:
        contact.notes = data.notes
    if "next_step" in given:
        contact.next_step = data.next_step
    if "next_step_on" in given:
        if data.next_step_on is not None and data.next_step_on != contact.next_step_on:
            _check_next_step_on(session, actor.org_id, data.next_step_on)
        contact.next_step_on = data.next_step_on
    contact.updated_at = utcnow()
    session.flush()
    _sync_follow_up(session, actor, customer, contact)
    _complete_tasks(session, actor, customer.id, data.complete_task_ids)
    if moved:
        recount_contacts(session, actor.org_id, customer.id)
    return contact


def delete_contact(session: Session, actor: Actor, contact_id: int) -> int:
    """Remove a contact logged by mistake; its open follow-up is dismissed. The customer id."""
    contact, customer = _editable_contact(session, actor, contact_id)
    task = follow_up_task(session, contact)
    if task is not None and task.status == TaskStatus.OPEN:
        task.status = TaskStatus.DISMISSED
        task.closed_at = utcnow()
    session.delete(contact)
    session.flush()
    recount_contacts(session, actor.org_id, customer.id)
    return customer.id


# --- queries -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ContactList:
    items: list[Contact]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))


def list_contacts(
    session: Session, actor: Actor, customer_id: int, *, page: int = 1, per_page: int = 20
) -> ContactList:
    """The customer's contacts, newest first."""
    customer = get_customer_for(session, actor, customer_id)
    per_page = min(max(per_page, 1), 200)
    page = max(page, 1)
    scope = (Contact.org_id == actor.org_id, Contact.customer_id == customer.id)
    total = session.scalar(select(func.count()).select_from(Contact).where(*scope)) or 0
    items = session.scalars(
        select(Contact)
        .where(*scope)
        .order_by(Contact.occurred_at.desc(), Contact.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return ContactList(list(items), total, page, per_page)


def settleable_tasks(session: Session, org_id: int, customer_id: int) -> list[Task]:
    """The customer's open follow-ups and call-backs a contact can complete, soonest first."""
    return list(
        session.scalars(
            select(Task)
            .where(
                Task.org_id == org_id,
                Task.customer_id == customer_id,
                Task.status == TaskStatus.OPEN,
                Task.kind.in_(SETTLED_BY_CONTACT),
            )
            .order_by(Task.due_on, Task.id)
            .limit(20)
        )
    )


# --- what other domains call -------------------------------------------------------------


def forget_contact_text(session: Session, org_id: int, customer_id: int) -> None:
    """Erasure: the customer's contacts and tasks keep their dates and kinds, lose their text."""
    session.execute(
        update(Contact)
        .where(Contact.org_id == org_id, Contact.customer_id == customer_id)
        .values(notes=None, next_step=None)
    )
    session.execute(
        update(Task).where(Task.org_id == org_id, Task.customer_id == customer_id).values(title="")
    )


def recount_after_merge(session: Session, org_id: int, retired_id: int, kept_id: int) -> None:
    """Merge: the kept customer's contact count now includes the retired one's contacts."""
    recount_contacts(session, org_id, kept_id)


def install_hooks() -> None:
    from laoke.customers.erasure import ERASURE_HOOKS
    from laoke.customers.merge import MERGE_HOOKS

    if forget_contact_text not in ERASURE_HOOKS:
        ERASURE_HOOKS.append(forget_contact_text)
    if recount_after_merge not in MERGE_HOOKS:
        MERGE_HOOKS.append(recount_after_merge)
