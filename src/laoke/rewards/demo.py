"""Demo rewards: rules and a five-rung ladder on the demo programs (seeded before the
referrals, so friends' first orders earn rewards through the real triggers), then rewards
lived-in in every state — held, released, redeemed, reversed after a refund, expired,
capped — a star referrer who climbs the ladder to agent and earns commission, and cash
paid out with a reference. `laoke ledger verify --org demo` has a real ledger to check."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from laoke.customers.models import Customer, CustomerPhone
from laoke.customers.phones import national_digits
from laoke.customers.stages import LifecycleStage
from laoke.db import utcnow
from laoke.demo.people import chinese_name, mobile_number
from laoke.fraud.review import decide
from laoke.fraud.schemas import Outcome
from laoke.messaging.compose import Text
from laoke.messaging.templates_service import Draft, save_template
from laoke.orders.models import Order, OrderStatus
from laoke.orders.schemas import OrderCreate
from laoke.orders.service import create_order, refund_order
from laoke.referrals import leads
from laoke.referrals.attribution import Origin, Referee, Referrer, attribute
from laoke.referrals.models import LeadSource, LeadStatus, ReferralLead, ReferralProgram
from laoke.rewards import ledger
from laoke.rewards.expiry import expire_due
from laoke.rewards.holds import release_due
from laoke.rewards.models import (
    Beneficiary,
    Coupon,
    CouponKind,
    CouponStatus,
    Reward,
    RewardKind,
    RewardRule,
    RewardStatus,
    RewardTier,
    RewardTrigger,
)
from laoke.rewards.notices import POINTS_EXPIRING, REWARD_RELEASED
from laoke.rewards.payouts import hand_over_gift, pay_out
from laoke.rewards.redeeming import RedeemRequest, redeem
from laoke.rewards.settings import default_hold_days, settings_of

if TYPE_CHECKING:
    from laoke.demo.seed import DemoContext

OWNER = "owner@demo.laoke.local"
MANAGER = "manager@demo.laoke.local"
# (threshold, title, makes agent, commission rate, reward on reaching it)
LADDER = (
    (1, "推荐新星", False, None, (RewardKind.PRIVILEGE, Decimal(0), "专属护理师 30 天", 30)),
    (3, "推荐达人", False, None, (RewardKind.POINTS, Decimal(300), "", None)),
    (5, "金牌推荐官", True, Decimal("0.08"), (RewardKind.GIFT, Decimal(168), "精华礼盒", None)),
    (10, "星级大使", True, Decimal("0.10"), (RewardKind.CASH, Decimal(300), "", None)),
    (20, "荣誉合伙人", True, Decimal("0.12"), (RewardKind.CASH, Decimal(1000), "", None)),
)
STAR_FRIENDS = 6


def _program(session: Session, org_id: int, name: str) -> ReferralProgram:
    program = session.scalar(
        select(ReferralProgram).where(
            ReferralProgram.org_id == org_id, ReferralProgram.name == name
        )
    )
    assert program is not None, name
    return program


def _rule(session: Session, program: ReferralProgram, **fields: object) -> RewardRule:
    rule = RewardRule(org_id=program.org_id, program_id=program.id, active=True, **fields)
    session.add(rule)
    return rule


TEMPLATES = [
    Draft(
        "奖励到账（短信）",
        REWARD_RELEASED.name,
        "sms",
        {
            "zh_CN": Text(
                None,
                "{{ customer_name }}您好，您的奖励已到账：{{ reward }}。感谢推荐！—{{ org_name }}",
            ),
            "zh_TW": Text(
                None,
                "{{ customer_name }}您好，您的獎勵已入帳：{{ reward }}。感謝推薦！—{{ org_name }}",
            ),
            "en": Text(
                None,
                "Hi {{ customer_name }}, your reward is ready: {{ reward }}. Thank you! —{{ org_name }}",
            ),
        },
    ),
    Draft(
        "积分到期提醒（短信）",
        POINTS_EXPIRING.name,
        "sms",
        {
            "zh_CN": Text(
                None,
                "{{ customer_name }}您好，您有 {{ points }} 积分将于 {{ expires_on }} 到期，记得到店使用。—{{ org_name }}",
            ),
            "zh_TW": Text(
                None,
                "{{ customer_name }}您好，您有 {{ points }} 點積分將於 {{ expires_on }} 到期，記得到店使用。—{{ org_name }}",
            ),
            "en": Text(
                None,
                "Hi {{ customer_name }}, {{ points }} of your points lapse on {{ expires_on }}. —{{ org_name }}",
            ),
        },
    ),
]


def seed_reward_rules(session: Session, ctx: DemoContext) -> None:
    """Rules on both demo programs and the ladder on the main one."""
    everyday = _program(session, ctx.org.id, "老带新 · 一起美")
    vip = _program(session, ctx.org.id, "VIP 推荐有礼")
    _rule(
        session,
        everyday,
        beneficiary=Beneficiary.REFERRER,
        trigger=RewardTrigger.FIRST_PURCHASE,
        kind=RewardKind.POINTS,
        amount=Decimal(100),
        cap_per_month=10,
    )
    _rule(
        session,
        everyday,
        beneficiary=Beneficiary.REFEREE,
        trigger=RewardTrigger.FIRST_PURCHASE,
        kind=RewardKind.COUPON,
        coupon_kind=CouponKind.FIXED,
        amount=Decimal(50),
        min_spend=Decimal(300),
        valid_days=60,
    )
    everyday.reward_budget = Decimal(20000)
    for threshold, title, agent, rate, (kind, amount, label, days) in LADDER:
        tier = RewardTier(
            org_id=ctx.org.id,
            program_id=everyday.id,
            threshold=threshold,
            title=title,
            makes_agent=agent,
            commission_rate=rate,
        )
        session.add(tier)
        session.flush()
        _rule(
            session,
            everyday,
            tier_id=tier.id,
            beneficiary=Beneficiary.REFERRER,
            trigger=RewardTrigger.TIER,
            kind=kind,
            amount=amount,
            label=label,
            valid_days=days,
            hold_days=0,  # the referrals that reach a rung were held already
        )
    _rule(
        session,
        vip,
        beneficiary=Beneficiary.REFERRER,
        trigger=RewardTrigger.PURCHASE_AT_LEAST,
        min_amount=Decimal(500),
        kind=RewardKind.CASH,
        amount=Decimal(50),
        cap_lifetime=5,
    )
    _rule(
        session,
        vip,
        beneficiary=Beneficiary.REFEREE,
        trigger=RewardTrigger.PURCHASE_AT_LEAST,
        min_amount=Decimal(500),
        kind=RewardKind.GIFT,
        amount=Decimal(120),
        label="面部护理一次",
    )
    vip.reward_budget = Decimal(3000)
    session.commit()


def _refer_and_buy(
    session: Session,
    ctx: DemoContext,
    referrer: Customer,
    program: ReferralProgram,
    amount: Decimal,
    days_ago: int,
    *,
    instant: bool = False,
) -> ReferralLead:
    """A friend referred two days before buying, `days_ago` days ago: the real path end to
    end. `instant` buys the moment the referral is entered, which the fraud rules flag."""
    name, phone = chinese_name(ctx.rng, "female"), "+86" + mobile_number(ctx.rng)
    lead = attribute(
        session,
        Referrer(ctx.org.id, customer=referrer),
        program,
        Referee(name, phone, None, consent=True),
        Origin(LeadSource.LANDING if instant else LeadSource.STAFF, owner_id=referrer.owner_id),
    )
    leads.record_new(session, lead, None)
    at = utcnow() - timedelta(days=days_ago)
    if not instant:  # referred two days before coming in (dated back below)
        lead.created_at = utcnow() - timedelta(days=2)
    friend = Customer(
        org_id=ctx.org.id,
        name=name,
        owner_id=referrer.owner_id,
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
    order = create_order(
        session,
        ctx.actor(OWNER),
        OrderCreate(customer_id=friend.id, amount=amount, channel="到店", notes="朋友推荐首单"),
    )
    order.ordered_at = order.created_at = at
    session.refresh(lead)
    lead.created_at = at if instant else at - timedelta(days=2)
    lead.converted_at = lead.status_changed_at = at
    return lead


def _suspicious(session: Session, ctx: DemoContext, regulars: list[Customer]) -> None:
    """Three friends who "bought" the moment they were entered wait in the review queue;
    a manager already declined a fourth, so its rewards were taken back."""
    everyday = _program(session, ctx.org.id, "老带新 · 一起美")
    flagged = [
        _refer_and_buy(session, ctx, referrer, everyday, Decimal(298), days_ago=12, instant=True)
        for referrer in regulars[:4]
    ]
    _age_holds(session, ctx.org.id)
    release_due(session, ctx.org.id)
    decide(
        session,
        ctx.actor(MANAGER),
        flagged[-1].id,
        Outcome.DECLINED,
        "同一人两个号码，首单当场退款，确认是刷单",
    )


def _age_holds(session: Session, org_id: int) -> None:
    """Demo time: a reward's hold runs from the day its friend bought, not from seeding."""
    hold = timedelta(days=default_hold_days(settings_of(session, org_id)))
    rows = session.execute(
        select(Reward, Order.ordered_at)
        .join(Order, Order.id == Reward.order_id)
        .where(Reward.org_id == org_id, Reward.status == RewardStatus.HELD)
    ).all()
    for reward, ordered_at in rows:
        reward.created_at = ordered_at
        reward.hold_until = ordered_at + hold
    session.flush()


def _released(session: Session, org_id: int, kind: RewardKind) -> list[Reward]:
    return list(
        session.scalars(
            select(Reward)
            .where(
                Reward.org_id == org_id,
                Reward.kind == kind,
                Reward.status == RewardStatus.RELEASED,
            )
            .order_by(Reward.id)
        )
    )


def _use_rewards(session: Session, ctx: DemoContext) -> None:
    """Customers spend: points and coupons on later orders, cash paid out, gifts handed over."""
    owner, manager = ctx.actor(OWNER), ctx.actor(MANAGER)
    org_id = ctx.org.id
    for index, coupon in enumerate(
        session.scalars(
            select(Coupon)
            .where(Coupon.org_id == org_id, Coupon.status == CouponStatus.AVAILABLE)
            .order_by(Coupon.id)
        ).all()
    ):
        if index % 3:
            continue
        order = create_order(
            session,
            owner,
            OrderCreate(customer_id=coupon.customer_id, amount=Decimal(468), channel="到店"),
        )
        redeem(
            session,
            org_id,
            RedeemRequest(coupon.customer_id, order.id, coupon_id=coupon.id),
            f"demo-coupon-{coupon.id}",
            actor_id=owner.user_id,
        )
    seen: set[int] = set()
    for reward in _released(session, org_id, RewardKind.POINTS)[::2]:
        if reward.customer_id in seen:
            continue
        seen.add(reward.customer_id)
        order = create_order(
            session,
            owner,
            OrderCreate(customer_id=reward.customer_id, amount=Decimal(398), channel="到店"),
        )
        redeem(
            session,
            org_id,
            RedeemRequest(reward.customer_id, order.id, points=Decimal(100)),
            f"demo-points-{order.id}",
            actor_id=owner.user_id,
        )
    for index, reward in enumerate(
        [
            *_released(session, org_id, RewardKind.CASH),
            *_released(session, org_id, RewardKind.COMMISSION),
        ]
    ):
        if index % 2 == 0:
            pay_out(session, manager, reward.id, f"微信转账 {4200000000 + reward.id}")
    for reward in _released(session, org_id, RewardKind.GIFT)[:1]:
        hand_over_gift(session, owner, reward.id, "到店领取")


def _refund_some(session: Session, ctx: DemoContext) -> None:
    """Two friends returned their first purchase: their rewards are taken back (one still
    held, one already released and partly spent)."""
    owner = ctx.actor(OWNER)
    held = session.scalar(
        select(Reward)
        .where(
            Reward.org_id == ctx.org.id,
            Reward.status == RewardStatus.HELD,
            Reward.kind == RewardKind.POINTS,
            Reward.order_id.is_not(None),
        )
        .order_by(Reward.id)
        .limit(1)
    )
    released = session.scalars(
        select(Reward)
        .where(
            Reward.org_id == ctx.org.id,
            Reward.status == RewardStatus.RELEASED,
            Reward.kind == RewardKind.POINTS,
            Reward.order_id.is_not(None),
        )
        .order_by(Reward.id.desc())
        .limit(1)
    ).first()
    for reward in (held, released):
        if reward is None or reward.order_id is None:
            continue
        order = session.get(Order, reward.order_id)
        if order is not None and order.status == OrderStatus.PAID:
            refund_order(session, owner, order.id)


def _expire_some(session: Session, ctx: DemoContext) -> None:
    """A few coupons were never used: their last day has passed."""
    yesterday = (utcnow() - timedelta(days=1)).date()
    coupons = session.scalars(
        select(Coupon)
        .where(Coupon.org_id == ctx.org.id, Coupon.status == CouponStatus.AVAILABLE)
        .order_by(Coupon.id.desc())
        .limit(3)
    ).all()
    for coupon in coupons:
        coupon.expires_on = yesterday
    session.flush()
    expire_due(session, ctx.org.id)


def seed_rewards(session: Session, ctx: DemoContext) -> None:
    org_id = ctx.org.id
    everyday = _program(session, org_id, "老带新 · 一起美")
    vip = _program(session, org_id, "VIP 推荐有礼")
    regulars = session.scalars(
        select(Customer)
        .where(
            Customer.org_id == org_id,
            Customer.merged_into_id.is_(None),
            Customer.erased_at.is_(None),
            Customer.owner_id.is_not(None),
        )
        .order_by(Customer.id)
        .limit(14)
    ).all()
    champion = None
    if len(regulars) >= 4:  # a tiny demo tenant skips the star referrer
        champion, *vips = regulars[-4:]
        for index in range(STAR_FRIENDS):
            _refer_and_buy(session, ctx, champion, everyday, Decimal(588), days_ago=40 - index * 6)
        for index, referrer in enumerate(vips):
            _refer_and_buy(session, ctx, referrer, vip, Decimal(680 + 100 * index), 20 - index * 7)
    session.flush()
    _age_holds(session, org_id)
    release_due(session, org_id)
    # The champion is an agent now: friends' repeat visits pay commission.
    friends = (
        session.scalars(
            select(ReferralLead.referee_customer_id).where(
                ReferralLead.org_id == org_id,
                ReferralLead.referrer_customer_id == champion.id,
                ReferralLead.status == LeadStatus.CONVERTED,
            )
        ).all()
        if champion is not None
        else []
    )
    for friend_id in friends[:4]:
        if friend_id is not None:
            create_order(
                session,
                ctx.actor(OWNER),
                OrderCreate(customer_id=friend_id, amount=Decimal(880), channel="到店"),
            )
    _age_holds(session, org_id)
    release_due(session, org_id, utcnow() - timedelta(hours=1))
    if len(regulars) >= 8:
        _suspicious(session, ctx, regulars)
    _use_rewards(session, ctx)
    _refund_some(session, ctx)
    _expire_some(session, ctx)
    # Saved last: the seeded rewards are history, only rewards from now on send messages.
    for draft in TEMPLATES:
        save_template(session, ctx.actor(OWNER), draft)
    assert ledger.verify(session, org_id).ok
    session.commit()
