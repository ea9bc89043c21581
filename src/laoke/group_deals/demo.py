"""Demo data for group deals: a "3人成团 1人免单" offer and a "带8位朋友 免费学" offer, with
groups in every state — open with some members bought, completed with the leader's cash
back issued through the ledger, expired without benefit, one cancelled — built from a
tenant's existing customers, deterministically from a seed.

Orders that qualify members are inserted the way the order demo inserts them (no events)
and counted with `qualifying.qualify`, at moments in the past, so the groups' histories
read naturally."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from laoke.accounts.actor import Actor
from laoke.customers.models import Customer, CustomerPhone
from laoke.db import utcnow
from laoke.group_deals import groups, offers, qualifying
from laoke.group_deals.models import Group, GroupMember, GroupOffer, GroupStatus, JoinSource
from laoke.group_deals.schemas import OfferCreate
from laoke.orders.models import Order, OrderStatus

if TYPE_CHECKING:
    from laoke.demo.seed import DemoContext

AMOUNTS = ("199.00", "299.00", "399.00", "680.00", "980.00", "1280.00")
CANCEL_REASONS = ("门店活动调整", "顾客要求取消", "重复开团")


@dataclass(frozen=True)
class Plan:
    """One demo group: how long ago it opened, who joins, who buys, how it ends."""

    opened_days_ago: float
    joiners: int
    buyers: int
    ending: GroupStatus


# Per offer: (name, fields, groups).
OFFERS: tuple[tuple[str, dict[str, object], tuple[Plan, ...]], ...] = (
    (
        "3人成团 1人免单",
        {
            "group_size": 3,
            "open_hours": 48,
            "benefit": "leader_free",
            "leader_cap": Decimal("500"),
            "min_amount": Decimal("199"),
            "description": "三人拼团，都在 48 小时内下单满 199 元，团长这一单免费（最高返 500 元）。",
        },
        (
            Plan(20, 3, 3, GroupStatus.COMPLETED),
            Plan(9, 3, 3, GroupStatus.COMPLETED),
            Plan(6, 2, 1, GroupStatus.EXPIRED),
            Plan(4, 2, 0, GroupStatus.CANCELLED),
            Plan(1, 2, 1, GroupStatus.OPEN),
            Plan(0.2, 1, 0, GroupStatus.OPEN),
        ),
    ),
    (
        "带8位朋友 免费学",
        {
            "group_size": 9,
            "open_hours": 14 * 24,
            "benefit": "leader_free",
            "leader_cap": Decimal("2980"),
            "min_amount": Decimal("99"),
            "description": "带 8 位朋友来报名体验课，9 人都完成报名，您的课程学费全免（最高 2980 元）。",
        },
        (
            Plan(30, 9, 9, GroupStatus.COMPLETED),
            Plan(25, 6, 4, GroupStatus.EXPIRED),
            Plan(5, 6, 3, GroupStatus.OPEN),
        ),
    ),
)


@dataclass
class Seeded:
    offers: list[int] = field(default_factory=list)
    groups: dict[str, int] = field(default_factory=dict)
    rewards: int = 0


def _pool(session: Session, org_id: int) -> list[int]:
    """Active customers with a phone, oldest first."""
    return list(
        session.scalars(
            select(Customer.id)
            .where(
                Customer.org_id == org_id,
                Customer.merged_into_id.is_(None),
                Customer.erased_at.is_(None),
                Customer.id.in_(select(CustomerPhone.customer_id)),
            )
            .order_by(Customer.id)
        )
    )


def _buy(
    session: Session, org_id: int, customer_id: int, at: datetime, rng: random.Random
) -> Order:
    order = Order(
        org_id=org_id,
        customer_id=customer_id,
        ordered_at=at,
        amount=Decimal(rng.choice(AMOUNTS)),
        channel="拼团",
        status=OrderStatus.PAID,
        created_at=at,
        updated_at=at,
    )
    session.add(order)
    session.flush()
    return order


def _run(
    session: Session,
    actor: Actor,
    offer: GroupOffer,
    plan: Plan,
    people: list[int],
    rng: random.Random,
    now: datetime,
) -> Group:
    opened = now - timedelta(days=plan.opened_days_ago)
    group = groups.open_group(session, actor, offer.id, people[0], now=opened)
    at = opened
    for customer_id in people[1 : plan.joiners]:
        at += timedelta(minutes=rng.randint(10, 600))
        customer = session.get(Customer, customer_id)
        assert customer is not None
        groups.join_customer(
            session,
            group.id,
            customer,
            source=rng.choice((JoinSource.LINK, JoinSource.LINK, JoinSource.STAFF)),
            consent=True,
            added_by_id=None,
            now=min(at, now),
        )
    members = groups.members_of(session, group)
    window = min(group.deadline, now)
    purchases = []
    for member in members[: plan.buyers]:
        span = max((window - member.joined_at).total_seconds(), 60.0)
        purchases.append(
            (member.joined_at + timedelta(seconds=rng.uniform(30, span * 0.9)), member)
        )
    for bought, member in sorted(purchases, key=lambda pair: pair[0]):
        order = _buy(session, group.org_id, member.customer_id, bought, rng)
        qualifying.qualify(session, group.id, member.id, order, bought)
    group = groups.lock_group(session, group.id)
    if plan.ending == GroupStatus.EXPIRED:
        groups.expire_if_due(session, group, now)
    elif plan.ending == GroupStatus.CANCELLED:
        group.cancel_reason = rng.choice(CANCEL_REASONS)
        groups.close(session, group, GroupStatus.CANCELLED, min(at + timedelta(hours=2), now))
    return group


def seed_group_deals(
    session: Session, org_id: int, *, seed: int = 20261204, now: datetime | None = None
) -> Seeded:
    """Create the two demo offers and their groups for a tenant with customers; commits.
    Needs at least 40 customers with phones; the same seed gives the same groups."""
    rng = random.Random(seed)
    now = now or utcnow()
    actor = Actor.system(org_id)
    pool = _pool(session, org_id)
    needed = sum(plan.joiners for _n, _f, plans in OFFERS for plan in plans)
    if len(pool) < needed:
        raise ValueError(f"group deal demo needs {needed} customers with phones, found {len(pool)}")
    chosen = rng.sample(pool, needed)
    seeded = Seeded()
    for name, fields, plans in OFFERS:
        offer = offers.create_offer(
            session, actor, OfferCreate.model_validate({"name": name, **fields})
        )
        seeded.offers.append(offer.id)
        for index, plan in enumerate(plans):
            people, chosen = chosen[: plan.joiners], chosen[plan.joiners :]
            group = _run(session, actor, offer, plan, people, rng, now)
            seeded.groups[f"{name}#{index}:{group.status}"] = group.id
    seeded.rewards = sum(
        1
        for _ in session.scalars(
            select(GroupMember.id).where(
                GroupMember.org_id == org_id, GroupMember.reward_id.is_not(None)
            )
        )
    )
    session.commit()
    return seeded


def demo_step(session: Session, ctx: DemoContext) -> None:
    """The demo-seeding step: group deals for tenants big enough to fill them."""
    if len(_pool(session, ctx.org.id)) >= sum(
        plan.joiners for _n, _f, plans in OFFERS for plan in plans
    ):
        seed_group_deals(session, ctx.org.id, seed=ctx.rng.randrange(1 << 30))
