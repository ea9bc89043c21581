"""When rewards are earned: a program's rules on a lead, a friend's first purchase or a
purchase above an amount; ladder tiers at N successful referrals; an agent's commission on
referred friends' orders; reversal when the earning order is refunded.

Every automatic reward has a key made of what earned it (`rule:{rule}:lead:{lead}:{side}`,
`tier:{tier}:…`, `commission:order:{order}`), so replays and racing workers issue it once.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from laoke.customers.models import Customer
from laoke.customers.stages import LifecycleStage
from laoke.db import utcnow
from laoke.engagement.models import StageChange, StageKind
from laoke.events.models import DomainEvent
from laoke.orders.models import Order, OrderStatus
from laoke.referrals.models import Attribution, LeadStatus, ReferralLead
from laoke.rewards.issuing import IssueRequest, issue_once
from laoke.rewards.models import (
    Agent,
    Beneficiary,
    RewardKind,
    RewardRule,
    RewardTier,
    RewardTrigger,
)


def _rules(session: Session, org_id: int, program_id: int) -> list[RewardRule]:
    return list(
        session.scalars(
            select(RewardRule)
            .where(
                RewardRule.org_id == org_id,
                RewardRule.program_id == program_id,
                RewardRule.tier_id.is_(None),
                RewardRule.active.is_(True),
            )
            .order_by(RewardRule.id)
        )
    )


def request_for(rule: RewardRule, customer_id: int, **where: int | None) -> IssueRequest:
    return IssueRequest(
        customer_id=customer_id,
        kind=RewardKind(rule.kind),
        amount=Decimal(rule.amount),
        label=rule.label,
        program_id=rule.program_id,
        rule_id=rule.id,
        source="rule",
        source_id=rule.id,
        hold_days=rule.hold_days,
        coupon_kind=rule.coupon_kind,
        min_spend=rule.min_spend,
        valid_days=rule.valid_days,
        cap_per_month=rule.cap_per_month,
        cap_lifetime=rule.cap_lifetime,
        **where,  # type: ignore[arg-type]
    )


def _beneficiary(lead: ReferralLead, rule: RewardRule) -> int | None:
    if rule.beneficiary == Beneficiary.REFERRER:
        return lead.referrer_customer_id
    return lead.referee_customer_id


def _earning_order(
    session: Session, lead: ReferralLead, rule: RewardRule, order: Order | None
) -> Order | None:
    """The order that satisfies the rule's trigger, or None when it is not (yet) satisfied."""
    if rule.trigger == RewardTrigger.FIRST_PURCHASE:
        if lead.status != LeadStatus.CONVERTED or lead.converting_order_id is None:
            return None
        return session.get(Order, lead.converting_order_id)
    if rule.trigger == RewardTrigger.PURCHASE_AT_LEAST:
        candidate = order
        if candidate is None and lead.converting_order_id is not None:
            candidate = session.get(Order, lead.converting_order_id)
        if (
            candidate is None
            or candidate.status != OrderStatus.PAID
            or candidate.customer_id != lead.referee_customer_id
            or Decimal(candidate.amount) < Decimal(rule.min_amount or 0)
        ):
            return None
        return candidate
    return None


def reward_lead(session: Session, lead: ReferralLead, order: Order | None = None) -> int:
    """Issue whatever the lead's program promises for where the lead now stands."""
    if lead.program_id is None or lead.attribution != Attribution.ATTRIBUTED:
        return 0
    if lead.status == LeadStatus.LOST:
        return 0
    issued = 0
    for rule in _rules(session, lead.org_id, lead.program_id):
        customer_id = _beneficiary(lead, rule)
        if customer_id is None:
            continue
        earning = None
        if rule.trigger != RewardTrigger.LEAD:
            earning = _earning_order(session, lead, rule, order)
            if earning is None:
                continue
        request = request_for(
            rule, customer_id, lead_id=lead.id, order_id=earning.id if earning else None
        )
        key = f"rule:{rule.id}:lead:{lead.id}:{rule.beneficiary}"
        if issue_once(session, lead.org_id, request, key) is not None:
            issued += 1
    return issued


# --- ladders ------------------------------------------------------------------------------


def successful_referrals(session: Session, org_id: int, referrer_id: int, program_id: int) -> int:
    """Lifetime converted referrals of this referrer in the program, not blocked in review."""
    from laoke.fraud.review import release_block

    lead_ids = session.scalars(
        select(ReferralLead.id).where(
            ReferralLead.org_id == org_id,
            ReferralLead.referrer_customer_id == referrer_id,
            ReferralLead.program_id == program_id,
            ReferralLead.status == LeadStatus.CONVERTED,
            ReferralLead.attribution == Attribution.ATTRIBUTED,
        )
    )
    return sum(1 for lead_id in lead_ids if release_block(session, org_id, lead_id) is None)


def tiers_of(session: Session, org_id: int, program_id: int) -> list[RewardTier]:
    return list(
        session.scalars(
            select(RewardTier)
            .where(RewardTier.org_id == org_id, RewardTier.program_id == program_id)
            .order_by(RewardTier.threshold)
        )
    )


def climb_ladder(session: Session, org_id: int, referrer_id: int, program_id: int) -> int:
    """Grant every tier the referrer's successful referrals now reach (once each)."""
    count = successful_referrals(session, org_id, referrer_id, program_id)
    granted = 0
    for tier in tiers_of(session, org_id, program_id):
        if tier.threshold > count:
            break
        title = IssueRequest(
            customer_id=referrer_id,
            kind=RewardKind.HONOUR,
            amount=Decimal(0),
            label=tier.title,
            program_id=program_id,
            tier_id=tier.id,
            source="tier",
            source_id=tier.id,
            hold_days=0,
        )
        if issue_once(session, org_id, title, f"tier:{tier.id}:title:c{referrer_id}") is not None:
            granted += 1
        rules = session.scalars(
            select(RewardRule).where(
                RewardRule.org_id == org_id,
                RewardRule.tier_id == tier.id,
                RewardRule.active.is_(True),
            )
        )
        for rule in rules:
            request = request_for(rule, referrer_id, tier_id=tier.id)
            key = f"tier:{tier.id}:rule:{rule.id}:c{referrer_id}"
            if issue_once(session, org_id, request, key) is not None:
                granted += 1
        if tier.makes_agent and tier.commission_rate:
            make_agent(session, org_id, referrer_id, tier)
    return granted


def make_agent(session: Session, org_id: int, customer_id: int, tier: RewardTier) -> Agent:
    agent = session.scalar(
        select(Agent).where(Agent.org_id == org_id, Agent.customer_id == customer_id)
    )
    if agent is None:
        agent = Agent(org_id=org_id, customer_id=customer_id, active=True)
        session.add(agent)
    if agent.commission_rate is None or Decimal(tier.commission_rate or 0) > agent.commission_rate:
        agent.commission_rate = Decimal(tier.commission_rate or 0)
        agent.tier_id = tier.id
    customer = session.get(Customer, customer_id)
    if customer is not None and customer.lifecycle_stage != LifecycleStage.AGENT:
        session.add(
            StageChange(
                org_id=org_id,
                customer_id=customer_id,
                kind=StageKind.LIFECYCLE,
                from_stage=str(customer.lifecycle_stage),
                to_stage=LifecycleStage.AGENT.value,
                at=utcnow(),
                reason="reward ladder",
            )
        )
        customer.lifecycle_stage = LifecycleStage.AGENT
    session.flush()
    return agent


# --- commission ---------------------------------------------------------------------------


def referring_lead(session: Session, org_id: int, customer_id: int) -> ReferralLead | None:
    return session.scalar(
        select(ReferralLead)
        .where(
            ReferralLead.org_id == org_id,
            ReferralLead.referee_customer_id == customer_id,
            ReferralLead.status == LeadStatus.CONVERTED,
            ReferralLead.attribution == Attribution.ATTRIBUTED,
        )
        .order_by(ReferralLead.id)
        .limit(1)
    )


def pay_commission(session: Session, order: Order, lead: ReferralLead) -> None:
    if lead.referrer_customer_id is None:
        return
    agent = session.scalar(
        select(Agent).where(
            Agent.org_id == order.org_id,
            Agent.customer_id == lead.referrer_customer_id,
            Agent.active.is_(True),
        )
    )
    if agent is None:
        return
    amount = (Decimal(order.amount) * Decimal(agent.commission_rate)).quantize(Decimal("0.01"))
    if amount <= 0:
        return
    request = IssueRequest(
        customer_id=agent.customer_id,
        kind=RewardKind.COMMISSION,
        amount=amount,
        program_id=lead.program_id,
        lead_id=lead.id,
        order_id=order.id,
        source="commission",
        source_id=agent.id,
    )
    issue_once(session, order.org_id, request, f"commission:order:{order.id}")


# --- event handlers -----------------------------------------------------------------------


def _lead(session: Session, event: DomainEvent) -> ReferralLead | None:
    lead = session.get(ReferralLead, event.payload.get("lead_id"))
    return lead if lead is not None and lead.org_id == event.org_id else None


def on_lead_event(session: Session, event: DomainEvent) -> None:
    lead = _lead(session, event)
    if lead is None:
        return
    reward_lead(session, lead)
    if (
        lead.status == LeadStatus.CONVERTED
        and lead.referrer_customer_id is not None
        and lead.program_id is not None
    ):
        climb_ladder(session, lead.org_id, lead.referrer_customer_id, lead.program_id)


def on_order_created(session: Session, event: DomainEvent) -> None:
    if event.payload.get("status", OrderStatus.PAID) != OrderStatus.PAID:
        return
    order = session.get(Order, event.payload.get("order_id"))
    if order is None or order.org_id != event.org_id:
        return
    lead = referring_lead(session, order.org_id, order.customer_id)
    if lead is None:
        return
    reward_lead(session, lead, order)
    pay_commission(session, order, lead)


def on_order_reversed(session: Session, event: DomainEvent) -> None:
    from laoke.rewards.reversal import reverse_for_order

    order_id = event.payload.get("order_id")
    if isinstance(order_id, int):
        reverse_for_order(session, event.org_id, order_id)


def on_fraud_reviewed(session: Session, event: DomainEvent) -> None:
    from laoke.rewards.holds import after_review

    lead = _lead(session, event)
    if lead is None:
        return
    outcome = str(event.payload.get("outcome"))
    after_review(session, lead.org_id, lead.id, outcome)
    if outcome == "approved" and lead.referrer_customer_id and lead.program_id:
        climb_ladder(session, lead.org_id, lead.referrer_customer_id, lead.program_id)
