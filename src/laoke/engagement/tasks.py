"""Tasks: things a staff member should do for a customer on a given day.

Every task has a `key` naming its cause (`follow_up:contact:7`, `repurchase:item:42`,
`win_back:customer:9:2026-12-04`), unique per tenant, so whatever creates tasks can run
again without creating a second one for the same cause.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from laoke.accounts.actor import Actor
from laoke.accounts.roles import Permission
from laoke.customers.service import get_customer_for
from laoke.db import utcnow
from laoke.engagement.models import Task, TaskKind, TaskStatus
from laoke.errors import N_, Conflict, NotFound


def open_task(
    session: Session,
    org_id: int,
    *,
    customer_id: int,
    assignee_id: int | None,
    kind: TaskKind,
    key: str,
    title: str,
    due_on: date,
    contact_id: int | None = None,
    order_item_id: int | None = None,
) -> bool:
    """Open a task unless one with this key exists (open or closed). True when it was new."""
    values = {
        "org_id": org_id,
        "customer_id": customer_id,
        "assignee_id": assignee_id,
        "kind": kind,
        "key": key,
        "title": title[:300],
        "due_on": due_on,
        "status": TaskStatus.OPEN,
        "contact_id": contact_id,
        "order_item_id": order_item_id,
        "created_at": utcnow(),
        "updated_at": utcnow(),
    }
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(Task)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["org_id", "key"])
        .returning(Task.id)
    )
    # RETURNING, not rowcount: an ORM-enabled insert reports no rowcount on psycopg.
    return session.execute(statement).scalar() is not None


def get_task_for(session: Session, actor: Actor, task_id: int) -> Task:
    """The task if its customer is visible to this actor, else NotFound."""
    task = session.get(Task, task_id) if 0 < task_id < 2**63 else None
    if task is None or task.org_id != actor.org_id:
        raise NotFound(N_("No such task."), code="task_not_found")
    get_customer_for(session, actor, task.customer_id)  # raises NotFound when not visible
    return task


def close_task(session: Session, actor: Actor, task_id: int, status: TaskStatus) -> Task:
    """Mark a task done or dismissed; closing a closed task is refused."""
    actor.require(Permission.EDIT_CUSTOMERS)
    task = get_task_for(session, actor, task_id)
    if status == TaskStatus.OPEN:
        raise Conflict(N_("A task can only be closed here."), code="task_status_invalid")
    if task.status != TaskStatus.OPEN:
        raise Conflict(N_("This task is already closed."), code="task_closed")
    task.status = status
    task.closed_at = utcnow()
    session.flush()
    return task


def open_tasks_for_customer(session: Session, org_id: int, customer_id: int) -> list[Task]:
    return list(
        session.scalars(
            select(Task)
            .where(
                Task.org_id == org_id,
                Task.customer_id == customer_id,
                Task.status == TaskStatus.OPEN,
            )
            .order_by(Task.due_on, Task.id)
        )
    )
