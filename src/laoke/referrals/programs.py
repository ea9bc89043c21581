"""Referral programs: creating and editing them, which are running, who may share them."""

from __future__ import annotations

from datetime import date

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from laoke.accounts.actor import Actor
from laoke.accounts.roles import Permission
from laoke.customers.models import Customer
from laoke.db import utcnow
from laoke.errors import N_, Conflict, Invalid, NotFound
from laoke.messaging.care import local_today
from laoke.orders.models import Order, OrderStatus
from laoke.referrals.models import (
    Eligibility,
    ProgramStatus,
    QualifyingEvent,
    ReferralProgram,
)
from laoke.referrals.schemas import ProgramCreate, ProgramFields, ProgramUpdate
from laoke.tenancy.models import Org


def org_today(session: Session, org_id: int) -> date:
    org = session.get(Org, org_id)
    return local_today(utcnow(), org.timezone if org else "Asia/Shanghai")


def _check(program: ReferralProgram) -> None:
    if program.starts_on and program.ends_on and program.ends_on < program.starts_on:
        raise Invalid(N_("The program cannot end before it starts."), field="ends_on")
    if program.qualifying_event == QualifyingEvent.PURCHASE_AT_LEAST and (
        program.qualifying_amount is None or program.qualifying_amount <= 0
    ):
        raise Invalid(
            N_("Give the purchase amount that qualifies a referral."), field="qualifying_amount"
        )
    if program.eligibility == Eligibility.STAGES and not program.eligible_stages:
        raise Invalid(N_("Choose at least one lifecycle stage."), field="eligible_stages")
    if program.eligibility == Eligibility.TAGS and not program.eligible_tags:
        raise Invalid(N_("Give at least one tag."), field="eligible_tags")


def _apply(program: ReferralProgram, data: ProgramFields) -> None:
    for field, value in data.model_dump(exclude_unset=True).items():
        if value is None and field not in ("starts_on", "ends_on", "qualifying_amount"):
            continue
        if field == "name":
            value = value.strip()
        setattr(program, field, value)


def _flush_unique(session: Session) -> None:
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise Conflict(
            N_("A program with this name already exists."), code="duplicate_program", field="name"
        ) from None


def create_program(session: Session, actor: Actor, data: ProgramCreate) -> ReferralProgram:
    actor.require(Permission.MANAGE_SETTINGS)
    program = ReferralProgram(
        org_id=actor.org_id,
        name=data.name.strip(),
        status=ProgramStatus.ACTIVE,
        eligible_stages=[],
        eligible_tags=[],
        referrer_terms={},
        referee_terms={},
        created_by_id=actor.user_id,
    )
    _apply(program, data)
    _check(program)
    session.add(program)
    _flush_unique(session)
    return program


def get_program(session: Session, actor: Actor, program_id: int) -> ReferralProgram:
    program = session.get(ReferralProgram, program_id)
    if program is None or program.org_id != actor.org_id:
        raise NotFound(N_("No such referral program."), code="program_not_found")
    return program


def update_program(
    session: Session, actor: Actor, program_id: int, data: ProgramUpdate
) -> ReferralProgram:
    actor.require(Permission.MANAGE_SETTINGS)
    program = get_program(session, actor, program_id)
    _apply(program, data)
    _check(program)
    _flush_unique(session)
    return program


def list_programs(session: Session, org_id: int) -> list[ReferralProgram]:
    query = select(ReferralProgram).where(ReferralProgram.org_id == org_id)
    return list(session.scalars(query.order_by(ReferralProgram.id.desc())))


def is_running(program: ReferralProgram, today: date) -> bool:
    if program.status != ProgramStatus.ACTIVE:
        return False
    if program.starts_on and today < program.starts_on:
        return False
    return not (program.ends_on and today > program.ends_on)


def running_programs(session: Session, org_id: int) -> list[ReferralProgram]:
    today = org_today(session, org_id)
    query = select(ReferralProgram).where(
        ReferralProgram.org_id == org_id, ReferralProgram.status == ProgramStatus.ACTIVE
    )
    return [p for p in session.scalars(query.order_by(ReferralProgram.id)) if is_running(p, today)]


def has_purchased(session: Session, customer: Customer) -> bool:
    query = select(
        exists().where(
            Order.org_id == customer.org_id,
            Order.customer_id == customer.id,
            Order.status == OrderStatus.PAID,
        )
    )
    return bool(session.scalar(query))


def may_share(session: Session, program: ReferralProgram, customer: Customer) -> bool:
    """Whether this customer may refer friends to this program (eligibility only)."""
    if not customer.is_active or customer.org_id != program.org_id:
        return False
    match program.eligibility:
        case Eligibility.PURCHASED:
            return has_purchased(session, customer)
        case Eligibility.STAGES:
            return customer.lifecycle_stage in program.eligible_stages
        case Eligibility.TAGS:
            return bool(set(customer.tags) & set(program.eligible_tags))
    return True


def shareable_programs(session: Session, customer: Customer) -> list[ReferralProgram]:
    return [
        p for p in running_programs(session, customer.org_id) if may_share(session, p, customer)
    ]
