"""A customer's wallet: what they hold, what is on its way and what they owe, read from the
ledger's balances (`ledger.customer_balances`) with the rows that explain them (coupons,
gifts, privileges, titles, the ladder).

Nothing here writes: the balances are the ledger's, the detail rows only describe them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from laoke.referrals.models import ReferralLead, ReferralProgram
from laoke.rewards import ledger
from laoke.rewards.expiry import lapsing_soon
from laoke.rewards.models import (
    Agent,
    Asset,
    Coupon,
    CouponKind,
    CouponStatus,
    Reward,
    RewardKind,
    RewardStatus,
    RewardTier,
)
from laoke.rewards.settings import settings_of, tenant_today
from laoke.rewards.triggers import successful_referrals, tiers_of


@dataclass(frozen=True)
class PointsView:
    available: Decimal
    held: Decimal
    owed: Decimal
    lapsing_soon: Decimal
    lapses_on: date | None
    # What the usable points are worth in yuan at the tenant's point value.
    value: Decimal


@dataclass(frozen=True)
class CouponView:
    id: int
    reward_id: int
    code: str
    kind: CouponKind
    value: Decimal
    min_spend: Decimal | None
    expires_on: date | None
    status: CouponStatus

    @property
    def usable(self) -> bool:
        return self.status == CouponStatus.AVAILABLE


@dataclass(frozen=True)
class CashView:
    available: Decimal  # owed to the customer, waiting to be paid out
    held: Decimal
    owed: Decimal  # clawed back after it was paid: the customer owes it


@dataclass(frozen=True)
class RewardLine:
    reward_id: int
    kind: RewardKind
    label: str
    status: RewardStatus
    until: date | None = None


@dataclass(frozen=True)
class Ladder:
    """Where the customer stands on one program's ladder."""

    program_id: int
    program_name: str
    successful: int
    tier_title: str | None
    tier_threshold: int | None
    next_title: str | None
    next_threshold: int | None


@dataclass(frozen=True)
class Wallet:
    customer_id: int
    points: PointsView
    coupons: list[CouponView]
    cash_payable: CashView
    gifts: list[RewardLine] = field(default_factory=list)
    privileges: list[RewardLine] = field(default_factory=list)
    titles: list[str] = field(default_factory=list)
    ladders: list[Ladder] = field(default_factory=list)
    commission_rate: Decimal | None = None

    @property
    def tier(self) -> Ladder | None:
        """The ladder with the highest tier reached (None when no tier is reached)."""
        reached = [ladder for ladder in self.ladders if ladder.tier_threshold is not None]
        return max(reached, key=lambda ladder: ladder.tier_threshold or 0, default=None)

    @property
    def next_step(self) -> Ladder | None:
        """The ladder closest to its next tier, for "N more friends to reach …"."""
        climbing = [ladder for ladder in self.ladders if ladder.next_threshold is not None]
        return min(
            climbing,
            key=lambda ladder: (ladder.next_threshold or 0) - ladder.successful,
            default=None,
        )

    @property
    def is_empty(self) -> bool:
        points, cash = self.points, self.cash_payable
        return not (
            points.available or points.held or points.owed or self.coupons or cash.available
        ) and not (cash.held or cash.owed or self.gifts or self.privileges or self.titles)


def _coupons(session: Session, org_id: int, customer_id: int) -> list[CouponView]:
    rows = session.scalars(
        select(Coupon)
        .where(
            Coupon.org_id == org_id,
            Coupon.customer_id == customer_id,
            Coupon.status.in_((CouponStatus.AVAILABLE, CouponStatus.HELD)),
        )
        .order_by(Coupon.expires_on.is_(None), Coupon.expires_on, Coupon.id)
    )
    return [
        CouponView(
            id=c.id,
            reward_id=c.reward_id,
            code=c.code,
            kind=CouponKind(c.kind),
            value=Decimal(c.value),
            min_spend=c.min_spend,
            expires_on=c.expires_on,
            status=CouponStatus(c.status),
        )
        for c in rows
    ]


def _lines(session: Session, org_id: int, customer_id: int) -> list[Reward]:
    """Gifts, privileges and titles still standing."""
    return list(
        session.scalars(
            select(Reward)
            .where(
                Reward.org_id == org_id,
                Reward.customer_id == customer_id,
                Reward.kind.in_((RewardKind.GIFT, RewardKind.PRIVILEGE, RewardKind.HONOUR)),
                Reward.status.in_(
                    (RewardStatus.HELD, RewardStatus.IN_REVIEW, RewardStatus.RELEASED)
                ),
            )
            .order_by(Reward.id)
        )
    )


def ladders_of(session: Session, org_id: int, customer_id: int) -> list[Ladder]:
    """The customer's standing on every ladder of a program they referred friends to."""
    programs = session.scalars(
        select(ReferralProgram)
        .where(
            ReferralProgram.org_id == org_id,
            ReferralProgram.id.in_(
                select(RewardTier.program_id).where(RewardTier.org_id == org_id)
            ),
            ReferralProgram.id.in_(
                select(ReferralLead.program_id).where(
                    ReferralLead.org_id == org_id,
                    ReferralLead.referrer_customer_id == customer_id,
                )
            ),
        )
        .order_by(ReferralProgram.id)
    )
    found = []
    for program in programs:
        count = successful_referrals(session, org_id, customer_id, program.id)
        reached: RewardTier | None = None
        upcoming: RewardTier | None = None
        for tier in tiers_of(session, org_id, program.id):
            if tier.threshold <= count:
                reached = tier
            elif upcoming is None:
                upcoming = tier
        found.append(
            Ladder(
                program_id=program.id,
                program_name=program.name,
                successful=count,
                tier_title=reached.title if reached else None,
                tier_threshold=reached.threshold if reached else None,
                next_title=upcoming.title if upcoming else None,
                next_threshold=upcoming.threshold if upcoming else None,
            )
        )
    return found


def wallet_of(
    session: Session, org_id: int, customer_id: int, *, today: date | None = None
) -> Wallet:
    """The customer's wallet now; the caller has checked the customer may be seen."""
    balances = ledger.customer_balances(session, org_id, customer_id)
    today = today or tenant_today(session, org_id)
    lapsing, lapses_on = lapsing_soon(session, org_id, customer_id, today)
    points = balances[Asset.POINTS]
    cash = balances[Asset.CASH]
    point_value = Decimal(settings_of(session, org_id).point_value)
    gifts, privileges, titles = [], [], []
    for reward in _lines(session, org_id, customer_id):
        line = RewardLine(
            reward.id,
            RewardKind(reward.kind),
            reward.label,
            RewardStatus(reward.status),
            reward.expires_on,
        )
        if reward.kind == RewardKind.GIFT:
            gifts.append(line)
        elif reward.status == RewardStatus.RELEASED and reward.kind == RewardKind.PRIVILEGE:
            privileges.append(line)
        elif reward.status == RewardStatus.RELEASED and reward.label not in titles:
            titles.append(reward.label)
    agent = session.scalar(
        select(Agent).where(
            Agent.org_id == org_id, Agent.customer_id == customer_id, Agent.active.is_(True)
        )
    )
    return Wallet(
        customer_id=customer_id,
        points=PointsView(
            available=points.available,
            held=points.held,
            owed=points.receivable,
            lapsing_soon=lapsing,
            lapses_on=lapses_on,
            value=(points.available * point_value).quantize(ledger.CENT),
        ),
        coupons=_coupons(session, org_id, customer_id),
        cash_payable=CashView(available=cash.available, held=cash.held, owed=cash.receivable),
        gifts=gifts,
        privileges=privileges,
        titles=titles,
        ladders=ladders_of(session, org_id, customer_id),
        commission_rate=Decimal(agent.commission_rate) if agent else None,
    )
