"""The demo tenant's rewards are lived-in: every state, a ladder climbed, a ledger that verifies."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from laoke.rewards import ledger
from laoke.rewards.models import Agent, Coupon, LedgerEntry, Reward


@pytest.mark.xdist_group("demo")  # one worker seeds the shared demo
def test_the_demo_has_rewards_in_every_state_and_a_ledger_that_verifies(demo_tenant) -> None:
    org = demo_tenant.org
    with demo_tenant.database.unit_of_work(write=False) as s:
        states = set(s.scalars(select(Reward.status).distinct()))
        assert {"held", "in_review", "released", "redeemed", "reversed", "expired"} <= states
        kinds = set(s.scalars(select(Reward.kind).distinct()))
        assert {"points", "coupon", "cash", "gift", "privilege", "honour", "commission"} <= kinds
        operations = set(s.scalars(select(LedgerEntry.operation).distinct()))
        assert {
            "issue",
            "release",
            "redeem",
            "reverse",
            "clawback",
            "expire",
            "payout",
        } <= operations
        assert s.scalar(select(func.count()).select_from(Agent)) >= 1
        assert s.scalar(select(func.count()).select_from(Coupon).where(Coupon.status == "used"))
        result = ledger.verify(s, org.id)
        assert result.ok, result.problems
        assert result.entries > 100
