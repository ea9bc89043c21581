"""Eight OS processes issue, redeem, refund, reverse and release the same rewards at once.

Afterwards: no key or referral issued twice, no balance below zero, no cap or budget
overrun, no unexpected error, the ledger verifies, and the balances equal a replay of the
accepted attempts, one at a time in ledger order, in a fresh tenant.
"""

from __future__ import annotations

import multiprocessing
import random
import time
from collections import Counter
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from laoke.accounts.service import actor_for
from laoke.db import Database
from laoke.orders.models import Order, OrderStatus
from laoke.referrals.models import ReferralProgram
from laoke.rewards import ledger
from laoke.rewards.models import (
    LIVE_STATUSES,
    AccountKind,
    Asset,
    LedgerAccount,
    LedgerEntry,
    Operation,
    Reward,
    RewardStatus,
)
from tests.conftest import Cast
from tests.rewards import workload
from tests.rewards.shop import Shop, balances, build_shop, conservation

PROCESSES = 8
ATTEMPTS = 1_000
BUDGET = Decimal(80)


def _connection(database: Database) -> tuple[str, str | None]:
    """The URL and (PostgreSQL) search path a worker needs to reach this test's tables."""
    url = database.engine.url.render_as_string(hide_password=False)
    if database.is_sqlite:
        return url, None
    with database.engine.connect() as conn:
        return url, conn.exec_driver_sql("SHOW search_path").scalar()


def _run_workers(database: Database, shop: Shop, seed: int) -> list[dict]:
    url, search_path = _connection(database)
    context = multiprocessing.get_context("spawn")
    fields = workload.shop_fields(shop)
    with context.Pool(PROCESSES) as pool:
        batches = pool.starmap(
            workload.worker,
            [(url, search_path, fields, seed * 100 + n, ATTEMPTS) for n in range(PROCESSES)],
        )
    return [record for batch in batches for record in batch]


def _replay(database: Database, shop: Shop, records: list[dict]) -> list[str]:
    """Repeat the accepted attempts in ledger order; returns the ones that came out otherwise."""
    with database.unit_of_work(write=False) as s:
        from laoke.accounts.models import User

        actor = actor_for(s.get(User, shop.owner_id))
    runner = workload.Runner(database, shop, actor)
    differences = []
    for record in workload.ledger_order(records):
        again = runner.run(record["op"], dict(record["args"]))
        same = again.outcome == "accepted" and again.created
        if record["op"] in ("issue", "release"):
            same = same and again.result == record["result"]
        if not same:
            differences.append(f"{record} replayed as {again}")
    return differences


def _assert_invariants(database: Database, shop: Shop) -> None:
    org = shop.org_id
    with database.unit_of_work(write=False) as s:
        rewards = list(s.scalars(select(Reward).where(Reward.org_id == org)))
        # 0 double issues: per key, and per (rule, referral, customer).
        keys = Counter(r.idempotency_key for r in rewards)
        assert max(keys.values()) == 1
        referral = Counter((r.rule_id, r.lead_id, r.customer_id) for r in rewards if r.rule_id)
        assert max(referral.values()) == 1
        issues = Counter(
            s.scalars(
                select(LedgerEntry.reward_id).where(
                    LedgerEntry.org_id == org, LedgerEntry.operation == Operation.ISSUE
                )
            )
        )
        assert max(issues.values()) == 1
        # 0 cap overruns (all attempts fall in one month) and 0 budget overruns.
        live = [r for r in rewards if r.status in LIVE_STATUSES]
        per_customer = Counter(r.customer_id for r in live if r.rule_id == shop.rule_id)
        assert max(per_customer.values(), default=0) <= 6
        spent = sum((Decimal(r.cost) for r in live), Decimal(0))
        program = s.get(ReferralProgram, shop.program_id)
        assert spent <= program.reward_budget
        # 0 negative balances, in the cache and from the entries.
        for acct in s.scalars(select(LedgerAccount).where(LedgerAccount.org_id == org)):
            if acct.kind in (AccountKind.HELD, AccountKind.AVAILABLE, AccountKind.RECEIVABLE):
                assert acct.balance >= 0, acct.owner_key
                assert ledger.derived_balance(s, acct) >= 0
        # Nothing stays live on a refunded order.
        refunded = set(
            s.scalars(
                select(Order.id).where(Order.org_id == org, Order.status == OrderStatus.REFUNDED)
            )
        )
        alive = [
            r.id
            for r in rewards
            if r.order_id in refunded
            and r.status in (RewardStatus.HELD, RewardStatus.RELEASED, RewardStatus.REDEEMED)
        ]
        assert not alive, f"rewards {alive} outlived the refund of their order"
        for asset, (stored, derived) in conservation(s, org).items():
            assert stored == derived == 0, asset
        result = ledger.verify(s, org)
        assert result.ok, result.problems


def _assert_check_constraint(database: Database, shop: Shop) -> None:
    """The database itself refuses a negative customer balance."""
    with database.unit_of_work() as s:
        acct = ledger.account(
            s, shop.org_id, Asset.POINTS, AccountKind.AVAILABLE, shop.customers[0]
        )
        s.flush()
        update = text("UPDATE ledger_accounts SET balance = -1 WHERE id = :id")
        with pytest.raises(IntegrityError):
            s.execute(update, {"id": acct.id})


@pytest.mark.slow
def test_eight_processes_race_on_the_same_rewards(database: Database, cast: Cast) -> None:
    shop = build_shop(database, cast.acme.id, cast.alice.id, budget=BUDGET)
    replay_shop = build_shop(database, cast.globex.id, cast.oscar.id, budget=BUDGET)
    seed = random.randrange(1_000_000)
    started = time.monotonic()
    records = _run_workers(database, shop, seed)
    elapsed = time.monotonic() - started

    outcomes = Counter(r["outcome"] for r in records)
    errors = [r for r in records if r["outcome"] == "error"]
    by_op = Counter((r["op"], r["outcome"]) for r in records)
    print(
        f"\n[{database.engine.dialect.name}] seed {seed}: {len(records)} attempts in "
        f"{elapsed:.1f} s by {PROCESSES} processes — accepted {outcomes['accepted']}, "
        f"rejected {outcomes['rejected']}, 409 busy {outcomes['busy']}, "
        f"server errors {outcomes['error']}\n  {dict(sorted(by_op.items()))}"
    )
    assert len(records) == PROCESSES * ATTEMPTS
    assert not errors, errors[0]["result"]
    _assert_invariants(database, shop)

    started = time.monotonic()
    differences = _replay(database, replay_shop, records)
    print(
        f"  replayed {len(workload.ledger_order(records))} accepted attempts in "
        f"{time.monotonic() - started:.1f} s"
    )
    for difference in differences[:5]:
        print("  differs:", difference)
    assert not differences, differences[:3]
    _assert_invariants(database, replay_shop)

    def by_index(tenant: Shop) -> dict:
        with database.unit_of_work(write=False) as s:
            found = balances(s, tenant.org_id)
        index = {cid: n for n, cid in enumerate(tenant.customers)}
        return {(index[c], asset, kind): v for (c, asset, kind), v in found.items() if v}

    assert by_index(shop) == by_index(replay_shop)
    with database.unit_of_work(write=False) as s:

        def movements(org_id: int) -> list[tuple[str, str, Decimal]]:
            return [
                (str(op), str(asset), Decimal(amount))
                for op, asset, amount in s.execute(
                    select(LedgerEntry.operation, LedgerEntry.asset, LedgerEntry.amount)
                    .where(LedgerEntry.org_id == org_id)
                    .order_by(LedgerEntry.seq)
                )
            ]

        assert movements(shop.org_id) == movements(replay_shop.org_id)
        assert s.scalar(select(func.count(Reward.id)).where(Reward.org_id == shop.org_id))
    _assert_check_constraint(database, shop)
