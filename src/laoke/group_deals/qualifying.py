"""Members qualify by buying; N qualified members complete the group and earn its benefit.

Listens to `order.created` (a paid order after joining and by the deadline qualifies the
member) and `order.refunded` / `order.cancelled` (while the group is open, the member no
longer qualifies unless another of their orders does). Benefits are rewards issued with
`issue_once` under the key `group:{group}:c{customer}` and tied to the qualifying order, so
replays issue nothing twice and the ledger reverses them when that order is refunded.

Lock order: the tenant's ledger head first, then the group row (see `groups`).
"""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from laoke.db import utcnow
from laoke.errors import DomainError
from laoke.events.models import DomainEvent
from laoke.group_deals.groups import close, expire_if_due, lock_group, members_of, qualified_count
from laoke.group_deals.models import (
    BenefitKind,
    Group,
    GroupMember,
    GroupOffer,
    GroupStatus,
)
from laoke.group_deals.offers import order_qualifies
from laoke.orders.models import Order, OrderStatus
from laoke.rewards import ledger
from laoke.rewards.issuing import IssueRequest, issue_once
from laoke.rewards.models import CouponKind, Reward, RewardKind

log = logging.getLogger("laoke.group_deals")
CENT = Decimal("0.01")


def benefit_key(group: Group, customer_id: int) -> str:
    return f"group:{group.id}:c{customer_id}"


def in_window(member: GroupMember, group: Group, order: Order) -> bool:
    return member.joined_at <= order.ordered_at <= group.deadline


def _open_memberships(session: Session, org_id: int, customer_id: int) -> list[GroupMember]:
    return list(
        session.scalars(
            select(GroupMember)
            .where(
                GroupMember.org_id == org_id,
                GroupMember.customer_id == customer_id,
                GroupMember.open_offer_id.is_not(None),
            )
            .order_by(GroupMember.group_id)
        )
    )


def _refreshed(session: Session, member_id: int) -> GroupMember | None:
    return session.scalar(
        select(GroupMember)
        .where(GroupMember.id == member_id)
        .execution_options(populate_existing=True)
    )


def _qualifying_order(
    session: Session, member: GroupMember, group: Group, offer: GroupOffer
) -> Order | None:
    """The member's earliest paid order in the window that qualifies, if any."""
    orders = session.scalars(
        select(Order)
        .where(
            Order.org_id == member.org_id,
            Order.customer_id == member.customer_id,
            Order.status == OrderStatus.PAID,
            Order.ordered_at >= member.joined_at,
            Order.ordered_at <= group.deadline,
        )
        .order_by(Order.ordered_at, Order.id)
    )
    return next((o for o in orders if order_qualifies(offer, o)), None)


def qualify(session: Session, group_id: int, member_id: int, order: Order, now: datetime) -> bool:
    """Count `order` for the member (the group is locked here); True if it completed."""
    group = lock_group(session, group_id)
    if expire_if_due(session, group, now) or group.status != GroupStatus.OPEN:
        return False
    member = _refreshed(session, member_id)
    if member is None or member.qualified_at is not None:
        return False
    offer = session.get(GroupOffer, group.offer_id)
    assert offer is not None
    if not in_window(member, group, order) or not order_qualifies(offer, order):
        return False
    member.qualifying_order_id = order.id
    member.qualified_at = now
    session.flush()
    if qualified_count(session, group) >= offer.group_size:
        complete(session, group, offer, now)
        return True
    return False


def complete(session: Session, group: Group, offer: GroupOffer, now: datetime) -> None:
    close(session, group, GroupStatus.COMPLETED, now)
    grant(session, group, offer, now)


def _request(group: Group, offer: GroupOffer, member: GroupMember, order: Order) -> IssueRequest:
    common = {
        "customer_id": member.customer_id,
        "label": offer.name[:100],
        "program_id": offer.program_id,
        "order_id": order.id,
        "source": "group",
        "source_id": group.id,
    }
    if offer.benefit == BenefitKind.LEADER_FREE:
        amount = Decimal(order.amount)
        if offer.leader_cap is not None:
            amount = min(amount, Decimal(offer.leader_cap))
        return IssueRequest(kind=RewardKind.CASH, amount=amount.quantize(CENT), **common)  # type: ignore[arg-type]
    kind = RewardKind(offer.member_kind)
    amount = Decimal(offer.member_amount or 0)
    if kind == RewardKind.COUPON:
        return IssueRequest(
            kind=kind,
            amount=amount,
            coupon_kind=CouponKind.FIXED,
            min_spend=offer.coupon_min_spend,
            valid_days=offer.coupon_valid_days,
            **common,  # type: ignore[arg-type]
        )
    return IssueRequest(kind=kind, amount=amount, **common)  # type: ignore[arg-type]


def grant(session: Session, group: Group, offer: GroupOffer, now: datetime) -> list[Reward]:
    """Issue the offer's benefit for a completed group: once per member, whatever happens."""
    members = [m for m in members_of(session, group) if m.qualified_at is not None]
    if offer.benefit == BenefitKind.LEADER_FREE:
        members = [m for m in members if m.is_leader]
    rewards: list[Reward] = []
    for member in members:
        order = (
            session.get(Order, member.qualifying_order_id) if member.qualifying_order_id else None
        )
        if order is None:
            continue
        try:
            reward = issue_once(
                session,
                group.org_id,
                _request(group, offer, member, order),
                key=benefit_key(group, member.customer_id),
                now=now,
            )
        except DomainError as exc:  # e.g. the customer was erased meanwhile
            log.warning(
                "group %s: no benefit for customer %s: %s", group.id, member.customer_id, exc.code
            )
            continue
        if reward is not None:
            member.reward_id = reward.id
            rewards.append(reward)
    session.flush()
    return rewards


# --- event handlers -----------------------------------------------------------------------


def _order(session: Session, event: DomainEvent) -> Order | None:
    order = session.get(Order, event.payload.get("order_id"))
    return order if order is not None and order.org_id == event.org_id else None


def on_order_created(session: Session, event: DomainEvent) -> None:
    if event.payload.get("status", OrderStatus.PAID) != OrderStatus.PAID:
        return
    order = _order(session, event)
    if order is None:
        return
    memberships = [
        (m.group_id, m.id)
        for m in _open_memberships(session, order.org_id, order.customer_id)
        if m.qualified_at is None
    ]
    if not memberships:
        return
    ledger.lock(session, order.org_id)
    now = utcnow()
    for group_id, member_id in memberships:
        qualify(session, group_id, member_id, order, now)


def on_order_reversed(session: Session, event: DomainEvent) -> None:
    """A refunded or cancelled qualifying order stops counting while the group is open."""
    order = _order(session, event)
    if order is None:
        return
    affected = session.execute(
        select(GroupMember.group_id, GroupMember.id).where(
            GroupMember.org_id == order.org_id,
            GroupMember.qualifying_order_id == order.id,
            GroupMember.open_offer_id.is_not(None),
        )
    ).all()
    if not affected:
        return
    ledger.lock(session, order.org_id)
    now = utcnow()
    for group_id, member_id in affected:
        group = lock_group(session, group_id)
        if expire_if_due(session, group, now) or group.status != GroupStatus.OPEN:
            continue
        member = _refreshed(session, member_id)
        if member is None or member.qualifying_order_id != order.id:
            continue
        member.qualifying_order_id = None
        member.qualified_at = None
        session.flush()
        offer = session.get(GroupOffer, group.offer_id)
        assert offer is not None
        other = _qualifying_order(session, member, group, offer)
        if other is not None:
            qualify(session, group.id, member.id, other, now)
