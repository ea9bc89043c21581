"""The group deal demo: two offers, groups in every state, benefits through the ledger."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import select

from laoke.db import utcnow
from laoke.group_deals.demo import seed_group_deals
from laoke.group_deals.models import Group, GroupMember, GroupOffer, GroupStatus
from laoke.rewards import ledger
from laoke.rewards.models import Reward, RewardKind


def _shape(session, org_id: int) -> list[tuple]:
    rows = session.execute(
        select(GroupOffer.name, Group.status, Group.opened_at, Group.deadline, Group.closed_at)
        .join(GroupOffer, GroupOffer.id == Group.offer_id)
        .where(Group.org_id == org_id)
        .order_by(Group.id)
    ).all()
    members = session.execute(
        select(GroupMember.group_id, GroupMember.qualified_at.is_not(None))
        .where(GroupMember.org_id == org_id)
        .order_by(GroupMember.id)
    ).all()
    counts = Counter(group_id for group_id, qualified in members if qualified)
    return [*rows, sorted(counts.values())]


@pytest.mark.xdist_group("demo")  # one worker seeds the shared demo
def test_the_demo_has_both_offers_and_groups_in_every_state(demo_tenant) -> None:
    org = demo_tenant.org
    with demo_tenant.database.unit_of_work(write=False) as s:
        names = set(s.scalars(select(GroupOffer.name)))
        assert names == {"3人成团 1人免单", "带8位朋友 免费学"}
        statuses = Counter(s.scalars(select(Group.status).where(Group.org_id == org.id)))
        assert statuses == {
            GroupStatus.COMPLETED: 3,
            GroupStatus.OPEN: 3,
            GroupStatus.EXPIRED: 2,
            GroupStatus.CANCELLED: 1,
        }
        rewards = list(s.scalars(select(Reward).where(Reward.source == "group")))
        assert len(rewards) == 3
        assert all(r.kind == RewardKind.CASH and r.order_id for r in rewards)
        leaders = set(
            s.scalars(select(Group.leader_customer_id).where(Group.status == "completed"))
        )
        assert {r.customer_id for r in rewards} == leaders
        for group in s.scalars(select(Group).where(Group.status == "expired")):
            assert group.closed_at == group.deadline
        open_groups = list(s.scalars(select(Group).where(Group.status == "open")))
        assert any(
            s.scalar(
                select(GroupMember.id).where(
                    GroupMember.group_id == g.id, GroupMember.qualified_at.is_not(None)
                )
            )
            for g in open_groups
        )
        assert ledger.verify(s, org.id).ok


def test_the_same_seed_gives_the_same_groups(gd, database, cast) -> None:
    for index in range(45):
        for org in (cast.acme, cast.globex):
            gd.customer(f"客户{index}", f"+86139{index:08d}", org=org)
    now = utcnow()
    with database.unit_of_work() as s:
        seed_group_deals(s, cast.acme.id, seed=3, now=now)
    with database.unit_of_work() as s:
        seed_group_deals(s, cast.globex.id, seed=3, now=now)
    with database.unit_of_work(write=False) as s:
        assert _shape(s, cast.acme.id) == _shape(s, cast.globex.id)


def test_a_tenant_without_enough_customers_is_refused(gd, database, cast) -> None:
    gd.customer()
    with database.unit_of_work() as s, pytest.raises(ValueError, match="needs"):
        seed_group_deals(s, cast.acme.id)
