"""Reward fixtures: a program with reward rules, referrers and friends, orders, and a
short way to issue, release and read balances."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from laoke.accounts.service import actor_for
from laoke.db import Database, utcnow
from laoke.orders.service import refund_order
from laoke.referrals.models import LeadSource
from laoke.referrals.schemas import LeadCreate
from laoke.rewards import ledger
from laoke.rewards.holds import release_due
from laoke.rewards.issuing import IssueRequest, issue
from laoke.rewards.models import Asset, Reward, RewardKind, RewardRule
from tests.conftest import Cast
from tests.referrals.conftest import Referrals


@dataclass
class Rewards(Referrals):
    def rule(self, program_id: int, **fields: Any) -> int:
        values: dict[str, Any] = {
            "beneficiary": "referrer",
            "trigger": "first_purchase",
            "kind": "points",
            "amount": Decimal(500),
        }
        values.update(fields)
        with self.database.unit_of_work() as s:
            rule = RewardRule(
                org_id=self.cast.acme.id, program_id=program_id, active=True, **values
            )
            s.add(rule)
            s.commit()
            return rule.id

    def refer(self, referrer_id: int, name: str, phone: str, program_id: int | None = None) -> int:
        from laoke.referrals.leads import create_lead

        with self.database.unit_of_work() as s:
            lead = create_lead(
                s,
                actor_for(self.cast.alice),
                LeadCreate(
                    referrer_customer_id=referrer_id,
                    name=name,
                    phone=phone,
                    consent=True,
                    program_id=program_id,
                ),
                source=LeadSource.STAFF,
            )
            s.commit()
            return lead.id

    def issue(self, customer_id: int, points: int = 100, key: str = "k1", **fields: Any) -> Reward:
        request = IssueRequest(
            customer_id=customer_id, kind=RewardKind.POINTS, amount=Decimal(points), **fields
        )
        with self.database.unit_of_work() as s:
            reward, _ = issue(s, self.cast.acme.id, request, key)
            s.commit()
            s.expunge(reward)
            return reward

    def release_all(self, days: int = 30) -> int:
        with self.database.unit_of_work() as s:
            count = release_due(s, self.cast.acme.id, utcnow() + timedelta(days=days))
            s.commit()
            return count

    def refund(self, order_id: int) -> None:
        with self.database.unit_of_work() as s:
            refund_order(s, actor_for(self.cast.alice), order_id)
            s.commit()

    def balances(self, customer_id: int) -> dict[Asset, ledger.Balances]:
        with self.database.unit_of_work(write=False) as s:
            return ledger.customer_balances(s, self.cast.acme.id, customer_id)

    def rewards(self, customer_id: int | None = None) -> list[Reward]:
        with self.database.unit_of_work(write=False) as s:
            query = select(Reward).order_by(Reward.id)
            if customer_id is not None:
                query = query.where(Reward.customer_id == customer_id)
            rows = list(s.scalars(query))
            s.expunge_all()
            return rows

    def verify(self) -> ledger.Verification:
        with self.database.unit_of_work(write=False) as s:
            return ledger.verify(s, self.cast.acme.id)


@pytest.fixture
def rw(database: Database, cast: Cast) -> Rewards:
    return Rewards(database, cast)
