"""Reading rewards and the ledger for people: the filtered reward list, one reward with its
entries and where it came from, counts per status, value per month, ledger pages and
accounts described in words.

A salesperson sees the rewards of their own customers only, like the customers themselves.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from laoke.accounts.actor import Actor
from laoke.accounts.roles import Permission
from laoke.customers.models import Customer
from laoke.customers.service import get_customer_for
from laoke.errors import N_, NotFound
from laoke.referrals.feedback import mask_name
from laoke.referrals.models import ReferralLead
from laoke.rewards.models import (
    AccountKind,
    Asset,
    Coupon,
    LedgerAccount,
    LedgerEntry,
    Redemption,
    Reward,
    RewardKind,
    RewardStatus,
    RewardTier,
)
from laoke.rewards.settings import timezone_of

ACCOUNT_KIND_LABELS = {
    AccountKind.HELD: N_("held"),
    AccountKind.AVAILABLE: N_("available"),
    AccountKind.RECEIVABLE: N_("owed by the customer"),
    AccountKind.ISSUED: N_("issued by the business"),
    AccountKind.REDEEMED: N_("used, paid out or handed over"),
    AccountKind.EXPIRED: N_("lapsed"),
}
ASSET_LABELS = {
    Asset.POINTS: N_("Points"),
    Asset.CASH: N_("Cash"),
    Asset.COUPON: N_("Coupon"),
    Asset.GIFT: N_("Gift"),
}
MAX_PER_PAGE = 200


@dataclass(frozen=True)
class RewardFilters:
    status: RewardStatus | None = None
    kind: RewardKind | None = None
    customer_id: int | None = None
    program_id: int | None = None


@dataclass(frozen=True)
class RewardPage:
    items: list[Reward]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _visible(actor: Actor, query: Select) -> Select:  # type: ignore[type-arg]
    query = query.where(Reward.org_id == actor.org_id)
    if not actor.can(Permission.SEE_ALL_CUSTOMERS):
        own = select(Customer.id).where(
            Customer.org_id == actor.org_id, Customer.owner_id == actor.user_id
        )
        query = query.where(Reward.customer_id.in_(own))
    return query


def _filtered(actor: Actor, query: Select, filters: RewardFilters) -> Select:  # type: ignore[type-arg]
    query = _visible(actor, query)
    if filters.status is not None:
        query = query.where(Reward.status == filters.status)
    if filters.kind is not None:
        query = query.where(Reward.kind == filters.kind)
    if filters.customer_id is not None:
        query = query.where(Reward.customer_id == filters.customer_id)
    if filters.program_id is not None:
        query = query.where(Reward.program_id == filters.program_id)
    return query


def list_rewards(
    session: Session, actor: Actor, filters: RewardFilters, *, page: int = 1, per_page: int = 50
) -> RewardPage:
    per_page = max(1, min(per_page, MAX_PER_PAGE))
    page = max(1, page)
    total = session.scalar(_filtered(actor, select(func.count(Reward.id)), filters)) or 0
    rows = session.scalars(
        _filtered(actor, select(Reward), filters)
        .order_by(Reward.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    return RewardPage(list(rows), total, page, per_page)


def status_counts(session: Session, actor: Actor, filters: RewardFilters) -> dict[str, int]:
    """How many rewards per status, under every filter but the status itself."""
    without_status = RewardFilters(None, filters.kind, filters.customer_id, filters.program_id)
    query = _filtered(actor, select(Reward.status, func.count(Reward.id)), without_status).group_by(
        Reward.status
    )
    found = {str(status): int(count) for status, count in session.execute(query)}
    return {str(status): found.get(str(status), 0) for status in RewardStatus}


def get_reward_for(session: Session, actor: Actor, reward_id: int) -> Reward:
    """The reward if this actor may see its customer, else NotFound."""
    reward = session.get(Reward, reward_id)
    if reward is None or reward.org_id != actor.org_id:
        raise NotFound(N_("No such reward."), code="reward_not_found")
    try:
        get_customer_for(session, actor, reward.customer_id)
    except NotFound:
        raise NotFound(N_("No such reward."), code="reward_not_found") from None
    return reward


def coupons_of(session: Session, rewards: Iterable[Reward]) -> dict[int, Coupon]:
    ids = [r.id for r in rewards if r.kind == RewardKind.COUPON]
    if not ids:
        return {}
    rows = session.scalars(select(Coupon).where(Coupon.reward_id.in_(ids)))
    return {c.reward_id: c for c in rows}


def entries_of(session: Session, reward: Reward) -> list[LedgerEntry]:
    """Every entry the reward caused, oldest first: its status history in the ledger."""
    return list(
        session.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.org_id == reward.org_id, LedgerEntry.reward_id == reward.id)
            .order_by(LedgerEntry.seq)
        )
    )


def lead_of(session: Session, reward: Reward) -> ReferralLead | None:
    if reward.lead_id is None:
        return None
    lead = session.get(ReferralLead, reward.lead_id)
    return lead if lead is not None and lead.org_id == reward.org_id else None


def tier_of(session: Session, reward: Reward) -> RewardTier | None:
    return session.get(RewardTier, reward.tier_id) if reward.tier_id else None


def rewards_of_lead(session: Session, actor: Actor, lead_id: int) -> list[Reward]:
    return list(
        session.scalars(
            _visible(actor, select(Reward)).where(Reward.lead_id == lead_id).order_by(Reward.id)
        )
    )


def customer_names(session: Session, org_id: int, ids: Iterable[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = session.execute(
        select(Customer.id, Customer.name).where(Customer.org_id == org_id, Customer.id.in_(wanted))
    )
    return {row.id: row.name for row in rows}


# --- value per month ----------------------------------------------------------------------


@dataclass(frozen=True)
class MonthlyValue:
    months: list[str]
    issued: list[float]
    redeemed: list[float]
    reversed: list[float]


def _month_keys(today: date, months: int) -> list[str]:
    keys = []
    year, month = today.year, today.month
    for _ in range(months):
        keys.append(f"{year:04d}-{month:02d}")
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return list(reversed(keys))


def monthly_value(session: Session, actor: Actor, now: datetime, months: int = 6) -> MonthlyValue:
    """Yuan issued, redeemed (points and coupons used on orders, cash paid out, gifts handed
    over) and reversed per month in the tenant's time, for the last `months` months."""
    zone = ZoneInfo(timezone_of(session, actor.org_id))
    keys = _month_keys(now.astimezone(zone).date(), months)
    first = datetime.fromisoformat(f"{keys[0]}-01").replace(tzinfo=zone)
    sums: dict[str, dict[str, Decimal]] = {
        name: defaultdict(Decimal) for name in ("issued", "redeemed", "reversed")
    }

    def add(name: str, at: datetime | None, amount: object) -> None:
        if at is not None:
            sums[name][at.astimezone(zone).strftime("%Y-%m")] += Decimal(str(amount or 0))

    issued = _visible(actor, select(Reward.created_at, Reward.cost)).where(
        Reward.created_at >= first, Reward.status != RewardStatus.CAPPED
    )
    for at, cost in session.execute(issued):
        add("issued", at, cost)
    reversed_ = _visible(actor, select(Reward.reversed_at, Reward.cost)).where(
        Reward.reversed_at >= first
    )
    for at, cost in session.execute(reversed_):
        add("reversed", at, cost)
    handed = _visible(actor, select(Reward.updated_at, Reward.cost)).where(
        Reward.status == RewardStatus.REDEEMED,
        Reward.kind.in_((RewardKind.CASH, RewardKind.COMMISSION, RewardKind.GIFT)),
        Reward.updated_at >= first,
    )
    for at, cost in session.execute(handed):
        add("redeemed", at, cost)
    used = select(Redemption.created_at, Redemption.value).where(
        Redemption.org_id == actor.org_id,
        Redemption.created_at >= first,
        Redemption.restored_at.is_(None),
    )
    if not actor.can(Permission.SEE_ALL_CUSTOMERS):
        used = used.where(
            Redemption.customer_id.in_(
                select(Customer.id).where(
                    Customer.org_id == actor.org_id, Customer.owner_id == actor.user_id
                )
            )
        )
    for at, value in session.execute(used):
        add("redeemed", at, value)
    return MonthlyValue(
        months=keys,
        issued=[float(sums["issued"][k]) for k in keys],
        redeemed=[float(sums["redeemed"][k]) for k in keys],
        reversed=[float(sums["reversed"][k]) for k in keys],
    )


# --- the ledger ---------------------------------------------------------------------------


def entries_page(
    session: Session,
    org_id: int,
    *,
    after_seq: int | None = None,
    before_seq: int | None = None,
    limit: int = 100,
) -> list[LedgerEntry]:
    """Entries by sequence: ascending after `after_seq`, or the newest before `before_seq`."""
    limit = max(1, min(limit, 1000))
    query = select(LedgerEntry).where(LedgerEntry.org_id == org_id)
    if before_seq is not None or after_seq is None:
        if before_seq is not None:
            query = query.where(LedgerEntry.seq < before_seq)
        return list(session.scalars(query.order_by(LedgerEntry.seq.desc()).limit(limit)))
    query = query.where(LedgerEntry.seq > after_seq)
    return list(session.scalars(query.order_by(LedgerEntry.seq).limit(limit)))


def accounts_by_id(session: Session, org_id: int) -> dict[int, LedgerAccount]:
    return {
        a.id: a
        for a in session.scalars(select(LedgerAccount).where(LedgerAccount.org_id == org_id))
    }


def describe_account(
    account: LedgerAccount | None,
    names: dict[int, str],
    gettext: Callable[[str], str],
    *,
    reveal: bool = True,
) -> str:
    """ "王小美 · Points · available", "Business · Cash · issued by the business"."""
    if account is None:
        return "?"
    if account.customer_id is None:
        owner = gettext(N_("The business"))
    else:
        name = names.get(account.customer_id) or f"#{account.customer_id}"
        owner = name if reveal else mask_name(name)
    asset = gettext(ASSET_LABELS.get(Asset(account.asset), str(account.asset)))
    kind = gettext(ACCOUNT_KIND_LABELS.get(AccountKind(account.kind), str(account.kind)))
    return f"{owner} · {asset} · {kind}"
