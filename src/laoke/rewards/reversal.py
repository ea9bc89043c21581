"""Taking a reward back: on a refund, a declined review or a correction.

A held reward simply goes back. A released one is clawed back from what is still unspent;
the part already spent is recorded as owed (a receivable, settled from the customer's next
rewards), so no balance ever goes below zero. Refunding an order also gives back the points
and coupon redeemed on it.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from laoke.db import utcnow
from laoke.errors import N_
from laoke.events.bus import emit
from laoke.rewards import ledger
from laoke.rewards.holds import PENDING, coupon_of, units
from laoke.rewards.issuing import event_payload
from laoke.rewards.models import (
    ASSET_OF_KIND,
    AccountKind,
    Asset,
    CouponStatus,
    LedgerHead,
    Operation,
    Reward,
    RewardKind,
    RewardStatus,
)

REVERSAL_REASONS = {
    "refund": N_("The order that earned it was refunded."),
    "fraud_declined": N_("The referral was declined in review."),
    "correction": N_("Corrected by staff."),
}


def reverse(
    session: Session,
    head: LedgerHead,
    reward: Reward,
    *,
    reason: str,
    now: datetime | None = None,
    actor_id: int | None = None,
) -> bool:
    """Reverse one reward (the caller holds the ledger lock); False if nothing was left to do."""
    if reward.status in (RewardStatus.REVERSED, RewardStatus.CAPPED):
        return False
    now = now or utcnow()
    org_id, customer_id = reward.org_id, reward.customer_id
    asset = ASSET_OF_KIND[RewardKind(reward.kind)]
    coupon = coupon_of(session, reward) if reward.kind == RewardKind.COUPON else None
    coupon_id = coupon.id if coupon else None
    issued = ledger.account(session, org_id, asset, AccountKind.ISSUED) if asset else None

    def move(operation: Operation, amount: Decimal, kind: AccountKind) -> None:
        assert asset is not None
        assert issued is not None
        if amount <= 0:
            return
        source = ledger.account(session, org_id, asset, kind, customer_id)
        ledger.post(
            session,
            head,
            ledger.Posting(
                operation,
                asset,
                amount,
                debit=source,
                credit=issued,
                reward_id=reward.id,
                coupon_id=coupon_id,
                order_id=reward.order_id,
                memo=reason,
                actor_id=actor_id,
            ),
        )

    if asset is not None:
        amount = units(reward, asset)
        if reward.status in PENDING:
            move(Operation.REVERSE, amount, AccountKind.HELD)
        elif reward.status == RewardStatus.RELEASED:
            unspent = _unspent(session, reward, asset, amount, coupon)
            move(Operation.CLAWBACK, unspent, AccountKind.AVAILABLE)
            move(Operation.RECEIVABLE, amount - unspent, AccountKind.RECEIVABLE)
        elif reward.status == RewardStatus.REDEEMED:
            move(Operation.RECEIVABLE, amount, AccountKind.RECEIVABLE)
        # An expired reward already left the customer's balance: nothing to take back.
    if coupon is not None and coupon.status in (CouponStatus.HELD, CouponStatus.AVAILABLE):
        coupon.status = CouponStatus.VOID
    reward.status = RewardStatus.REVERSED
    reward.status_reason = reason
    reward.reversed_at = now
    session.flush()
    emit(
        session,
        org_id,
        "reward.reversed",
        subject_type="reward",
        subject_id=reward.id,
        payload=event_payload(reward),
    )
    return True


def _unspent(
    session: Session, reward: Reward, asset: Asset, amount: Decimal, coupon: object
) -> Decimal:
    """How much of a released reward can still be taken from the customer's balance."""
    if asset == Asset.COUPON:
        usable = coupon is not None and coupon.status == CouponStatus.AVAILABLE  # type: ignore[attr-defined]
        return Decimal(1) if usable else Decimal(0)
    available = ledger.balance(
        session, reward.org_id, asset, AccountKind.AVAILABLE, reward.customer_id
    )
    # A settled reward paid off a debt first: only what reached the balance can come back.
    return min(available, amount)


def reverse_for_order(session: Session, org_id: int, order_id: int, reason: str = "refund") -> int:
    """An order was refunded or cancelled: reverse what it earned, restore what it used."""
    head = ledger.lock(session, org_id)
    rewards = list(
        session.scalars(
            select(Reward)
            .where(Reward.org_id == org_id, Reward.order_id == order_id)
            .order_by(Reward.id)
        )
    )
    count = sum(reverse(session, head, reward, reason=reason) for reward in rewards)
    from laoke.rewards.redeeming import restore_redemptions

    restore_redemptions(session, head, org_id, order_id)
    return count
