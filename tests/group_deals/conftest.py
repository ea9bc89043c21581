"""Group deal fixtures: offers, groups opened for acme customers, joins, orders, rewards."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from laoke.accounts.service import actor_for
from laoke.db import Database, utcnow
from laoke.group_deals import groups, offers
from laoke.group_deals.models import Group, GroupMember
from laoke.group_deals.schemas import OfferCreate
from tests.conftest import Cast
from tests.rewards.conftest import Rewards


@dataclass
class GroupDeals(Rewards):
    def offer(self, name: str = "3人成团 1人免单", **fields: Any) -> int:
        values: dict[str, Any] = {
            "group_size": 3,
            "open_hours": 48,
            "benefit": "leader_free",
        }
        values.update(fields)
        with self.database.unit_of_work() as s:
            offer = offers.create_offer(
                s, actor_for(self.cast.alice), OfferCreate(name=name, **values)
            )
            s.commit()
            return offer.id

    def open(self, offer_id: int, leader_id: int, user: Any = None) -> Group:
        with self.database.unit_of_work() as s:
            group = groups.open_group(s, actor_for(user or self.cast.alice), offer_id, leader_id)
            s.commit()
            s.expunge(group)
            return group

    def add(self, group_id: int, user: Any = None, **fields: Any) -> GroupMember:
        with self.database.unit_of_work() as s:
            member = groups.add_member(s, actor_for(user or self.cast.alice), group_id, **fields)
            s.commit()
            s.expunge(member)
            return member

    def group(self, group_id: int) -> Group:
        with self.database.unit_of_work(write=False) as s:
            group = s.get(Group, group_id)
            s.expunge_all()
            return group

    def members(self, group_id: int) -> list[GroupMember]:
        with self.database.unit_of_work(write=False) as s:
            rows = list(
                s.scalars(
                    select(GroupMember)
                    .where(GroupMember.group_id == group_id)
                    .order_by(GroupMember.id)
                )
            )
            s.expunge_all()
            return rows

    def backdate(self, group_id: int, hours: int) -> None:
        """Move a group (and its members' joins) `hours` into the past."""
        delta = timedelta(hours=hours)
        with self.database.unit_of_work() as s:
            group = s.get(Group, group_id)
            group.opened_at -= delta
            group.deadline -= delta
            for member in s.scalars(select(GroupMember).where(GroupMember.group_id == group_id)):
                member.joined_at -= delta
            s.commit()

    def trio(self, **offer_fields: Any) -> tuple[int, Group, list[int]]:
        """An offer of 3, a group led by 王小美 and joined by two friends; customer ids."""
        offer_id = self.offer(**offer_fields)
        leader = self.customer("王小美", "+8613800138000")
        group = self.open(offer_id, leader.id)
        a = self.add(group.id, name="李娜", phone="13900139001")
        b = self.add(group.id, name="张伟", phone="13900139002")
        return offer_id, group, [leader.id, a.customer_id, b.customer_id]


@pytest.fixture
def gd(database: Database, cast: Cast) -> GroupDeals:
    return GroupDeals(database, cast)


__all__ = ["Decimal", "GroupDeals", "utcnow"]
