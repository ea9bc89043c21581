"""Qualifying, completing, expiring, refunds and racing purchases."""

from __future__ import annotations

from decimal import Decimal

from laoke.group_deals.models import GroupStatus
from laoke.rewards.models import Asset, RewardKind


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
    assert reward.idempotency_key == f"group:{group.id}:c{leader}"
    assert gd.balances(leader)[Asset.CASH].held == Decimal(500)
    assert gd.verify().ok
