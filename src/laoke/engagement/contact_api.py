"""JSON API: the contact log, a customer's tasks, relationship stage and timeline."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from laoke.customers.service import get_customer_for
from laoke.engagement import contacts, relationship, timeline
from laoke.engagement.contact_schemas import (
    ContactChange,
    ContactCreate,
    ContactPage,
    ContactPublic,
    RelationshipStageChange,
    RelationshipStageResult,
    TaskPublic,
    TimelineEntryPublic,
    TimelinePublic,
)
from laoke.engagement.models import Contact, Task, TaskStatus
from laoke.engagement.tasks import close_task
from laoke.web.deps import ApiActor, CsrfProtected, SessionDep

router = APIRouter(prefix="/api/v1", tags=["contacts and tasks"], dependencies=[CsrfProtected])


def contact_public(
    session: Session, contact: Contact, follow_ups: dict[int, int] | None = None
) -> ContactPublic:
    if follow_ups is None:
        follow_ups = contacts.follow_up_task_ids(session, contact.org_id, [contact.id])
    return ContactPublic(
        id=contact.id,
        customer_id=contact.customer_id,
        staff_id=contact.staff_id,
        channel=contact.channel,
        direction=contact.direction,
        outcome=contact.outcome,
        occurred_at=contact.occurred_at,
        notes=contact.notes,
        next_step=contact.next_step,
        next_step_on=contact.next_step_on,
        follow_up_task_id=follow_ups.get(contact.id),
        created_at=contact.created_at,
    )


def task_public(task: Task) -> TaskPublic:
    return TaskPublic.model_validate(task, from_attributes=True)


@router.get(
    "/customers/{customer_id}/contacts",
    response_model=ContactPage,
    summary="A customer's contacts, newest first",
)
def list_contacts(
    session: SessionDep,
    actor: ApiActor,
    customer_id: int,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=200)] = 20,
) -> ContactPage:
    result = contacts.list_contacts(session, actor, customer_id, page=page, per_page=per_page)
    follow_ups = contacts.follow_up_task_ids(session, actor.org_id, [c.id for c in result.items])
    return ContactPage(
        items=[contact_public(session, c, follow_ups) for c in result.items],
        total=result.total,
        page=result.page,
        per_page=result.per_page,
        pages=result.pages,
    )


@router.post(
    "/customers/{customer_id}/contacts",
    response_model=ContactPublic,
    status_code=201,
    summary="Log a contact with a customer",
)
def log_contact(
    session: SessionDep, actor: ApiActor, customer_id: int, body: ContactCreate
) -> ContactPublic:
    contact = contacts.log_contact(session, actor, customer_id, body)
    session.commit()
    return contact_public(session, contact)


@router.patch(
    "/contacts/{contact_id}", response_model=ContactPublic, summary="Change a contact (24 hours)"
)
def change_contact(
    session: SessionDep, actor: ApiActor, contact_id: int, body: ContactChange
) -> ContactPublic:
    contact = contacts.change_contact(session, actor, contact_id, body)
    session.commit()
    return contact_public(session, contact)


@router.delete("/contacts/{contact_id}", status_code=204, summary="Delete a contact (24 hours)")
def delete_contact(session: SessionDep, actor: ApiActor, contact_id: int) -> Response:
    contacts.delete_contact(session, actor, contact_id)
    session.commit()
    return Response(status_code=204)


@router.get(
    "/customers/{customer_id}/tasks",
    response_model=list[TaskPublic],
    summary="A customer's tasks, soonest due first",
)
def list_tasks(
    session: SessionDep,
    actor: ApiActor,
    customer_id: int,
    status: TaskStatus | Literal["all"] = TaskStatus.OPEN,
) -> list[TaskPublic]:
    customer = get_customer_for(session, actor, customer_id)
    query = select(Task).where(Task.org_id == actor.org_id, Task.customer_id == customer.id)
    if status != "all":
        query = query.where(Task.status == status)
    rows = session.scalars(query.order_by(Task.due_on, Task.id).limit(500))
    return [task_public(task) for task in rows]


@router.post("/tasks/{task_id}/done", response_model=TaskPublic, summary="Mark a task done")
def task_done(session: SessionDep, actor: ApiActor, task_id: int) -> TaskPublic:
    task = close_task(session, actor, task_id, TaskStatus.DONE)
    session.commit()
    return task_public(task)


@router.post("/tasks/{task_id}/dismiss", response_model=TaskPublic, summary="Dismiss a task")
def task_dismiss(session: SessionDep, actor: ApiActor, task_id: int) -> TaskPublic:
    task = close_task(session, actor, task_id, TaskStatus.DISMISSED)
    session.commit()
    return task_public(task)


@router.put(
    "/customers/{customer_id}/relationship-stage",
    response_model=RelationshipStageResult,
    summary="Set a customer's relationship stage",
)
def set_relationship_stage(
    session: SessionDep, actor: ApiActor, customer_id: int, body: RelationshipStageChange
) -> RelationshipStageResult:
    changed = relationship.set_relationship_stage(
        session, actor, customer_id, body.stage, reason=body.reason
    )
    session.commit()
    customer = get_customer_for(session, actor, customer_id)
    return RelationshipStageResult(
        customer_id=customer.id, stage=customer.relationship_stage, changed=changed
    )


@router.get(
    "/customers/{customer_id}/timeline",
    response_model=TimelinePublic,
    summary="A customer's timeline, newest first",
)
def customer_timeline(
    session: SessionDep,
    actor: ApiActor,
    customer_id: int,
    before: Annotated[str | None, Query(max_length=80)] = None,
    limit: Annotated[int, Query(ge=1, le=timeline.MAX_LIMIT)] = 20,
) -> TimelinePublic:
    page = timeline.customer_timeline(session, actor, customer_id, before=before, limit=limit)
    return TimelinePublic(
        items=[
            TimelineEntryPublic(kind=e.kind, at=e.at, ref_id=e.ref_id, data=e.data)
            for e in page.items
        ],
        next_before=page.next_before,
    )
