"""The ledger's tricky cases, one by one: refunds before and after release, spent and
unspent, coupons, restored redemptions, FIFO expiry, the reminder window, customer merge."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from laoke.accounts.service import actor_for
from laoke.customers.merge import merge_customers
from laoke.db import utcnow
from laoke.errors import Conflict
from laoke.rewards import ledger
from laoke.rewards.expiry import expire_due, lapsing_soon
from laoke.rewards.holds import release_due
from laoke.rewards.issuing import IssueRequest, issue
from laoke.rewards.models import (
    Asset,
    Coupon,
    CouponKind,
    CouponStatus,
    LedgerEntry,
    Redemption,
    Reward,
    RewardKind,
    RewardStatus,
)
from laoke.rewards.redeeming import RedeemRequest, redeem
from laoke.rewards.settings import tenant_today
from tests.rewards.conftest import Rewards

D = Decimal


def points(rw: Rewards, customer_id: int) -> tuple[Decimal, Decimal, Decimal]:
    """(held, available, owed) points."""
    found = rw.balances(customer_id)[Asset.POINTS]
    return found.held, found.available, found.receivable


def redeem_points(
    rw: Rewards,
    customer_id: int,
    order_id: int,
    amount: int,
    key: str,
    coupon_id: int | None = None,
) -> Redemption:
    with rw.database.unit_of_work() as s:
        redemption, created = redeem(
            s,
            rw.cast.acme.id,
            RedeemRequest(customer_id, order_id, points=D(amount), coupon_id=coupon_id),
            key,
        )
        assert created
        s.commit()
        return redemption


def issue_at(rw: Rewards, request: IssueRequest, key: str, now: datetime | None = None) -> Reward:
    with rw.database.unit_of_work() as s:
        reward, _ = issue(s, rw.cast.acme.id, request, key, now=now)
        s.commit()
        return reward


def operations(rw: Rewards) -> list[tuple[str, str, Decimal]]:
    with rw.database.unit_of_work(write=False) as s:
        rows = s.execute(
            select(LedgerEntry.operation, LedgerEntry.asset, LedgerEntry.amount)
            .where(LedgerEntry.org_id == rw.cast.acme.id)
            .order_by(LedgerEntry.seq)
        )
        return [(str(op), str(asset), D(amount)) for op, asset, amount in rows]


def reward_of(rw: Rewards, reward_id: int) -> Reward:
    with rw.database.unit_of_work(write=False) as s:
        reward = s.get(Reward, reward_id)
        s.expunge_all()
        return reward


def assert_verified(rw: Rewards) -> None:
    result = rw.verify()
    assert result.ok, result.problems


def test_refund_after_release_claws_back_the_unspent_part_and_records_the_rest(
    rw: Rewards,
) -> None:
    wang = rw.customer()
    earning, spending = rw.order(wang.id, "300"), rw.order(wang.id, "1000")
    rw.issue(wang.id, 500, key="earn", order_id=earning)
    rw.release_all()
    redeem_points(rw, wang.id, spending, 300, "spend")
    assert points(rw, wang.id) == (0, 200, 0)

    rw.refund(earning)
    assert points(rw, wang.id) == (0, 0, 300)
    assert operations(rw)[-2:] == [
        ("clawback", "points", D(200)),
        ("receivable", "points", D(300)),
    ]
    assert rw.rewards(wang.id)[0].status == RewardStatus.REVERSED

    # The next reward pays the debt before anything reaches the balance.
    later = rw.issue(wang.id, 400, key="later")
    assert points(rw, wang.id) == (400, 0, 300)
    rw.release_all()
    assert points(rw, wang.id) == (0, 100, 0)
    assert operations(rw)[-2:] == [("settle", "points", D(300)), ("release", "points", D(100))]
    assert reward_of(rw, later.id).settled_at is not None
    assert_verified(rw)


def test_a_debt_larger_than_the_next_reward_is_settled_in_parts(rw: Rewards) -> None:
    wang = rw.customer()
    earning, spending = rw.order(wang.id, "300"), rw.order(wang.id, "1000")
    rw.issue(wang.id, 500, key="earn", order_id=earning)
    rw.release_all()
    redeem_points(rw, wang.id, spending, 500, "spend-all")
    rw.refund(earning)
    assert points(rw, wang.id) == (0, 0, 500)
    rw.issue(wang.id, 200, key="small")
    rw.release_all()
    assert points(rw, wang.id) == (0, 0, 300)
    rw.issue(wang.id, 1000, key="big")
    rw.release_all()
    assert points(rw, wang.id) == (0, 700, 0)
    assert_verified(rw)


def test_refund_while_held_is_a_plain_reverse(rw: Rewards) -> None:
    wang = rw.customer()
    earning = rw.order(wang.id)
    reward = rw.issue(wang.id, 500, key="earn", order_id=earning)
    assert points(rw, wang.id) == (500, 0, 0)
    rw.refund(earning)
    assert points(rw, wang.id) == (0, 0, 0)
    assert operations(rw) == [("issue", "points", D(500)), ("reverse", "points", D(500))]
    reversed_ = reward_of(rw, reward.id)
    assert (reversed_.status, reversed_.status_reason) == (RewardStatus.REVERSED, "refund")
    # Nothing is left to release, and a second refund finds nothing to do.
    assert rw.release_all() == 0
    assert_verified(rw)


def test_a_refunded_order_earns_no_new_reward(rw: Rewards) -> None:
    wang = rw.customer()
    earning = rw.order(wang.id)
    rw.refund(earning)
    with pytest.raises(Conflict) as refused:
        rw.issue(wang.id, 500, key="late", order_id=earning)
    assert refused.value.code == "order_not_paid"
    assert operations(rw) == []


def coupon_request(customer_id: int, order_id: int | None = None) -> IssueRequest:
    return IssueRequest(
        customer_id=customer_id,
        kind=RewardKind.COUPON,
        amount=D(20),
        coupon_kind=CouponKind.FIXED,
        order_id=order_id,
        hold_days=0,
    )


def coupon_of(rw: Rewards, reward_id: int) -> Coupon:
    with rw.database.unit_of_work(write=False) as s:
        coupon = s.scalar(select(Coupon).where(Coupon.reward_id == reward_id))
        s.expunge_all()
        return coupon


def test_a_used_coupon_whose_earning_order_is_refunded_is_owed(rw: Rewards) -> None:
    wang = rw.customer()
    earning, spending = rw.order(wang.id), rw.order(wang.id)
    reward = issue_at(rw, coupon_request(wang.id, earning), "coupon")
    coupon = coupon_of(rw, reward.id)
    assert coupon.status == CouponStatus.AVAILABLE
    redeem_points(rw, wang.id, spending, 0, "use-coupon", coupon_id=coupon.id)
    assert reward_of(rw, reward.id).status == RewardStatus.REDEEMED

    rw.refund(earning)
    coupons = rw.balances(wang.id)[Asset.COUPON]
    assert (coupons.available, coupons.receivable) == (0, 1)
    assert operations(rw)[-1] == ("receivable", "coupon", D(1))
    assert coupon_of(rw, reward.id).status == CouponStatus.USED  # it was used; it stays so

    # The next coupon pays the debt and is void, not usable.
    second = issue_at(rw, coupon_request(wang.id), "coupon-2")
    coupons = rw.balances(wang.id)[Asset.COUPON]
    assert (coupons.available, coupons.receivable) == (0, 0)
    assert coupon_of(rw, second.id).status == CouponStatus.VOID
    assert_verified(rw)


def test_an_unused_coupon_is_clawed_back_and_void(rw: Rewards) -> None:
    wang = rw.customer()
    earning = rw.order(wang.id)
    reward = issue_at(rw, coupon_request(wang.id, earning), "coupon")
    rw.refund(earning)
    coupons = rw.balances(wang.id)[Asset.COUPON]
    assert (coupons.available, coupons.receivable) == (0, 0)
    assert operations(rw)[-1] == ("clawback", "coupon", D(1))
    assert coupon_of(rw, reward.id).status == CouponStatus.VOID
    assert_verified(rw)


def test_a_coupon_voided_after_it_was_looked_at_is_not_used(rw: Rewards) -> None:
    """The coupon is read before the ledger lock, then voided by a refund elsewhere: the
    redemption looks again under the lock and refuses it (the race once used it anyway)."""
    if rw.database.is_sqlite:
        pytest.skip("a SQLite write session holds the write lock from its first statement")
    wang = rw.customer()
    earning, spending = rw.order(wang.id), rw.order(wang.id)
    issue_at(rw, coupon_request(wang.id), "spare")  # keeps the coupon balance above zero
    reward = issue_at(rw, coupon_request(wang.id, earning), "coupon")
    with rw.database.unit_of_work() as s:
        seen = s.scalar(select(Coupon).where(Coupon.reward_id == reward.id))
        assert seen.status == CouponStatus.AVAILABLE
        rw.refund(earning)
        with pytest.raises(Conflict) as refused:
            redeem(
                s,
                rw.cast.acme.id,
                RedeemRequest(wang.id, spending, coupon_id=seen.id),
                "use-voided",
            )
    assert refused.value.code == "coupon_unusable"
    assert coupon_of(rw, reward.id).status == CouponStatus.VOID
    assert_verified(rw)


def test_refunding_an_order_paid_with_points_and_a_coupon_gives_them_back(rw: Rewards) -> None:
    wang = rw.customer()
    spending = rw.order(wang.id, "1000")
    rw.issue(wang.id, 500, key="earn")
    rw.release_all()
    reward = issue_at(rw, coupon_request(wang.id), "coupon")
    coupon = coupon_of(rw, reward.id)
    redeem_points(rw, wang.id, spending, 200, "pay", coupon_id=coupon.id)
    assert points(rw, wang.id) == (0, 300, 0)

    rw.refund(spending)
    assert points(rw, wang.id) == (0, 500, 0)
    assert rw.balances(wang.id)[Asset.COUPON].available == 1
    assert coupon_of(rw, reward.id).status == CouponStatus.AVAILABLE
    assert reward_of(rw, reward.id).status == RewardStatus.RELEASED
    assert operations(rw)[-2:] == [("restore", "points", D(200)), ("restore", "coupon", D(1))]
    with rw.database.unit_of_work(write=False) as s:
        assert s.scalar(select(Redemption.restored_at)) is not None
    # The refunded order cannot be paid with points again.
    with pytest.raises(Conflict):
        redeem_points(rw, wang.id, spending, 100, "again")
    assert_verified(rw)


def release_on(rw: Rewards, when: datetime) -> None:
    with rw.database.unit_of_work() as s:
        release_due(s, rw.cast.acme.id, when)
        s.commit()


def expire_on(rw: Rewards, when: datetime) -> int:
    with rw.database.unit_of_work() as s:
        changed = expire_due(s, rw.cast.acme.id, when)
        s.commit()
        return changed


def today(rw: Rewards, when: datetime) -> date:
    with rw.database.unit_of_work(write=False) as s:
        return tenant_today(s, rw.cast.acme.id, when)


def two_lots(rw: Rewards, customer_id: int) -> tuple[datetime, Reward, Reward]:
    """100 points released now, 100 more released 100 days later."""
    start = utcnow()
    first = rw.issue(customer_id, 100, key="old", hold_days=0)
    second = rw.issue(customer_id, 100, key="new", hold_days=100)
    release_on(rw, start + timedelta(days=100, minutes=1))
    return start, reward_of(rw, first.id), reward_of(rw, second.id)


def test_points_expire_oldest_first_and_redemption_spends_the_oldest(rw: Rewards) -> None:
    wang = rw.customer()
    start, old, new = two_lots(rw, wang.id)
    assert (new.expires_on - old.expires_on).days == 100
    redeem_points(rw, wang.id, rw.order(wang.id), 30, "spend-30")

    # The day after the old lot's last day, what is left of it lapses: 100 - 30.
    assert expire_on(rw, start + timedelta(days=366)) == 1
    assert points(rw, wang.id) == (0, 100, 0)
    assert operations(rw)[-1] == ("expire", "points", D(70))
    assert expire_on(rw, start + timedelta(days=366)) == 0  # nothing twice

    # Spending in between eats into the newer lot next.
    redeem_points(rw, wang.id, rw.order(wang.id), 40, "spend-40")
    expire_on(rw, start + timedelta(days=467))
    assert points(rw, wang.id) == (0, 0, 0)
    assert operations(rw)[-1] == ("expire", "points", D(60))
    assert_verified(rw)


def test_spending_more_than_the_old_lot_leaves_nothing_of_it_to_expire(rw: Rewards) -> None:
    wang = rw.customer()
    start, _, _ = two_lots(rw, wang.id)
    redeem_points(rw, wang.id, rw.order(wang.id), 150, "spend-150")
    assert expire_on(rw, start + timedelta(days=366)) == 0
    assert points(rw, wang.id) == (0, 50, 0)
    expire_on(rw, start + timedelta(days=467))
    assert points(rw, wang.id) == (0, 0, 0)
    assert_verified(rw)


def test_restored_points_lapse_with_their_old_lot(rw: Rewards) -> None:
    wang = rw.customer()
    start, _, _ = two_lots(rw, wang.id)
    spending = rw.order(wang.id)
    redeem_points(rw, wang.id, spending, 100, "spend-old")
    rw.refund(spending)  # the 100 come back, and still belong to the old lot
    expire_on(rw, start + timedelta(days=366))
    assert points(rw, wang.id) == (0, 100, 0)
    assert_verified(rw)


def test_the_reminder_window_names_what_lapses_soon(rw: Rewards) -> None:
    wang = rw.customer()
    _, old, new = two_lots(rw, wang.id)

    def soon(days: int) -> tuple[Decimal, date | None]:
        with rw.database.unit_of_work(write=False) as s:
            return lapsing_soon(s, rw.cast.acme.id, wang.id, old.expires_on - timedelta(days))

    # 14 days of warning by default: the last day counts, the day before the window not.
    assert soon(15) == (0, None)
    assert soon(14) == (100, old.expires_on)
    assert soon(1) == (100, old.expires_on)
    redeem_points(rw, wang.id, rw.order(wang.id), 60, "spend-60")
    assert soon(14) == (40, old.expires_on)
    redeem_points(rw, wang.id, rw.order(wang.id), 40, "spend-40")
    assert soon(14) == (0, None)
    with rw.database.unit_of_work(write=False) as s:
        late = lapsing_soon(s, rw.cast.acme.id, wang.id, new.expires_on - timedelta(3))
    assert late == (100, new.expires_on)


def test_merging_customers_moves_balances_through_transfer_entries(rw: Rewards) -> None:
    wang = rw.customer("王小美", "+8613800138000")
    li = rw.customer("李小龙", "+8613900139000")
    rw.issue(wang.id, 500, key="wang")
    rw.release_all()
    earning, spending = rw.order(li.id), rw.order(li.id, "1000")
    rw.issue(li.id, 300, key="li-earn", order_id=earning)
    rw.release_all()
    redeem_points(rw, li.id, spending, 300, "li-spend")
    rw.refund(earning)  # li owes 300
    rw.issue(li.id, 200, key="li-held")  # and has 200 on hold
    assert points(rw, li.id) == (200, 0, 300)

    with rw.database.unit_of_work() as s:
        merge_customers(s, actor_for(rw.cast.alice), wang.id, li.id)
        s.commit()
    assert points(rw, li.id) == (0, 0, 0)
    assert points(rw, wang.id) == (200, 500, 300)
    assert [op for op, _, _ in operations(rw)[-2:]] == ["transfer", "transfer"]
    assert_verified(rw)

    # The moved reward releases to the kept customer and settles the moved debt.
    rw.release_all()
    assert points(rw, wang.id) == (0, 500, 100)
    assert_verified(rw)
    with rw.database.unit_of_work(write=False) as s:
        assert ledger.verify(s, rw.cast.acme.id).entries == len(operations(rw))
