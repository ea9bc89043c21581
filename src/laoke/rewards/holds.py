"""Hold → release: a reward becomes usable once its hold period is over and its referral is
not waiting for fraud review. What the customer still owes (a receivable from an earlier
clawback) is settled first from what is released."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from laoke.db import Database, utcnow
from laoke.events.bus import emit
from laoke.rewards import ledger
from laoke.rewards.issuing import event_payload
from laoke.rewards.models import (
    ASSET_OF_KIND,
    AccountKind,
    Asset,
    Coupon,
    CouponStatus,
    LedgerHead,
    Operation,
    Reward,
    RewardKind,
    RewardStatus,
)
from laoke.rewards.settings import settings_of, tenant_today
from laoke.tenancy.service import OrgInfo

PENDING = (RewardStatus.HELD, RewardStatus.IN_REVIEW)


def review_block(session: Session, reward: Reward) -> str | None:
    """ "review" or "declined" while the reward's referral is flagged; None otherwise."""
    if reward.lead_id is None:
        return None
    from laoke.fraud.review import release_block

    return release_block(session, reward.org_id, reward.lead_id)


def coupon_of(session: Session, reward: Reward) -> Coupon | None:
    return session.scalar(
        select(Coupon).where(Coupon.org_id == reward.org_id, Coupon.reward_id == reward.id)
    )


def units(reward: Reward, asset: Asset) -> Decimal:
    return Decimal(1) if asset in (Asset.COUPON, Asset.GIFT) else Decimal(reward.amount)


def release(
    session: Session, head: LedgerHead, reward: Reward, *, now: datetime | None = None
) -> RewardStatus:
    """Release one held reward (the caller holds the ledger lock); returns its new status."""
    if reward.status not in PENDING:
        return RewardStatus(reward.status)
    now = now or utcnow()
    block = review_block(session, reward)
    if block == "declined":
        from laoke.rewards.reversal import reverse

        reverse(session, head, reward, reason="fraud_declined", now=now)
        return RewardStatus(reward.status)
    if block is not None:
        reward.status = RewardStatus.IN_REVIEW
        session.flush()
        return RewardStatus.IN_REVIEW
    org_id, customer_id = reward.org_id, reward.customer_id
    asset = ASSET_OF_KIND[RewardKind(reward.kind)]
    coupon = coupon_of(session, reward) if reward.kind == RewardKind.COUPON else None
    if asset is not None:
        amount = units(reward, asset)
        held = ledger.account(session, org_id, asset, AccountKind.HELD, customer_id)
        owed = ledger.balance(session, org_id, asset, AccountKind.RECEIVABLE, customer_id)
        settle = min(owed, amount)
        if settle > 0:
            ledger.post(
                session,
                head,
                ledger.Posting(
                    Operation.SETTLE,
                    asset,
                    settle,
                    debit=held,
                    credit=ledger.account(
                        session, org_id, asset, AccountKind.RECEIVABLE, customer_id
                    ),
                    reward_id=reward.id,
                    coupon_id=coupon.id if coupon else None,
                ),
            )
            reward.settled_at = now
        rest = amount - settle
        if rest > 0:
            available = ledger.account(session, org_id, asset, AccountKind.AVAILABLE, customer_id)
            ledger.post(
                session,
                head,
                ledger.Posting(
                    Operation.RELEASE,
                    asset,
                    rest,
                    debit=held,
                    credit=available,
                    reward_id=reward.id,
                    coupon_id=coupon.id if coupon else None,
                ),
            )
    today = tenant_today(session, org_id, now)
    settings = settings_of(session, org_id)
    if reward.kind == RewardKind.POINTS:
        reward.expires_on = today + timedelta(days=settings.points_valid_days)
    elif reward.kind == RewardKind.PRIVILEGE and reward.valid_days:
        reward.expires_on = today + timedelta(days=reward.valid_days)
    if coupon is not None:
        if reward.settled_at is not None:
            coupon.status = CouponStatus.VOID  # it paid off a coupon clawed back earlier
        else:
            coupon.status = CouponStatus.AVAILABLE
            days = reward.valid_days
            coupon.expires_on = today + timedelta(days=days) if days else None
    reward.status = RewardStatus.RELEASED
    reward.released_at = now
    session.flush()
    emit(
        session,
        org_id,
        "reward.released",
        subject_type="reward",
        subject_id=reward.id,
        payload=event_payload(reward),
    )
    from laoke.rewards.notices import reward_released

    reward_released(session, reward)
    return RewardStatus.RELEASED


def due_rewards(session: Session, org_id: int, now: datetime, limit: int = 500) -> list[int]:
    return list(
        session.scalars(
            select(Reward.id)
            .where(
                Reward.org_id == org_id,
                Reward.status == RewardStatus.HELD,
                Reward.hold_until <= now,
            )
            .order_by(Reward.hold_until, Reward.id)
            .limit(limit)
        )
    )


def release_due(session: Session, org_id: int, now: datetime | None = None) -> int:
    """Release every reward whose hold is over (the caller commits); returns how many."""
    now = now or utcnow()
    released = 0
    while True:
        if not due_rewards(session, org_id, now, limit=1):
            return released
        head = ledger.lock(session, org_id)
        # Asked again under the lock: the answer then includes every reward committed
        # before it (PostgreSQL reads each statement afresh), so a release takes in all
        # that is due at the moment it runs, as a one-at-a-time replay would.
        ids = due_rewards(session, org_id, now)
        for reward_id in ids:
            reward = session.get(Reward, reward_id)
            # Count only what this call releases.
            if reward is None or reward.status not in PENDING:
                continue
            if release(session, head, reward, now=now) == RewardStatus.RELEASED:
                released += 1
        if len(ids) < 500:
            return released


def release_job(database: Database, org: OrgInfo, now: datetime) -> int:
    """Scheduled: release the tenant's rewards whose hold period is over."""
    with database.unit_of_work() as session:
        count = release_due(session, org.id, now)
        session.commit()
    return count


def after_review(session: Session, org_id: int, lead_id: int, outcome: str) -> int:
    """A reviewer decided on a flagged referral: release or reverse its waiting rewards."""
    head = ledger.lock(session, org_id)
    rewards = list(
        session.scalars(
            select(Reward).where(
                Reward.org_id == org_id,
                Reward.lead_id == lead_id,
                Reward.status.in_(PENDING),
            )
        )
    )
    now = utcnow()
    changed = 0
    for reward in rewards:
        if outcome == "declined":
            from laoke.rewards.reversal import reverse

            reverse(session, head, reward, reason="fraud_declined", now=now)
            changed += 1
        elif reward.status == RewardStatus.IN_REVIEW or (
            reward.hold_until is not None and reward.hold_until <= now
        ):
            reward.status = RewardStatus.HELD
            if release(session, head, reward, now=now) == RewardStatus.RELEASED:
                changed += 1
    return changed
