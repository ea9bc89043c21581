"""The lead pipeline: staff-entered referrals, status changes with history, owners and next
steps, linking a lead to a customer, and conversion detected from orders."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from laoke.accounts.actor import Actor
from laoke.accounts.models import User
from laoke.accounts.roles import Permission
from laoke.customers.models import Customer, CustomerPhone
from laoke.customers.phones import InvalidPhone, normalize_phone
from laoke.customers.service import get_customer_for
from laoke.db import utcnow
from laoke.errors import N_, Conflict, Invalid, NotFound
from laoke.events.models import DomainEvent
from laoke.orders.models import Order, OrderStatus
from laoke.referrals import attribution, codes, programs
from laoke.referrals.attribution import Origin, Referrer
from laoke.referrals.feedback import lead_changed
from laoke.referrals.models import (
    Attribution,
    LeadSource,
    LeadStatus,
    LeadStatusChange,
    ReferralLead,
    ReferralProgram,
)
from laoke.referrals.schemas import LeadCreate, LeadUpdate

OPEN_STATUSES = (LeadStatus.NEW, LeadStatus.CONTACTED, LeadStatus.VISITED)


def visible_leads(actor: Actor) -> Select[tuple[ReferralLead]]:
    """Leads this actor may see: own tenant; a salesperson sees the leads they own."""
    query = select(ReferralLead).where(ReferralLead.org_id == actor.org_id)
    if not actor.can(Permission.SEE_ALL_CUSTOMERS):
        query = query.where(ReferralLead.owner_id == actor.user_id)
    return query


def get_lead_for(
    session: Session, actor: Actor, lead_id: int, *, edit: bool = False
) -> ReferralLead:
    if edit:
        actor.require(Permission.EDIT_CUSTOMERS)
    lead = session.scalar(visible_leads(actor).where(ReferralLead.id == lead_id))
    if lead is None:
        raise NotFound(N_("No such referral lead."), code="lead_not_found")
    return lead


def list_leads(
    session: Session,
    actor: Actor,
    *,
    referrer_id: int | None = None,
    status: LeadStatus | None = None,
    owner_id: int | None = None,
    limit: int = 200,
) -> tuple[list[ReferralLead], int]:
    query = visible_leads(actor)
    if referrer_id is not None:
        query = query.where(ReferralLead.referrer_customer_id == referrer_id)
    if status is not None:
        query = query.where(ReferralLead.status == status)
    if owner_id is not None:
        query = query.where(ReferralLead.owner_id == owner_id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(ReferralLead.id.desc()).limit(limit))
    return list(rows), total


def history(session: Session, lead: ReferralLead) -> list[LeadStatusChange]:
    query = select(LeadStatusChange).where(
        LeadStatusChange.org_id == lead.org_id, LeadStatusChange.lead_id == lead.id
    )
    return list(session.scalars(query.order_by(LeadStatusChange.at, LeadStatusChange.id)))


def _record(
    session: Session,
    lead: ReferralLead,
    to: LeadStatus,
    *,
    by_id: int | None,
    reason: str | None = None,
    created: bool = False,
) -> None:
    previous = None if created else lead.status
    now = utcnow()
    lead.status = to
    lead.status_changed_at = now
    session.add(
        LeadStatusChange(
            org_id=lead.org_id,
            lead_id=lead.id,
            from_status=previous,
            to_status=to,
            reason=reason,
            changed_by_id=by_id,
            at=now,
        )
    )
    session.flush()
    lead_changed(session, lead, previous, created=created)


def record_new(session: Session, lead: ReferralLead, by_id: int | None) -> ReferralLead:
    """History and announcements for a lead `attribution.attribute()` just recorded."""
    _record(session, lead, LeadStatus.NEW, by_id=by_id, created=True)
    return lead


# --- staff-entered referrals --------------------------------------------------------------


def _staff_user(session: Session, org_id: int, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None or user.org_id != org_id or not user.is_active:
        raise Invalid(N_("No such staff member."), field="owner_id")
    return user


def _referrer_of(session: Session, actor: Actor, data: LeadCreate) -> tuple[Referrer, int | None]:
    if data.code:
        row = codes.resolve(session, data.code)
        if row is None or row.org_id != actor.org_id:
            raise NotFound(N_("No such invite code."), code="code_not_found", field="code")
        customer = session.get(Customer, row.customer_id) if row.customer_id else None
        user = session.get(User, row.user_id) if row.user_id else None
        return Referrer(actor.org_id, customer, user, row.id), row.program_id
    if data.referrer_customer_id is not None:
        customer = session.get(Customer, data.referrer_customer_id)
        if customer is None or customer.org_id != actor.org_id or not customer.is_active:
            raise NotFound(N_("No such customer."), code="customer_not_found")
        return Referrer(actor.org_id, customer=customer), None
    if data.referrer_user_id is not None:
        user = _staff_user(session, actor.org_id, data.referrer_user_id)
        return Referrer(actor.org_id, user=user), None
    raise Invalid(
        N_("Say who referred them: an invite code, a customer or a staff member."), field="code"
    )


def program_for(
    session: Session, referrer: Referrer, program_id: int | None
) -> ReferralProgram | None:
    """The program a new lead belongs to: the one asked for, else the first running one."""
    if program_id is not None:
        program = session.get(ReferralProgram, program_id)
        if program is None or program.org_id != referrer.org_id:
            raise NotFound(N_("No such referral program."), code="program_not_found")
        return program
    running = programs.running_programs(session, referrer.org_id)
    if referrer.customer is not None:
        running = [p for p in running if programs.may_share(session, p, referrer.customer)]
    return running[0] if running else None


def create_lead(
    session: Session, actor: Actor, data: LeadCreate, *, source: LeadSource = LeadSource.STAFF
) -> ReferralLead:
    """A referral staff or a shop reports: "who referred you?" answered by code or id."""
    actor.require(Permission.EDIT_CUSTOMERS)
    referrer, code_program = _referrer_of(session, actor, data)
    program = program_for(session, referrer, data.program_id or code_program)
    referee = attribution.clean_referee(data.name, data.phone, data.email, data.consent)
    owner_id = data.owner_id
    if owner_id is not None and owner_id != actor.user_id:
        actor.require(Permission.SEE_ALL_CUSTOMERS)
        _staff_user(session, actor.org_id, owner_id)
    if owner_id is None and not actor.can(Permission.SEE_ALL_CUSTOMERS):
        owner_id = actor.user_id  # a salesperson keeps what they enter
    origin = Origin(source, created_by_id=actor.user_id, owner_id=owner_id, notes=data.notes)
    lead = attribution.attribute(session, referrer, program, referee, origin)
    return record_new(session, lead, actor.user_id)


# --- moving a lead along ------------------------------------------------------------------


def _reopen(session: Session, lead: ReferralLead) -> None:
    if lead.attribution != Attribution.ATTRIBUTED or lead.referee_phone is None:
        return
    holder = session.scalar(
        select(ReferralLead).where(
            ReferralLead.org_id == lead.org_id,
            ReferralLead.attribution_key == lead.referee_phone,
        )
    )
    if holder is not None and holder.id != lead.id:
        raise Conflict(
            N_("Another referral now holds this friend; this lead cannot be reopened."),
            code="attribution_taken",
        )
    lead.attribution_key = lead.referee_phone


def change_status(
    session: Session,
    lead: ReferralLead,
    to: LeadStatus,
    *,
    by_id: int | None,
    reason: str | None = None,
) -> None:
    if to == lead.status:
        return
    if lead.status == LeadStatus.CONVERTED:
        raise Conflict(N_("A converted lead stays converted."), code="lead_converted")
    if to == LeadStatus.LOST:
        if not (reason or lead.lost_reason):
            raise Invalid(N_("Say why the lead was lost."), field="lost_reason")
        lead.lost_reason = reason or lead.lost_reason
        lead.attribution_key = None  # the friend may be referred again
    elif to == LeadStatus.CONVERTED:
        if lead.referee_customer_id is None:
            raise Invalid(
                N_("Link the lead to the customer it became first."), field="referee_customer_id"
            )
        lead.converted_at = lead.converted_at or utcnow()
    if lead.status == LeadStatus.LOST:
        _reopen(session, lead)
        lead.lost_reason = None if to != LeadStatus.LOST else lead.lost_reason
    _record(session, lead, to, by_id=by_id, reason=reason if to == LeadStatus.LOST else None)


def update_lead(session: Session, actor: Actor, lead_id: int, data: LeadUpdate) -> ReferralLead:
    lead = get_lead_for(session, actor, lead_id, edit=True)
    fields = data.model_dump(exclude_unset=True)
    if "owner_id" in fields and fields["owner_id"] != lead.owner_id:
        actor.require(Permission.SEE_ALL_CUSTOMERS)
        if fields["owner_id"] is not None:
            _staff_user(session, actor.org_id, fields["owner_id"])
        lead.owner_id = fields["owner_id"]
    for name in ("next_step", "next_step_on", "notes"):
        if name in fields:
            value = fields[name]
            setattr(lead, name, value.strip() or None if isinstance(value, str) else value)
    if fields.get("referee_customer_id") is not None:
        customer = get_customer_for(session, actor, fields["referee_customer_id"])
        lead.referee_customer_id = customer.id
    if fields.get("status") is not None:
        change_status(
            session, lead, fields["status"], by_id=actor.user_id, reason=fields.get("lost_reason")
        )
    elif fields.get("lost_reason") and lead.status == LeadStatus.LOST:
        lead.lost_reason = fields["lost_reason"]
    session.flush()
    return lead


# --- conversion from orders ---------------------------------------------------------------


def _is_first_paid_order(session: Session, customer_id: int, order: Order) -> bool:
    earlier = session.scalar(
        select(Order.id)
        .where(
            Order.org_id == order.org_id,
            Order.customer_id == customer_id,
            Order.status == OrderStatus.PAID,
            Order.id != order.id,
        )
        .limit(1)
    )
    return earlier is None


def _converting_lead(session: Session, customer: Customer, at: datetime) -> ReferralLead | None:
    phones = [p.e164 for p in customer.phones]
    candidates: list[ReferralLead] = []
    if phones:
        candidates += session.scalars(
            select(ReferralLead).where(
                ReferralLead.org_id == customer.org_id,
                ReferralLead.attribution_key.in_(phones),
            )
        )
    candidates += session.scalars(
        select(ReferralLead).where(
            ReferralLead.org_id == customer.org_id,
            ReferralLead.referee_customer_id == customer.id,
            ReferralLead.attribution == Attribution.ATTRIBUTED,
            ReferralLead.attribution_key.is_not(None),
        )
    )
    live = [
        lead
        for lead in candidates
        if lead.status in OPEN_STATUSES and attribution.holds(session, lead, at)
    ]
    return min(live, key=lambda lead: lead.id) if live else None


def on_order_created(session: Session, event: DomainEvent) -> None:
    """A friend's first paid order converts the lead that holds them."""
    payload = event.payload
    if payload.get("status", OrderStatus.PAID) != OrderStatus.PAID:
        return
    order = session.get(Order, payload.get("order_id"))
    customer = session.get(Customer, payload.get("customer_id"))
    if order is None or customer is None or customer.org_id != event.org_id:
        return
    if not _is_first_paid_order(session, customer.id, order):
        return
    lead = _converting_lead(session, customer, order.ordered_at)
    if lead is None:
        return
    lead.referee_customer_id = customer.id
    lead.converting_order_id = order.id
    lead.converted_at = utcnow()
    _record(session, lead, LeadStatus.CONVERTED, by_id=None)


# --- "who referred you?" ------------------------------------------------------------------


def find_referrers(session: Session, actor: Actor, query: str, limit: int = 10) -> list[Customer]:
    """Candidates for a typed code, phone or name; a name never picks one silently."""
    text = query.strip()[:100]
    if not text:
        return []
    base = select(Customer).where(
        Customer.org_id == actor.org_id,
        Customer.merged_into_id.is_(None),
        Customer.erased_at.is_(None),
    )
    row = codes.resolve(session, text)
    if row is not None and row.org_id == actor.org_id and row.customer_id:
        return list(session.scalars(base.where(Customer.id == row.customer_id)))
    try:
        e164 = normalize_phone(text).e164
    except InvalidPhone:
        e164 = None
    if e164:
        by_phone = base.join(CustomerPhone, CustomerPhone.customer_id == Customer.id).where(
            CustomerPhone.e164 == e164
        )
        return list(session.scalars(by_phone))
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    by_name = base.where(Customer.name.ilike(f"%{escaped}%", escape="\\"))
    return list(session.scalars(by_name.order_by(Customer.name, Customer.id).limit(limit)))
