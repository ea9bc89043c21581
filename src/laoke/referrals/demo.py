"""Demo data for referrals: two programs, codes for ~200 customers and the staff, and ~150
leads in every pipeline state — with histories, duplicates, existing customers and a
self-referral — so the lead board, portal and lineage are lived-in."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from laoke.accounts.actor import Actor
from laoke.accounts.roles import Role
from laoke.customers.models import Customer, CustomerPhone
from laoke.customers.phones import national_digits
from laoke.customers.stages import LifecycleStage
from laoke.db import utcnow
from laoke.demo.people import chinese_name, mobile_number
from laoke.orders.models import Order
from laoke.orders.schemas import OrderCreate
from laoke.orders.service import create_order
from laoke.referrals import codes, leads, programs
from laoke.referrals.attribution import Origin, Referee, Referrer, attribute
from laoke.referrals.models import (
    Attribution,
    Eligibility,
    LeadSource,
    LeadStatus,
    LeadStatusChange,
    QualifyingEvent,
    ReferralLead,
)
from laoke.referrals.schemas import ProgramCreate

if TYPE_CHECKING:
    from laoke.demo.seed import DemoContext

CODED_CUSTOMERS = 200
LEADS = 150
# Where each lead ends up: (final status, share).
OUTCOMES = (
    (LeadStatus.NEW, 0.2),
    (LeadStatus.CONTACTED, 0.2),
    (LeadStatus.VISITED, 0.17),
    (LeadStatus.CONVERTED, 0.28),
    (LeadStatus.LOST, 0.15),
)
PATH = (LeadStatus.NEW, LeadStatus.CONTACTED, LeadStatus.VISITED)
LOST_REASONS = ("价格太高", "距离太远", "暂时不需要", "联系不上", "选择了别家")
OPEN = (LeadStatus.NEW, LeadStatus.CONTACTED, LeadStatus.VISITED)
NEXT_STEPS = ("电话回访", "约到店体验", "发送项目介绍", "确认到店时间")


def _programs(session: Session, owner: Actor) -> None:
    programs.create_program(
        session,
        owner,
        ProgramCreate(
            name="老带新 · 一起美",
            referrer_offer_text="朋友首单后，您得 100 积分",
            referee_offer_text="首次护理立减 100 元",
            referrer_terms={"kind": "points", "amount": "100"},
            referee_terms={"kind": "discount", "amount": "100.00"},
            qualifying_event=QualifyingEvent.FIRST_PURCHASE,
        ),
    )
    programs.create_program(
        session,
        owner,
        ProgramCreate(
            name="VIP 推荐有礼",
            eligibility=Eligibility.TAGS,
            eligible_tags=["VIP", "转介绍达人"],
            referrer_offer_text="朋友消费满 500 元，您得 200 元护理券",
            referee_offer_text="首单满 500 元送面部护理一次",
            referrer_terms={"kind": "voucher", "amount": "200.00"},
            referee_terms={"kind": "gift", "item": "面部护理"},
            qualifying_event=QualifyingEvent.PURCHASE_AT_LEAST,
            qualifying_amount=Decimal("500.00"),
            attribution_window_days=45,
        ),
    )


def _outcome(index: int) -> LeadStatus:
    position = index / LEADS
    for status, share in OUTCOMES:
        if position < share:
            return status
        position -= share
    return LeadStatus.LOST


def _friend(session: Session, ctx: DemoContext, name: str, phone: str, owner_id: int | None) -> int:
    friend = Customer(
        org_id=ctx.org.id,
        name=name,
        owner_id=owner_id,
        source_channel="转介绍",
        lifecycle_stage=LifecycleStage.NEW,
        custom_attributes={},
    )
    friend.phones.append(
        CustomerPhone(
            org_id=ctx.org.id,
            e164=phone,
            national=national_digits(phone),
            kind="mobile",
            is_primary=True,
        )
    )
    session.add(friend)
    session.flush()
    return friend.id


def _first_order(session: Session, ctx: DemoContext, lead: ReferralLead) -> None:
    """The friend becomes a customer and buys: their first paid order converts the lead
    (and earns whatever the program's reward rules promise) the way a real one does."""
    friend_id = lead.referee_customer_id or _friend(
        session, ctx, lead.referee_name, lead.referee_phone or "", lead.owner_id
    )
    amount = Decimal(ctx.rng.choice((298, 398, 468, 588, 680, 880, 1280)))
    # Friends buy days after they were referred (the real dates are set by `_backdate`).
    lead.created_at = utcnow() - timedelta(days=3)
    session.flush()
    order = create_order(
        session,
        ctx.actor("owner@demo.laoke.local"),
        OrderCreate(customer_id=friend_id, amount=amount, channel="到店", notes="朋友推荐首单"),
    )
    session.refresh(lead)
    if lead.status != LeadStatus.CONVERTED:  # bought outside the window: staff record it
        lead.referee_customer_id = friend_id
        leads.change_status(session, lead, LeadStatus.CONVERTED, by_id=lead.owner_id)
    lead.converting_order_id = lead.converting_order_id or order.id


def _path(ctx: DemoContext, final: LeadStatus) -> list[LeadStatus]:
    if final == LeadStatus.NEW:
        return []
    if final == LeadStatus.CONTACTED:
        return [LeadStatus.CONTACTED]
    if final == LeadStatus.LOST:
        return [*PATH[1 : 1 + ctx.rng.randint(0, 2)], LeadStatus.LOST]
    return [LeadStatus.CONTACTED, LeadStatus.VISITED, *([final] if final != PATH[-1] else [])]


def _walk(session: Session, ctx: DemoContext, lead: ReferralLead, final: LeadStatus) -> None:
    """Move a lead along its path: contacted, visited, then converted or lost."""
    for step in _path(ctx, final):
        reason = ctx.rng.choice(LOST_REASONS) if step == LeadStatus.LOST else None
        if step == LeadStatus.CONVERTED:
            _first_order(session, ctx, lead)
            continue
        leads.change_status(session, lead, step, by_id=lead.owner_id, reason=reason)
    if final in OPEN:
        lead.next_step = ctx.rng.choice(NEXT_STEPS)
        lead.next_step_on = (utcnow() + timedelta(days=ctx.rng.randint(0, 7))).date()


def _backdate(session: Session, lead: ReferralLead, days: int, ctx: DemoContext) -> None:
    start = utcnow() - timedelta(days=days, hours=ctx.rng.randint(0, 10))
    lead.created_at = start
    changes = session.scalars(
        select(LeadStatusChange)
        .where(LeadStatusChange.lead_id == lead.id)
        .order_by(LeadStatusChange.id)
    ).all()
    at, latest = start, utcnow() - timedelta(minutes=5)
    for change in changes:
        change.at = min(at, latest)  # a walk that would run past today ends today
        at += timedelta(days=ctx.rng.randint(1, max(days // 4, 1)), hours=ctx.rng.randint(1, 8))
    lead.status_changed_at = changes[-1].at if changes else start
    if lead.status == LeadStatus.CONVERTED:
        lead.converted_at = lead.status_changed_at
        order = session.get(Order, lead.converting_order_id) if lead.converting_order_id else None
        if order is not None:
            order.ordered_at = order.created_at = lead.converted_at


def seed_referral_programs(session: Session, ctx: DemoContext) -> None:
    _programs(session, ctx.actor("owner@demo.laoke.local"))
    session.commit()


def seed_referrals(session: Session, ctx: DemoContext) -> None:
    referrers = list(
        session.scalars(
            select(Customer)
            .where(
                Customer.org_id == ctx.org.id,
                Customer.merged_into_id.is_(None),
                Customer.erased_at.is_(None),
            )
            .order_by(Customer.id)
            .limit(CODED_CUSTOMERS)
        )
    )
    for customer in referrers:
        codes.customer_code(session, customer)
    for user in ctx.staff.values():
        if user.role == Role.SALES:
            codes.staff_code(session, ctx.org.id, user.id)
    program = programs.running_programs(session, ctx.org.id)[0]
    used: set[str] = set()
    for index in range(LEADS):
        referrer = referrers[ctx.rng.randrange(len(referrers))]
        if index % 30 == 7 and used:  # the same friend again: a duplicate
            phone = sorted(used)[ctx.rng.randrange(len(used))]
        elif index % 40 == 11:  # an existing customer is not a new referee
            other = referrers[(referrers.index(referrer) + 1) % len(referrers)]
            phone = other.primary_phone or "+8613900000000"
        elif index == 99:  # someone trying to refer themselves
            phone = referrer.primary_phone or "+8613900000001"
        else:
            phone = "+86" + mobile_number(ctx.rng)
        used.add(phone)
        referee = Referee(chinese_name(ctx.rng, "female"), phone, None, consent=True)
        source = LeadSource.LANDING if index % 3 else LeadSource.STAFF
        lead = attribute(
            session, Referrer(ctx.org.id, customer=referrer), program, referee, Origin(source)
        )
        leads.record_new(session, lead, None)
        if lead.attribution == Attribution.ATTRIBUTED:
            _walk(session, ctx, lead, _outcome(index))
        _backdate(session, lead, ctx.rng.randint(1, 25), ctx)
        session.flush()
    session.commit()
