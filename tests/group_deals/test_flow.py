"""Qualifying, completing, expiring, refunds and racing purchases."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from laoke.accounts.service import actor_for
from laoke.db import utcnow
from laoke.events.bus import emit
from laoke.group_deals import groups
from laoke.group_deals.models import GroupStatus
from laoke.orders.models import Order, OrderItem, OrderStatus, Product
from laoke.rewards.models import Asset, Reward, RewardKind, RewardStatus


def test_three_qualified_members_complete_the_group_and_the_leader_gets_their_order_back(
    gd,
) -> None:
    _offer, group, (leader, a, b) = gd.trio(leader_cap=Decimal("500"))
    leader_order = gd.order(leader, "680")
    gd.order(a, "300")
    assert gd.group(group.id).status == GroupStatus.OPEN
    gd.order(b, "120")
    done = gd.group(group.id)
    assert done.status == GroupStatus.COMPLETED and done.closed_at is not None
    (reward,) = gd.rewards()
    assert (reward.customer_id, reward.kind, reward.amount) == (leader, RewardKind.CASH, 500)
    assert reward.order_id == leader_order and reward.source == "group"
    assert reward.source_id == group.id
    assert reward.idempotency_key == f"group:{group.id}:c{leader}"
    assert gd.balances(leader)[Asset.CASH].held == Decimal(500)
    leader_row = next(m for m in gd.members(group.id) if m.is_leader)
    assert leader_row.reward_id == reward.id
    assert all(m.open_offer_id is None for m in gd.members(group.id))
    assert gd.verify().ok


def test_leader_free_without_a_cap_gives_back_the_whole_order(gd) -> None:
    _offer, _group, (leader, a, b) = gd.trio()
    gd.order(leader, "1280.50")
    gd.order(a, "10")
    gd.order(b, "10")
    (reward,) = gd.rewards()
    assert reward.amount == Decimal("1280.50") and reward.cost == Decimal("1280.50")


def test_each_member_gets_a_coupon_with_its_minimum_spend(gd, database) -> None:
    _offer, _group, ids = gd.trio(
        benefit="each_member",
        member_kind="coupon",
        member_amount="50",
        coupon_min_spend="200",
        coupon_valid_days=30,
    )
    orders = {customer: gd.order(customer, "99") for customer in ids}
    rewards = gd.rewards()
    assert sorted(r.customer_id for r in rewards) == sorted(ids)
    assert all(r.kind == RewardKind.COUPON and r.amount == 50 for r in rewards)
    assert {r.customer_id: r.order_id for r in rewards} == orders
    with database.unit_of_work(write=False) as s:
        from laoke.rewards.models import Coupon

        coupons = list(s.scalars(select(Coupon)))
        assert len(coupons) == 3 and all(c.min_spend == 200 for c in coupons)
    for customer in ids:
        assert gd.balances(customer)[Asset.COUPON].held == 1
    assert gd.verify().ok


def test_each_member_gets_points(gd) -> None:
    _offer, _group, ids = gd.trio(benefit="each_member", member_kind="points", member_amount="300")
    for customer in ids:
        gd.order(customer, "88")
    assert {r.customer_id: (r.kind, r.amount) for r in gd.rewards()} == dict.fromkeys(
        ids, (RewardKind.POINTS, 300)
    )
    assert gd.balances(ids[1])[Asset.POINTS].held == 300


def test_a_purchase_below_the_minimum_or_before_joining_does_not_qualify(gd) -> None:
    offer = gd.offer(min_amount="200")
    leader = gd.customer("王小美", "+8613800138000")
    friend = gd.customer("李娜", "+8613900139001")
    gd.order(friend.id, "500", days_ago=1)  # bought before the group existed
    group = gd.open(offer, leader.id)
    gd.add(group.id, customer_id=friend.id)
    gd.order(leader.id, "199.99")
    assert [m.qualified_at for m in gd.members(group.id)] == [None, None]
    gd.order(leader.id, "200")
    leader_row, friend_row = gd.members(group.id)
    assert leader_row.qualified_at is not None and friend_row.qualified_at is None


def test_a_product_offer_needs_the_product_in_the_order(gd, database, cast) -> None:
    with database.unit_of_work() as s:
        course = Product(org_id=cast.acme.id, name="少儿编程体验课", price=Decimal("99"))
        s.add(course)
        s.commit()
        course_id = course.id
    offer = gd.offer(group_size=2, product_id=course_id)
    leader = gd.customer("王小美", "+8613800138000")
    group = gd.open(offer, leader.id)
    gd.order(leader.id, "999")  # no items: not the product
    assert gd.members(group.id)[0].qualified_at is None
    with database.unit_of_work() as s:
        order = Order(
            org_id=cast.acme.id,
            customer_id=leader.id,
            ordered_at=utcnow(),
            amount=Decimal("99"),
            status=OrderStatus.PAID,
            items=[
                OrderItem(
                    org_id=cast.acme.id,
                    product_id=course_id,
                    product_name="少儿编程体验课",
                    amount=Decimal("99"),
                )
            ],
        )
        s.add(order)
        s.flush()
        emit(
            s,
            cast.acme.id,
            "order.created",
            subject_type="order",
            subject_id=order.id,
            payload={"order_id": order.id, "customer_id": leader.id, "status": "paid"},
        )
        s.commit()
    assert gd.members(group.id)[0].qualifying_order_id == order.id


def test_replaying_the_completing_order_event_grants_nothing_twice(gd, database, cast) -> None:
    _offer, group, (leader, a, b) = gd.trio()
    gd.order(leader, "300")
    gd.order(a, "300")
    last = gd.order(b, "300")
    with database.unit_of_work() as s:
        from laoke.group_deals import qualifying

        for handler in (qualifying.on_order_created,):
            event = emit(
                s,
                cast.acme.id,
                "order.created",
                subject_type="order",
                subject_id=last,
                payload={"order_id": last, "customer_id": b, "status": "paid"},
            )
            handler(s, event)
        group_row = s.get(groups.Group, group.id)
        from laoke.group_deals.qualifying import grant

        grant(s, group_row, s.get(groups.GroupOffer, group_row.offer_id), utcnow())
        s.commit()
    assert len(gd.rewards()) == 1
    assert gd.verify().ok


def test_a_group_past_its_deadline_expires_with_no_benefit(gd, database, cast) -> None:
    _offer, group, (leader, a, b) = gd.trio()
    gd.order(leader, "300")
    gd.order(a, "300")
    gd.backdate(group.id, hours=49)
    # Readers see it expired before the job runs; a late purchase does not complete it.
    with database.unit_of_work(write=False) as s:
        assert groups.effective_status(s.get(groups.Group, group.id)) == GroupStatus.EXPIRED
    gd.order(b, "300")
    assert gd.group(group.id).status == GroupStatus.EXPIRED
    assert gd.rewards() == []
    assert all(m.open_offer_id is None for m in gd.members(group.id))


def test_the_expiry_job_closes_overdue_groups_only(gd, database, cast) -> None:
    offer = gd.offer()
    old = gd.open(offer, gd.customer("王小美", "+8613800138000").id)
    fresh = gd.open(offer, gd.customer("李娜", "+8613900139001").id)
    gd.backdate(old.id, hours=100)
    from laoke.group_deals.groups import expire_job
    from laoke.messaging.scheduler import JOBS
    from laoke.tenancy.models import Org
    from laoke.tenancy.service import OrgInfo

    job = JOBS["group_deals.expire"]
    assert job.every_minutes == 15 and job.run is expire_job
    with database.unit_of_work(write=False) as s:
        org = OrgInfo.of(s.get(Org, cast.acme.id))
    assert job.run(database, org, utcnow()) == 1
    assert job.run(database, org, utcnow()) == 0
    assert gd.group(old.id).status == GroupStatus.EXPIRED
    assert gd.group(old.id).closed_at == gd.group(old.id).deadline
    assert gd.group(fresh.id).status == GroupStatus.OPEN
    # The expired group's leader may open a new group of the same offer.
    assert gd.open(offer, gd.group(old.id).leader_customer_id).status == GroupStatus.OPEN


def test_a_refund_while_open_unqualifies_the_member(gd) -> None:
    _offer, group, (leader, a, b) = gd.trio()
    first = gd.order(a, "300")
    assert gd.members(group.id)[1].qualifying_order_id == first
    gd.refund(first)
    friend = gd.members(group.id)[1]
    assert friend.qualified_at is None and friend.qualifying_order_id is None
    gd.order(leader, "300")
    gd.order(b, "300")
    assert gd.group(group.id).status == GroupStatus.OPEN  # a still has to buy again
    gd.order(a, "300")
    assert gd.group(group.id).status == GroupStatus.COMPLETED


def test_a_refund_falls_back_to_another_qualifying_order(gd) -> None:
    _offer, group, (_leader, a, _b) = gd.trio()
    first = gd.order(a, "300")
    second = gd.order(a, "150")
    gd.refund(first)
    assert gd.members(group.id)[1].qualifying_order_id == second


def test_refunding_the_qualifying_order_after_completion_reverses_the_benefit(gd) -> None:
    _offer, group, (leader, a, b) = gd.trio()
    leader_order = gd.order(leader, "400")
    gd.order(a, "300")
    gd.order(b, "300")
    (reward,) = gd.rewards()
    assert reward.status == RewardStatus.HELD
    gd.refund(leader_order)
    (reward,) = gd.rewards()
    assert reward.status == RewardStatus.REVERSED
    assert gd.balances(leader)[Asset.CASH].held == 0
    assert gd.group(group.id).status == GroupStatus.COMPLETED
    assert gd.verify().ok


def test_a_cash_benefit_is_paid_out_by_staff_with_a_reference(gd, cast, database) -> None:
    _offer, _group, (leader, a, b) = gd.trio()
    for customer in (leader, a, b):
        gd.order(customer, "200")
    gd.release_all()
    (reward,) = gd.rewards()
    from laoke.rewards.payouts import pay_out

    with database.unit_of_work() as s:
        pay_out(s, actor_for(cast.maggie), reward.id, "微信转账 4200001")
        s.commit()
    assert gd.rewards()[0].status == RewardStatus.REDEEMED
    assert gd.verify().ok


def test_cancelled_groups_keep_their_reason_and_grant_nothing(gd, cast, database) -> None:
    _offer, group, (leader, a, b) = gd.trio()
    with database.unit_of_work() as s:
        groups.cancel_group(s, actor_for(cast.bob), group.id, "  顾客要求取消\x00 ")
        s.commit()
    cancelled = gd.group(group.id)
    assert (cancelled.status, cancelled.cancel_reason) == (GroupStatus.CANCELLED, "顾客要求取消")
    for customer in (leader, a, b):
        gd.order(customer, "200")
    assert gd.rewards() == []
    with database.unit_of_work() as s, pytest.raises(groups.Conflict):
        groups.cancel_group(s, actor_for(cast.bob), group.id, "again")


def _buy_at_once(database, org_id: int, customers: list[int]) -> list[BaseException]:
    """Each customer's paid order in its own transaction, all released at the same time."""
    barrier = threading.Barrier(len(customers))
    errors: list[BaseException] = []

    def buy(customer_id: int) -> None:
        try:
            barrier.wait(timeout=10)
            with database.unit_of_work() as s:
                order = Order(
                    org_id=org_id,
                    customer_id=customer_id,
                    ordered_at=utcnow(),
                    amount=Decimal("300"),
                    status=OrderStatus.PAID,
                )
                s.add(order)
                s.flush()
                emit(
                    s,
                    org_id,
                    "order.created",
                    subject_type="order",
                    subject_id=order.id,
                    payload={"order_id": order.id, "customer_id": customer_id, "status": "paid"},
                )
                s.commit()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=buy, args=(c,)) for c in customers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return errors


@pytest.mark.parametrize("benefit", ["leader_free", "each_member"])
def test_members_qualifying_at_once_complete_the_group_once(gd, database, cast, benefit) -> None:
    extra = {"member_kind": "points", "member_amount": "100"} if benefit == "each_member" else {}
    offer = gd.offer(group_size=3, benefit=benefit, **extra)
    leader = gd.customer("王小美", "+8613800138000")
    group = gd.open(offer, leader.id)
    friends = [
        gd.add(group.id, name=f"朋友{i}", phone=f"1390013900{i}").customer_id for i in (1, 2)
    ]
    gd.order(leader.id, "300")
    assert _buy_at_once(database, cast.acme.id, friends) == []
    assert gd.group(group.id).status == GroupStatus.COMPLETED
    rewards = gd.rewards()
    expected = 1 if benefit == "leader_free" else 3
    assert len(rewards) == expected
    assert len({r.idempotency_key for r in rewards}) == expected
    with database.unit_of_work(write=False) as s:
        count = s.scalar(select(func.count(Reward.id)).where(Reward.source_id == group.id))
    assert count == expected
    assert gd.verify().ok


def test_the_last_place_goes_to_one_of_two_racing_members(gd, database, cast) -> None:
    """Leader and one friend qualified; two more friends buy at once for the last place."""
    offer = gd.offer(group_size=3, benefit="each_member", member_kind="cash", member_amount="20")
    leader = gd.customer("王小美", "+8613800138000")
    group = gd.open(offer, leader.id)
    # Room for four joiners: the group of 3 needs a fourth place to race for.
    with database.unit_of_work() as s:
        s.execute(
            groups.update(groups.GroupOffer)
            .values(group_size=4)
            .where(groups.GroupOffer.id == offer)
        )
        s.commit()
    friends = [
        gd.add(group.id, name=f"朋友{i}", phone=f"1390013900{i}").customer_id for i in (1, 2, 3)
    ]
    with database.unit_of_work() as s:
        s.execute(
            groups.update(groups.GroupOffer)
            .values(group_size=3)
            .where(groups.GroupOffer.id == offer)
        )
        s.commit()
    gd.order(leader.id, "300")
    gd.order(friends[0], "300")
    assert _buy_at_once(database, cast.acme.id, friends[1:]) == []
    assert gd.group(group.id).status == GroupStatus.COMPLETED
    qualified = [m for m in gd.members(group.id) if m.qualified_at is not None]
    assert len(qualified) == 3
    rewards = gd.rewards()
    assert len(rewards) == 3 and {r.customer_id for r in rewards} == {
        m.customer_id for m in qualified
    }
    assert gd.verify().ok


def test_deadline_is_now_plus_the_open_period(gd) -> None:
    offer = gd.offer(open_hours=72)
    before = utcnow()
    group = gd.open(offer, gd.customer().id)
    assert before + timedelta(hours=72) <= group.deadline <= utcnow() + timedelta(hours=72)
