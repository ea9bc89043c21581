"""Expiry: points lapse `points_valid_days` after their release (oldest points are used
first), coupons and privileges on their last day; customers hear about points before
they lapse."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from laoke.db import Database, utcnow
from laoke.rewards import ledger
from laoke.rewards.models import (
    AccountKind,
    Asset,
    Coupon,
    CouponStatus,
    LedgerAccount,
    LedgerEntry,
    Operation,
    Reward,
    RewardKind,
    RewardStatus,
)
from laoke.rewards.settings import settings_of, tenant_today
from laoke.tenancy.service import OrgInfo

OUTFLOWS = (Operation.REDEEM, Operation.CLAWBACK, Operation.EXPIRE, Operation.TRANSFER)


def points_lapsing(session: Session, account: LedgerAccount, by: date) -> Decimal:
    """Points of this available account that are still unspent from releases expiring
    before `by`: released lots in order, minus everything that has left the account."""
    released = session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount), 0))
        .join(Reward, Reward.id == LedgerEntry.reward_id)
        .where(
            LedgerEntry.org_id == account.org_id,
            LedgerEntry.credit_account_id == account.id,
            LedgerEntry.operation == Operation.RELEASE,
            Reward.expires_on < by,
        )
    )
    spent = session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
            LedgerEntry.org_id == account.org_id,
            LedgerEntry.debit_account_id == account.id,
            LedgerEntry.operation.in_(OUTFLOWS),
        )
    )
    restored = session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
            LedgerEntry.org_id == account.org_id,
            LedgerEntry.credit_account_id == account.id,
            LedgerEntry.operation == Operation.RESTORE,
        )
    )
    due = Decimal(released) - (Decimal(spent) - Decimal(restored))
    return max(Decimal(0), min(due, Decimal(account.balance)))


def _points_accounts(session: Session, org_id: int) -> list[LedgerAccount]:
    return list(
        session.scalars(
            select(LedgerAccount).where(
                LedgerAccount.org_id == org_id,
                LedgerAccount.asset == Asset.POINTS,
                LedgerAccount.kind == AccountKind.AVAILABLE,
                LedgerAccount.balance > 0,
            )
        )
    )


def expire_due(session: Session, org_id: int, now: datetime | None = None) -> int:
    """Expire lapsed points, coupons and privileges (the caller commits); returns entries
    and statuses changed."""
    now = now or utcnow()
    today = tenant_today(session, org_id, now)
    head = ledger.lock(session, org_id)
    changed = 0
    expired_points = ledger.account(session, org_id, Asset.POINTS, AccountKind.EXPIRED)
    for account in _points_accounts(session, org_id):
        due = points_lapsing(session, account, today)
        if due > 0:
            ledger.post(
                session,
                head,
                ledger.Posting(
                    Operation.EXPIRE,
                    Asset.POINTS,
                    due,
                    debit=account,
                    credit=expired_points,
                    memo=f"lapsed by {today.isoformat()}",
                ),
            )
            changed += 1
    coupons = session.scalars(
        select(Coupon).where(
            Coupon.org_id == org_id,
            Coupon.status == CouponStatus.AVAILABLE,
            Coupon.expires_on < today,
        )
    )
    for coupon in list(coupons):
        ledger.post(
            session,
            head,
            ledger.Posting(
                Operation.EXPIRE,
                Asset.COUPON,
                Decimal(1),
                debit=ledger.account(
                    session, org_id, Asset.COUPON, AccountKind.AVAILABLE, coupon.customer_id
                ),
                credit=ledger.account(session, org_id, Asset.COUPON, AccountKind.EXPIRED),
                reward_id=coupon.reward_id,
                coupon_id=coupon.id,
            ),
        )
        coupon.status = CouponStatus.EXPIRED
        reward = session.get(Reward, coupon.reward_id)
        if reward is not None and reward.status == RewardStatus.RELEASED:
            reward.status = RewardStatus.EXPIRED
        changed += 1
    privileges = session.scalars(
        select(Reward).where(
            Reward.org_id == org_id,
            Reward.kind == RewardKind.PRIVILEGE,
            Reward.status == RewardStatus.RELEASED,
            Reward.expires_on < today,
        )
    )
    for reward in list(privileges):
        reward.status = RewardStatus.EXPIRED
        changed += 1
    session.flush()
    return changed


def expire_job(database: Database, org: OrgInfo, now: datetime) -> int:
    with database.unit_of_work() as session:
        count = expire_due(session, org.id, now)
        session.commit()
    return count


def lapsing_soon(
    session: Session, org_id: int, customer_id: int, today: date
) -> tuple[Decimal, date | None]:
    """Points that lapse within the reminder window, and the first day they lapse on."""
    account = session.scalar(
        select(LedgerAccount).where(
            LedgerAccount.org_id == org_id,
            LedgerAccount.owner_key == ledger.owner_key(customer_id),
            LedgerAccount.asset == Asset.POINTS,
            LedgerAccount.kind == AccountKind.AVAILABLE,
        )
    )
    if account is None or account.balance <= 0:
        return Decimal(0), None
    window = settings_of(session, org_id).expiry_reminder_days
    amount = points_lapsing(session, account, today + timedelta(days=window + 1))
    if amount <= 0:
        return Decimal(0), None
    first = session.scalar(
        select(func.min(Reward.expires_on)).where(
            Reward.org_id == org_id,
            Reward.customer_id == customer_id,
            Reward.kind == RewardKind.POINTS,
            Reward.status == RewardStatus.RELEASED,
            Reward.expires_on >= today,
        )
    )
    return amount, first


def reminder_job(database: Database, org: OrgInfo, now: datetime) -> int:
    """Scheduled: tell customers whose points lapse within the reminder window."""
    from laoke.rewards.notices import points_expiring

    queued = 0
    with database.unit_of_work() as session:
        today = tenant_today(session, org.id, now)
        for account in _points_accounts(session, org.id):
            if account.customer_id is None:
                continue
            amount, first = lapsing_soon(session, org.id, account.customer_id, today)
            if amount > 0 and first is not None:
                queued += points_expiring(session, org.id, account.customer_id, amount, first)
        session.commit()
    return queued
