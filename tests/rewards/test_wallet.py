"""The wallet is the ledger read for people: balances after issue, release, redeem and
refund; coupons, gifts, titles, the ladder and lapsing points."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from laoke.db import utcnow
from laoke.errors import Conflict
from laoke.rewards import ledger
from laoke.rewards.expiry import expire_due
from laoke.rewards.issuing import IssueRequest, issue
from laoke.rewards.models import (
    Agent,
    CouponKind,
    RewardKind,
    RewardTier,
)
from laoke.rewards.redeeming import RedeemRequest, redeem
from laoke.rewards.settings import tenant_today
from laoke.rewards.wallet import Wallet, wallet_of
from tests.rewards.conftest import Rewards


def wallet(rw: Rewards, customer_id: int, today: date | None = None) -> Wallet:
    with rw.database.unit_of_work(write=False) as s:
        return wallet_of(s, rw.cast.acme.id, customer_id, today=today)


def give(rw: Rewards, customer_id: int, key: str, **fields) -> int:
    request = IssueRequest(customer_id=customer_id, **fields)
    with rw.database.unit_of_work() as s:
        reward, _ = issue(s, rw.cast.acme.id, request, key)
        s.commit()
        return reward.id


def use(rw: Rewards, customer_id: int, order_id: int, key: str, **fields) -> None:
    with rw.database.unit_of_work() as s:
        redeem(
            s,
            rw.cast.acme.id,
            RedeemRequest(customer_id=customer_id, order_id=order_id, **fields),
            key,
        )
        s.commit()


def test_an_empty_wallet_is_all_zero(rw: Rewards) -> None:
    wang = rw.customer()
    found = wallet(rw, wang.id)
    assert found.is_empty
    assert (found.points.available, found.points.held, found.cash_payable.available) == (0, 0, 0)
    assert found.coupons == [] and found.tier is None and found.commission_rate is None


def test_points_move_from_held_to_available_to_used_and_back_on_refund(rw: Rewards) -> None:
    wang = rw.customer()
    rw.issue(wang.id, 500, key="a")
    held = wallet(rw, wang.id).points
    assert (held.available, held.held) == (Decimal(0), Decimal(500))
    rw.release_all()
    released = wallet(rw, wang.id).points
    assert (released.available, released.held) == (Decimal(500), Decimal(0))
    assert released.value == Decimal("5.00")  # 500 × ¥0.01
    order = rw.order(wang.id, "300")
    use(rw, wang.id, order, "use-1", points=Decimal(200))
    assert wallet(rw, wang.id).points.available == Decimal(300)
    rw.refund(order)
    assert wallet(rw, wang.id).points.available == Decimal(500)
    assert rw.verify().ok


def test_a_points_reward_taken_back_after_it_was_spent_shows_as_owed(rw: Rewards) -> None:
    wang = rw.customer()
    reward = rw.issue(wang.id, 100, key="a")
    rw.release_all()
    order = rw.order(wang.id, "300")
    use(rw, wang.id, order, "use-1", points=Decimal(100))
    with rw.database.unit_of_work() as s:
        from laoke.rewards.models import Reward
        from laoke.rewards.reversal import reverse

        head = ledger.lock(s, rw.cast.acme.id)
        reverse(s, head, s.get(Reward, reward.id), reason="correction")
        s.commit()
    points = wallet(rw, wang.id).points
    assert (points.available, points.owed) == (Decimal(0), Decimal(100))


def test_coupons_cash_gifts_privileges_titles_are_listed(rw: Rewards) -> None:
    wang = rw.customer()
    give(
        rw,
        wang.id,
        "coupon",
        kind=RewardKind.COUPON,
        amount=Decimal(20),
        coupon_kind=CouponKind.FIXED,
        min_spend=Decimal(200),
        hold_days=0,
    )
    give(rw, wang.id, "cash", kind=RewardKind.CASH, amount=Decimal("35.50"), hold_days=0)
    give(rw, wang.id, "cash-held", kind=RewardKind.CASH, amount=Decimal(10))
    give(rw, wang.id, "gift", kind=RewardKind.GIFT, amount=Decimal(50), label="护手霜", hold_days=0)
    give(rw, wang.id, "vip", kind=RewardKind.PRIVILEGE, amount=Decimal(0), label="VIP", hold_days=0)
    give(
        rw,
        wang.id,
        "title",
        kind=RewardKind.HONOUR,
        amount=Decimal(0),
        label="推荐达人",
        hold_days=0,
    )
    found = wallet(rw, wang.id)
    assert [(c.value, c.min_spend, c.usable) for c in found.coupons] == [
        (Decimal(20), Decimal(200), True)
    ]
    assert found.cash_payable.available == Decimal("35.50")
    assert found.cash_payable.held == Decimal(10)
    assert [g.label for g in found.gifts] == ["护手霜"]
    assert [p.label for p in found.privileges] == ["VIP"]
    assert found.titles == ["推荐达人"]
    assert not found.is_empty


def test_a_used_coupon_leaves_the_wallet_and_comes_back_on_refund(rw: Rewards) -> None:
    wang = rw.customer()
    give(rw, wang.id, "c", kind=RewardKind.COUPON, amount=Decimal(20), hold_days=0)
    coupon = wallet(rw, wang.id).coupons[0]
    order = rw.order(wang.id, "300")
    use(rw, wang.id, order, "use-c", coupon_id=coupon.id)
    assert wallet(rw, wang.id).coupons == []
    rw.refund(order)
    assert [c.id for c in wallet(rw, wang.id).coupons] == [coupon.id]


def test_points_lapsing_soon_are_counted_with_their_first_day(rw: Rewards) -> None:
    wang = rw.customer()
    rw.issue(wang.id, 300, key="a", hold_days=0)
    with rw.database.unit_of_work(write=False) as s:
        today = tenant_today(s, rw.cast.acme.id)
    assert wallet(rw, wang.id, today).points.lapsing_soon == 0
    later = today + timedelta(days=360)  # valid 365 days, reminder window 14
    points = wallet(rw, wang.id, later).points
    assert points.lapsing_soon == Decimal(300)
    assert points.lapses_on == today + timedelta(days=365)


def test_expired_points_leave_the_wallet(rw: Rewards) -> None:
    wang = rw.customer()
    rw.issue(wang.id, 300, key="a", hold_days=0)
    with rw.database.unit_of_work() as s:
        expire_due(s, rw.cast.acme.id, utcnow() + timedelta(days=400))
        s.commit()
    assert wallet(rw, wang.id).points.available == 0


def test_the_ladder_tier_and_the_next_threshold(rw: Rewards) -> None:
    program = rw.program()
    referrer = rw.customer("李老师", "+8613900139000")
    with rw.database.unit_of_work() as s:
        s.add_all(
            [
                RewardTier(org_id=rw.cast.acme.id, program_id=program, threshold=1, title="铜牌"),
                RewardTier(org_id=rw.cast.acme.id, program_id=program, threshold=3, title="银牌"),
            ]
        )
        s.add(
            Agent(org_id=rw.cast.acme.id, customer_id=referrer.id, commission_rate=Decimal("0.05"))
        )
        s.commit()
    lead = rw.refer(referrer.id, "小张", "+8613700137000", program)
    friend = rw.lead(lead).referee_customer_id
    if friend is None:
        friend = rw.customer("小张", None).id
        from laoke.referrals.models import ReferralLead

        with rw.database.unit_of_work() as s:
            s.get(ReferralLead, lead).referee_customer_id = friend
            s.commit()
    before = wallet(rw, referrer.id)
    assert before.tier is None
    assert before.next_step is not None and before.next_step.next_threshold == 1
    rw.order(friend, "300")
    after = wallet(rw, referrer.id)
    assert after.tier is not None and after.tier.tier_title == "铜牌"
    assert after.next_step is not None
    assert (after.next_step.next_title, after.next_step.next_threshold) == ("银牌", 3)
    assert "铜牌" in after.titles
    assert after.commission_rate == Decimal("0.05")


def test_more_points_than_held_cannot_be_redeemed(rw: Rewards) -> None:
    wang = rw.customer()
    rw.issue(wang.id, 100, key="a", hold_days=0)
    order = rw.order(wang.id, "1000")
    with pytest.raises(Conflict) as refused:
        use(rw, wang.id, order, "too-many", points=Decimal(101))
    assert refused.value.code == "insufficient_points"
    assert wallet(rw, wang.id).points.available == Decimal(100)
