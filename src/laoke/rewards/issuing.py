"""Issuing a reward: idempotency, caps and budgets, then the `issue` entry into held.

`issue()` is the one way a reward comes to exist. It takes an idempotency key: the same key
with the same request returns the reward issued the first time; the same key with a
different request is refused. Caps and budgets are counted after the tenant's ledger lock,
so concurrent requests cannot both squeeze under a cap.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from laoke.customers.models import Customer
from laoke.db import utcnow
from laoke.errors import N_, Conflict, Invalid
from laoke.events.bus import emit
from laoke.orders.models import Order, OrderStatus
from laoke.referrals.models import ReferralProgram
from laoke.rewards import ledger
from laoke.rewards.models import (
    ASSET_OF_KIND,
    LIVE_STATUSES,
    AccountKind,
    Coupon,
    CouponKind,
    CouponStatus,
    Operation,
    Reward,
    RewardKind,
    RewardStatus,
)
from laoke.rewards.settings import default_hold_days, settings_of, timezone_of

COUPON_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
MAX_KEY_LENGTH = 120


@dataclass(frozen=True)
class IssueRequest:
    customer_id: int
    kind: RewardKind
    amount: Decimal
    label: str = ""
    program_id: int | None = None
    rule_id: int | None = None
    tier_id: int | None = None
    lead_id: int | None = None
    order_id: int | None = None
    source: str = "manual"
    source_id: int | None = None
    hold_days: int | None = None
    coupon_kind: CouponKind | None = None
    min_spend: Decimal | None = None
    valid_days: int | None = None
    cap_per_month: int | None = None
    cap_lifetime: int | None = None

    def fingerprint(self) -> str:
        data: dict[str, Any] = asdict(self)
        for name, value in data.items():
            if isinstance(value, Decimal):
                data[name] = format(value.normalize(), "f")
        return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def check_key(key: str) -> str:
    key = (key or "").strip()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise Invalid(
            N_("An idempotency key of 1 to 120 printable characters is required."),
            code="idempotency_key_required",
            field="idempotency_key",
        )
    return key


def _check_request(request: IssueRequest) -> None:
    amount = Decimal(request.amount)
    needs_amount = request.kind in (
        RewardKind.POINTS,
        RewardKind.CASH,
        RewardKind.COMMISSION,
        RewardKind.COUPON,
    )
    if amount < 0 or (needs_amount and amount <= 0) or not amount.is_finite():
        raise Invalid(N_("The reward amount must be above zero."), field="amount")
    if amount > Decimal("1000000"):
        raise Invalid(N_("The reward amount is too large."), field="amount")
    if request.kind == RewardKind.POINTS and amount != amount.to_integral_value():
        raise Invalid(N_("Points are whole numbers."), field="amount")
    percent = request.kind == RewardKind.COUPON and request.coupon_kind == CouponKind.PERCENT
    if percent and not 0 < amount < 100:
        raise Invalid(N_("A percent coupon takes between 1 and 99 percent off."), field="amount")
    if request.kind in (RewardKind.PRIVILEGE, RewardKind.HONOUR) and not request.label.strip():
        raise Invalid(N_("Name the privilege or title."), field="label")
    if request.hold_days is not None and not 0 <= request.hold_days <= 365:
        raise Invalid(N_("The hold period is between 0 and 365 days."), field="hold_days")


def cost_of(request: IssueRequest, point_value: Decimal) -> Decimal:
    """What the reward costs the business in yuan (a percent coupon at its minimum spend)."""
    amount = Decimal(request.amount)
    match request.kind:
        case RewardKind.POINTS:
            return (amount * point_value).quantize(ledger.CENT)
        case RewardKind.CASH | RewardKind.COMMISSION | RewardKind.GIFT:
            return amount.quantize(ledger.CENT)
        case RewardKind.COUPON if request.coupon_kind == CouponKind.PERCENT:
            return (amount / 100 * (request.min_spend or Decimal(0))).quantize(ledger.CENT)
        case RewardKind.COUPON:
            return amount.quantize(ledger.CENT)
    return Decimal(0)


def _month_start(now: datetime, timezone: str) -> datetime:
    from zoneinfo import ZoneInfo

    local = now.astimezone(ZoneInfo(timezone))
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _cap_reason(session: Session, org_id: int, request: IssueRequest, cost: Decimal) -> str | None:
    if request.rule_id is not None and (request.cap_per_month or request.cap_lifetime):
        counted = select(func.count(Reward.id)).where(
            Reward.org_id == org_id,
            Reward.rule_id == request.rule_id,
            Reward.customer_id == request.customer_id,
            Reward.status.in_(LIVE_STATUSES),
        )
        if request.cap_lifetime and (session.scalar(counted) or 0) >= request.cap_lifetime:
            return "cap_lifetime"
        if request.cap_per_month:
            since = _month_start(utcnow(), timezone_of(session, org_id))
            month = session.scalar(counted.where(Reward.created_at >= since)) or 0
            if month >= request.cap_per_month:
                return "cap_per_month"
    if request.program_id is not None and cost > 0:
        program = session.get(ReferralProgram, request.program_id)
        if program is not None and program.reward_budget is not None:
            spent = session.scalar(
                select(func.coalesce(func.sum(Reward.cost), 0)).where(
                    Reward.org_id == org_id,
                    Reward.program_id == request.program_id,
                    Reward.status.in_(LIVE_STATUSES),
                )
            )
            if Decimal(spent) + cost > program.reward_budget:
                return "budget"
    return None


CAP_REASONS = {
    "cap_lifetime": N_("The referrer reached this reward's lifetime cap."),
    "cap_per_month": N_("The referrer reached this reward's monthly cap."),
    "budget": N_("The program's reward budget is spent."),
}


def _beneficiary(session: Session, org_id: int, customer_id: int) -> Customer:
    customer = session.get(Customer, customer_id)
    if customer is None or customer.org_id != org_id:
        raise Invalid(N_("No such customer."), code="customer_not_found", field="customer_id")
    if customer.merged_into_id is not None or customer.erased_at is not None:
        raise Invalid(N_("This customer can no longer change."), code="customer_inactive")
    return customer


def _check_earning_order(session: Session, org_id: int, order_id: int | None) -> None:
    """A refunded or cancelled order earns nothing more.

    Read under the ledger lock: a refund reverses its order's rewards under that lock too,
    so either the refund sees this reward and reverses it, or this sees the refund.
    """
    if order_id is None:
        return
    order = session.get(Order, order_id, populate_existing=True)
    if order is None or order.org_id != org_id:
        raise Invalid(N_("No such order."), code="order_not_found", field="order_id")
    if order.status != OrderStatus.PAID:
        raise Conflict(N_("The order that earned it was refunded."), code="order_not_paid")


def _new_coupon_code(session: Session, org_id: int) -> str:
    while True:
        code = "".join(secrets.choice(COUPON_ALPHABET) for _ in range(10))
        taken = session.scalar(
            select(Coupon.id).where(Coupon.org_id == org_id, Coupon.code == code)
        )
        if taken is None:
            return code


def find_by_key(session: Session, org_id: int, key: str) -> Reward | None:
    return session.scalar(
        select(Reward).where(Reward.org_id == org_id, Reward.idempotency_key == key)
    )


def issue(
    session: Session,
    org_id: int,
    request: IssueRequest,
    key: str,
    *,
    actor_id: int | None = None,
    now: datetime | None = None,
) -> tuple[Reward, bool]:
    """Issue once per key; returns the reward and whether this call created it."""
    key = check_key(key)
    _check_request(request)
    head = ledger.lock(session, org_id)
    fingerprint = request.fingerprint()
    existing = find_by_key(session, org_id, key)
    if existing is not None:
        if existing.request_hash != fingerprint:
            raise Conflict(
                N_("This idempotency key was already used for a different reward."),
                code="idempotency_key_reused",
                field="idempotency_key",
            )
        return existing, False
    if request.rule_id is not None and request.lead_id is not None:
        same = session.scalar(
            select(Reward).where(
                Reward.org_id == org_id,
                Reward.rule_id == request.rule_id,
                Reward.lead_id == request.lead_id,
                Reward.customer_id == request.customer_id,
            )
        )
        if same is not None:
            raise Conflict(N_("This referral already earned this reward."), code="reward_exists")
    _beneficiary(session, org_id, request.customer_id)
    _check_earning_order(session, org_id, request.order_id)
    now = now or utcnow()
    settings = settings_of(session, org_id)
    cost = cost_of(request, settings.point_value)
    hold_days = request.hold_days
    if hold_days is None:
        hold_days = default_hold_days(settings)
    reward = Reward(
        org_id=org_id,
        customer_id=request.customer_id,
        kind=request.kind,
        amount=Decimal(request.amount),
        cost=cost,
        label=request.label.strip()[:100],
        status=RewardStatus.HELD,
        program_id=request.program_id,
        rule_id=request.rule_id,
        tier_id=request.tier_id,
        lead_id=request.lead_id,
        order_id=request.order_id,
        source=request.source,
        source_id=request.source_id,
        idempotency_key=key,
        request_hash=fingerprint,
        hold_until=now + timedelta(days=hold_days),
        valid_days=request.valid_days,
        created_by_id=actor_id,
        created_at=now,
    )
    capped = _cap_reason(session, org_id, request, cost)
    if capped is not None:
        reward.status = RewardStatus.CAPPED
        reward.status_reason = capped
        reward.hold_until = None
        session.add(reward)
        session.flush()
        return reward, True
    session.add(reward)
    session.flush()
    asset = ASSET_OF_KIND[RewardKind(request.kind)]
    coupon = None
    if request.kind == RewardKind.COUPON:
        coupon = Coupon(
            org_id=org_id,
            reward_id=reward.id,
            customer_id=request.customer_id,
            code=_new_coupon_code(session, org_id),
            kind=request.coupon_kind or CouponKind.FIXED,
            value=Decimal(request.amount),
            min_spend=request.min_spend,
            status=CouponStatus.HELD,
        )
        session.add(coupon)
        session.flush()
    if asset is not None:
        units = Decimal(1) if asset in (ledger.Asset.COUPON, ledger.Asset.GIFT) else reward.amount
        ledger.post(
            session,
            head,
            ledger.Posting(
                Operation.ISSUE,
                asset,
                units,
                debit=ledger.account(session, org_id, asset, AccountKind.ISSUED),
                credit=ledger.account(
                    session, org_id, asset, AccountKind.HELD, request.customer_id
                ),
                reward_id=reward.id,
                coupon_id=coupon.id if coupon else None,
                order_id=request.order_id,
                memo=request.label[:200],
                actor_id=actor_id,
            ),
        )
    emit(
        session,
        org_id,
        "reward.issued",
        subject_type="reward",
        subject_id=reward.id,
        payload=event_payload(reward),
    )
    if hold_days == 0:
        from laoke.rewards.holds import release

        release(session, head, reward, now=now)
    return reward, True


def issue_once(
    session: Session, org_id: int, request: IssueRequest, key: str, *, now: datetime | None = None
) -> Reward | None:
    """For automatic issuers: a key already used means done, whatever the request was then."""
    existing = find_by_key(session, org_id, key)
    if existing is not None:
        return existing
    try:
        with session.begin_nested():
            reward, _ = issue(session, org_id, request, key, now=now)
    except Conflict:
        return None
    return reward


def event_payload(reward: Reward) -> dict[str, Any]:
    return {
        "reward_id": reward.id,
        "customer_id": reward.customer_id,
        "kind": str(reward.kind),
        "amount": format(Decimal(reward.amount).normalize(), "f"),
        "status": str(reward.status),
    }
