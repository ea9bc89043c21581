"""Using points and coupons against an order, and giving them back when it is refunded."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from laoke.db import utcnow
from laoke.errors import N_, Conflict, Invalid, NotFound
from laoke.orders.models import Order, OrderStatus
from laoke.rewards import ledger
from laoke.rewards.issuing import check_key
from laoke.rewards.models import (
    AccountKind,
    Asset,
    Coupon,
    CouponKind,
    CouponStatus,
    LedgerHead,
    Operation,
    Redemption,
    Reward,
    RewardStatus,
)
from laoke.rewards.settings import settings_of, tenant_today


@dataclass(frozen=True)
class RedeemRequest:
    customer_id: int
    order_id: int
    points: Decimal = Decimal(0)
    coupon_id: int | None = None

    def fingerprint(self) -> str:
        text = f"{self.customer_id}|{self.order_id}|{Decimal(self.points).normalize():f}|{self.coupon_id}"
        return hashlib.sha256(text.encode()).hexdigest()


def coupon_discount(coupon: Coupon, order_amount: Decimal) -> Decimal:
    if coupon.kind == CouponKind.PERCENT:
        return (order_amount * Decimal(coupon.value) / 100).quantize(ledger.CENT)
    return min(Decimal(coupon.value), order_amount)


def _order(session: Session, org_id: int, request: RedeemRequest) -> Order:
    order = session.get(Order, request.order_id)
    if order is None or order.org_id != org_id:
        raise NotFound(N_("No such order."), code="order_not_found", field="order_id")
    if order.customer_id != request.customer_id:
        raise Invalid(N_("This order belongs to another customer."), field="order_id")
    if order.status != OrderStatus.PAID:
        raise Conflict(N_("Only a paid order can use points or coupons."), code="order_not_paid")
    return order


def _coupon(session: Session, org_id: int, request: RedeemRequest, order: Order) -> Coupon:
    coupon = session.get(Coupon, request.coupon_id)
    if coupon is None or coupon.org_id != org_id or coupon.customer_id != request.customer_id:
        raise NotFound(N_("No such coupon."), code="coupon_not_found", field="coupon_id")
    if coupon.status != CouponStatus.AVAILABLE:
        raise Conflict(N_("This coupon cannot be used now."), code="coupon_unusable")
    if coupon.expires_on is not None and coupon.expires_on < tenant_today(session, org_id):
        raise Conflict(N_("This coupon has expired."), code="coupon_expired")
    if coupon.min_spend is not None and Decimal(order.amount) < coupon.min_spend:
        raise Invalid(
            N_("The order is below the coupon's minimum spend of %(amount)s."),
            field="coupon_id",
            amount=f"{coupon.min_spend}",
        )
    return coupon


def redeem(
    session: Session,
    org_id: int,
    request: RedeemRequest,
    key: str,
    *,
    actor_id: int | None = None,
) -> tuple[Redemption, bool]:
    """Use points and/or one coupon on a paid order, once per idempotency key."""
    key = check_key(key)
    points = Decimal(request.points)
    if not points.is_finite() or points < 0 or points != points.to_integral_value():
        raise Invalid(N_("Points are whole numbers."), field="points")
    if points > Decimal("100000000"):
        raise Invalid(N_("Not enough points."), code="insufficient_points", field="points")
    if points == 0 and request.coupon_id is None:
        raise Invalid(N_("Choose points or a coupon to use."), field="points")
    head = ledger.lock(session, org_id)
    fingerprint = request.fingerprint()
    existing = session.scalar(
        select(Redemption).where(Redemption.org_id == org_id, Redemption.idempotency_key == key)
    )
    if existing is not None:
        if existing.request_hash != fingerprint:
            raise Conflict(
                N_("This idempotency key was already used for a different redemption."),
                code="idempotency_key_reused",
                field="idempotency_key",
            )
        return existing, False
    order = _order(session, org_id, request)
    settings = settings_of(session, org_id)
    coupon = _coupon(session, org_id, request, order) if request.coupon_id is not None else None
    value = (points * settings.point_value).quantize(ledger.CENT)
    if coupon is not None:
        value += coupon_discount(coupon, Decimal(order.amount))
    already = session.scalar(
        select(func.coalesce(func.sum(Redemption.value), 0)).where(
            Redemption.org_id == org_id,
            Redemption.order_id == order.id,
            Redemption.restored_at.is_(None),
        )
    )
    limit = (Decimal(order.amount) * settings.max_redeem_share).quantize(ledger.CENT)
    if Decimal(already) + value > limit:
        raise Invalid(
            N_("Points and coupons may pay at most %(limit)s of this order."),
            code="redeem_limit",
            field="points",
            limit=f"{limit}",
        )
    available = ledger.account(
        session, org_id, Asset.POINTS, AccountKind.AVAILABLE, request.customer_id
    )
    if points > Decimal(available.balance):
        raise Conflict(N_("Not enough points."), code="insufficient_points", field="points")
    redemption = Redemption(
        org_id=org_id,
        customer_id=request.customer_id,
        order_id=order.id,
        points=points,
        coupon_id=coupon.id if coupon else None,
        value=value,
        idempotency_key=key,
        request_hash=fingerprint,
        created_by_id=actor_id,
        created_at=utcnow(),
    )
    session.add(redemption)
    session.flush()
    if points > 0:
        ledger.post(
            session,
            head,
            ledger.Posting(
                Operation.REDEEM,
                Asset.POINTS,
                points,
                debit=available,
                credit=ledger.account(session, org_id, Asset.POINTS, AccountKind.REDEEMED),
                redemption_id=redemption.id,
                order_id=order.id,
                actor_id=actor_id,
            ),
        )
    if coupon is not None:
        ledger.post(
            session,
            head,
            ledger.Posting(
                Operation.REDEEM,
                Asset.COUPON,
                Decimal(1),
                debit=ledger.account(
                    session, org_id, Asset.COUPON, AccountKind.AVAILABLE, request.customer_id
                ),
                credit=ledger.account(session, org_id, Asset.COUPON, AccountKind.REDEEMED),
                reward_id=coupon.reward_id,
                coupon_id=coupon.id,
                redemption_id=redemption.id,
                order_id=order.id,
                actor_id=actor_id,
            ),
        )
        coupon.status = CouponStatus.USED
        coupon.used_order_id = order.id
        coupon.used_at = redemption.created_at
        reward = session.get(Reward, coupon.reward_id)
        if reward is not None and reward.status == RewardStatus.RELEASED:
            reward.status = RewardStatus.REDEEMED
    session.flush()
    return redemption, True


def restore_redemptions(
    session: Session, head: LedgerHead, org_id: int, order_id: int, now: datetime | None = None
) -> int:
    """Give back the points and coupons used on a refunded order (the caller holds the lock)."""
    now = now or utcnow()
    redemptions = list(
        session.scalars(
            select(Redemption).where(
                Redemption.org_id == org_id,
                Redemption.order_id == order_id,
                Redemption.restored_at.is_(None),
            )
        )
    )
    for redemption in redemptions:
        if redemption.points > 0:
            ledger.post(
                session,
                head,
                ledger.Posting(
                    Operation.RESTORE,
                    Asset.POINTS,
                    Decimal(redemption.points),
                    debit=ledger.account(session, org_id, Asset.POINTS, AccountKind.REDEEMED),
                    credit=ledger.account(
                        session, org_id, Asset.POINTS, AccountKind.AVAILABLE, redemption.customer_id
                    ),
                    redemption_id=redemption.id,
                    order_id=order_id,
                ),
            )
        if redemption.coupon_id is not None:
            coupon = session.get(Coupon, redemption.coupon_id)
            reward = session.get(Reward, coupon.reward_id) if coupon else None
            if coupon is not None and coupon.status == CouponStatus.USED:
                ledger.post(
                    session,
                    head,
                    ledger.Posting(
                        Operation.RESTORE,
                        Asset.COUPON,
                        Decimal(1),
                        debit=ledger.account(session, org_id, Asset.COUPON, AccountKind.REDEEMED),
                        credit=ledger.account(
                            session,
                            org_id,
                            Asset.COUPON,
                            AccountKind.AVAILABLE,
                            redemption.customer_id,
                        ),
                        reward_id=coupon.reward_id,
                        coupon_id=coupon.id,
                        redemption_id=redemption.id,
                        order_id=order_id,
                    ),
                )
                coupon.status = CouponStatus.AVAILABLE
                coupon.used_order_id = None
                coupon.used_at = None
                if reward is not None and reward.status == RewardStatus.REDEEMED:
                    reward.status = RewardStatus.RELEASED
        redemption.restored_at = now
    session.flush()
    return len(redemptions)
