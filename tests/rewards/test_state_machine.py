"""A state machine over the reward ledger: issue (with or without a hold), release on a
fake clock, redeem, refund the earning or the paying order, reverse by hand, expire; after
every step the ledger's promises hold and a plain model of each customer's points agrees.

The model is written from the rules, not from the code: a reward is held, then released
(settling what the customer owes first); a reversal takes back what is unspent and records
the rest as owed; points lapse oldest first, a year after their release.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select

from laoke.accounts.models import User
from laoke.accounts.roles import Role
from laoke.accounts.service import actor_for
from laoke.db import Database, utcnow
from laoke.errors import DomainError
from laoke.orders.service import refund_order
from laoke.rewards import ledger
from laoke.rewards.expiry import expire_due
from laoke.rewards.holds import release_due
from laoke.rewards.issuing import IssueRequest, issue
from laoke.rewards.models import Asset, Reward, RewardKind, RewardSettings
from laoke.rewards.payouts import reverse_by_hand
from laoke.rewards.redeeming import RedeemRequest, redeem
from laoke.rewards.settings import tenant_today
from laoke.tenancy.models import Org
from tests.rewards.shop import build_shop, conservation

D = Decimal
ZERO = Decimal(0)
CAP = 3  # live rule rewards per customer
BUDGET = D(12)  # yuan: 1200 points at 0.01
VALID_DAYS = 30  # short, so points lapse within a run
_orgs = itertools.count()


@dataclass
class Lot:
    reward_id: int
    amount: Decimal
    status: str  # held | released | reversed | capped
    customer: int
    order: int | None
    hold_until: datetime
    rule: bool
    expires_on: date | None = None
    released: Decimal = ZERO  # what reached the available balance on release


@dataclass
class Account:
    held: Decimal = ZERO
    available: Decimal = ZERO
    owed: Decimal = ZERO
    out: Decimal = ZERO  # redeemed, clawed back and expired, less what was restored


@dataclass
class Model:
    accounts: dict[int, Account]
    rewards: dict[int, Lot] = field(default_factory=dict)
    refunded: set[int] = field(default_factory=set)
    referrals: set[tuple[int, int]] = field(default_factory=set)
    redemptions: list[tuple[int, int, Decimal]] = field(default_factory=list)  # order, cust, pts

    def live_cost(self) -> Decimal:
        return sum(
            (r.amount / 100 for r in self.rewards.values() if r.status in ("held", "released")),
            D(0),
        )

    def release(self, lot: Lot, today: date) -> None:
        account = self.accounts[lot.customer]
        settle = min(account.owed, lot.amount)
        account.owed -= settle
        account.held -= lot.amount
        account.available += lot.amount - settle
        lot.status, lot.released = "released", lot.amount - settle
        lot.expires_on = today + timedelta(days=VALID_DAYS)

    def reverse(self, lot: Lot) -> None:
        account = self.accounts[lot.customer]
        if lot.status == "held":
            account.held -= lot.amount
        elif lot.status == "released":
            unspent = min(account.available, lot.amount)
            account.available -= unspent
            account.out += unspent
            account.owed += lot.amount - unspent
        lot.status = "reversed"

    def lapse(self, customer: int, today: date) -> None:
        account = self.accounts[customer]
        released = sum(
            (
                r.released
                for r in self.rewards.values()
                if r.customer == customer and r.expires_on is not None and r.expires_on < today
            ),
            D(0),
        )
        due = max(D(0), min(released - account.out, account.available))
        account.available -= due
        account.out += due


class LedgerMachine(RuleBasedStateMachine):
    database: Database

    def __init__(self) -> None:
        super().__init__()
        self.now = utcnow()
        self.keys = itertools.count()
        self.issued: list[tuple[str, IssueRequest]] = []

    @initialize()
    def tenant(self) -> None:
        n = next(_orgs)
        with self.database.unit_of_work() as s:
            org = Org(slug=f"sm-{os.getpid()}-{n}", name=f"状态机 {n}")
            s.add(org)
            s.flush()
            owner = User(
                org_id=org.id,
                email=f"owner{n}@sm.test",
                name="Owner",
                role=Role.OWNER,
                password_hash="-",
            )
            s.add(owner)
            s.add(RewardSettings(org_id=org.id, points_valid_days=VALID_DAYS))
            s.commit()
            self.actor = actor_for(owner)
        self.shop = build_shop(
            self.database,
            self.actor.org_id,
            self.actor.user_id,
            customers=2,
            leads=3,
            orders_per_customer=4,
            budget=BUDGET,
            cap_per_month=None,
            cap_lifetime=CAP,
        )
        self.model = Model({c: Account() for c in self.shop.customers})

    # --- helpers -------------------------------------------------------------------------

    @property
    def org(self) -> int:
        return self.shop.org_id

    def customer(self, pick: int) -> int:
        return self.shop.customers[pick % len(self.shop.customers)]

    def order(self, customer: int, pick: int) -> int:
        orders = self.shop.orders[customer]
        return orders[pick % len(orders)]

    def today(self) -> date:
        with self.database.unit_of_work(write=False) as s:
            return tenant_today(s, self.org, self.now)

    def attempt(self, work) -> str:
        """Run `work` in one transaction; its result, or the refusal's code."""
        try:
            with self.database.unit_of_work() as s:
                result = work(s)
                s.commit()
                return result
        except DomainError as error:
            return f"refused:{error.code}"

    # --- rules ---------------------------------------------------------------------------

    @rule(
        pick=st.integers(0, 99),
        amount=st.sampled_from([50, 100, 300]),
        hold=st.sampled_from([0, 0, 3, 10]),
        by_rule=st.booleans(),
        lead=st.integers(0, 2),
        earning=st.one_of(st.none(), st.integers(0, 3)),
    )
    def issue(
        self, pick: int, amount: int, hold: int, by_rule: bool, lead: int, earning: int | None
    ) -> None:
        customer = self.customer(pick)
        order = None if earning is None else self.order(customer, earning)
        request = IssueRequest(
            customer_id=customer,
            kind=RewardKind.POINTS,
            amount=D(amount),
            program_id=self.shop.program_id,
            rule_id=self.shop.rule_id if by_rule else None,
            lead_id=self.shop.leads[lead] if by_rule else None,
            order_id=order,
            hold_days=hold,
            cap_lifetime=CAP if by_rule else None,
        )
        key = f"sm-{next(self.keys)}"

        def work(s) -> str:
            reward, created = issue(s, self.org, request, key, now=self.now)
            assert created
            return f"{reward.id}:{reward.status}:{reward.status_reason or ''}"

        outcome = self.attempt(work)
        model = self.model
        if by_rule and (lead, customer) in model.referrals:
            assert outcome == "refused:reward_exists"
            return
        if order is not None and order in model.refunded:
            assert outcome == "refused:order_not_paid"
            return
        reward_id, status, reason = outcome.split(":")
        self.issued.append((key, request))
        lot = Lot(
            int(reward_id),
            D(amount),
            "held",
            customer,
            order,
            self.now + timedelta(days=hold),
            by_rule,
        )
        if by_rule:
            model.referrals.add((lead, customer))
        live_by_rule = sum(
            1
            for r in model.rewards.values()
            if r.rule and r.customer == customer and r.status in ("held", "released")
        )
        if by_rule and live_by_rule >= CAP:
            expected = ("capped", "cap_lifetime")
        elif model.live_cost() + D(amount) / 100 > BUDGET:
            expected = ("capped", "budget")
        else:
            expected = ("released", "") if hold == 0 else ("held", "")
        assert (status, reason) == expected
        model.rewards[lot.reward_id] = lot
        if status == "capped":
            lot.status = "capped"
            return
        model.accounts[customer].held += lot.amount
        if hold == 0:
            model.release(lot, self.today())

    @precondition(lambda self: self.issued)
    @rule(pick=st.integers(0, 10**6))
    def issue_again(self, pick: int) -> None:
        """The same key and request again: the same reward, nothing moves."""
        key, request = self.issued[pick % len(self.issued)]

        def work(s) -> str:
            reward, created = issue(s, self.org, request, key, now=self.now)
            assert not created
            return str(reward.id)

        assert int(self.attempt(work)) in self.model.rewards

    @rule(days=st.integers(1, 20))
    def advance(self, days: int) -> None:
        self.now += timedelta(days=days)

    @rule(days=st.integers(0, 12))
    def release(self, days: int) -> None:
        """Later on, release what is due."""
        self.now += timedelta(days=days)

        def work(s) -> int:
            return release_due(s, self.org, self.now)

        released = self.attempt(work)
        due = sorted(
            (
                r
                for r in self.model.rewards.values()
                if r.status == "held" and r.hold_until <= self.now
            ),
            key=lambda r: (r.hold_until, r.reward_id),
        )
        today = self.today()
        for lot in due:
            self.model.release(lot, today)
        assert released == len(due)

    @rule(pick=st.integers(0, 99), points=st.sampled_from([10, 50, 200]), paying=st.integers(0, 3))
    def redeem(self, pick: int, points: int, paying: int) -> None:
        customer = self.customer(pick)
        order = self.order(customer, paying)
        request = RedeemRequest(customer, order, points=D(points))
        key = f"sm-{next(self.keys)}"

        def work(s) -> str:
            redeem(s, self.org, request, key)
            return "ok"

        outcome = self.attempt(work)
        account = self.model.accounts[customer]
        if order in self.model.refunded:
            assert outcome == "refused:order_not_paid"
        elif points > account.available:
            assert outcome == "refused:insufficient_points"
        else:
            assert outcome == "ok"
            account.available -= points
            account.out += points
            self.model.redemptions.append((order, customer, D(points)))

    @rule(pick=st.integers(0, 99), which=st.integers(0, 3))
    def refund(self, pick: int, which: int) -> None:
        customer = self.customer(pick)
        order = self.order(customer, which)

        def work(s) -> str:
            refund_order(s, self.actor, order)
            return "ok"

        outcome = self.attempt(work)
        if order in self.model.refunded:
            assert outcome == "refused:order_not_paid"
            return
        assert outcome == "ok"
        self.model.refunded.add(order)
        for lot in sorted(self.model.rewards.values(), key=lambda r: r.reward_id):
            if lot.order == order and lot.status in ("held", "released"):
                self.model.reverse(lot)
        for paid_order, paying_customer, points in self.model.redemptions:
            if paid_order == order:
                account = self.model.accounts[paying_customer]
                account.available += points
                account.out -= points

    @precondition(lambda self: self.model.rewards)
    @rule(pick=st.integers(0, 10**6))
    def reverse_by_hand(self, pick: int) -> None:
        ids = sorted(self.model.rewards)
        lot = self.model.rewards[ids[pick % len(ids)]]

        def work(s) -> str:
            reverse_by_hand(s, self.actor, lot.reward_id, "correction")
            return "ok"

        outcome = self.attempt(work)
        if lot.status in ("reversed", "capped"):
            assert outcome == "refused:reward_not_reversible"
        else:
            assert outcome == "ok"
            self.model.reverse(lot)

    @rule(days=st.integers(0, 45))
    def expire(self, days: int) -> None:
        """Later on, expire what lapsed."""
        self.now += timedelta(days=days)

        def work(s) -> int:
            return expire_due(s, self.org, self.now)

        self.attempt(work)
        today = self.today()
        for customer in self.shop.customers:
            self.model.lapse(customer, today)

    # --- invariants ----------------------------------------------------------------------

    @invariant()
    def ledger_holds(self) -> None:
        if not hasattr(self, "shop"):
            return
        with self.database.unit_of_work(write=False) as s:
            for customer in self.shop.customers:
                balances = ledger.customer_balances(s, self.org, customer)
                for asset, found in balances.items():
                    assert min(found.held, found.available, found.receivable) >= 0, asset
                points = balances[Asset.POINTS]
                account = self.model.accounts[customer]
                assert (points.held, points.available, points.receivable) == (
                    account.held,
                    account.available,
                    account.owed,
                ), f"customer {customer}"
            for asset, (stored, derived) in conservation(s, self.org).items():
                assert stored == derived == 0, asset
            most = s.scalar(
                select(func.count(Reward.id))
                .where(Reward.org_id == self.org, Reward.rule_id.is_not(None))
                .group_by(Reward.rule_id, Reward.lead_id, Reward.customer_id)
                .order_by(func.count(Reward.id).desc())
                .limit(1)
            )
            assert (most or 0) <= 1
            result = ledger.verify(s, self.org)
            assert result.ok, result.problems


def run(database: Database, examples: int, steps: int) -> None:
    machine = type("Machine", (LedgerMachine,), {"database": database})
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=examples,
            stateful_step_count=steps,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        ),
    )


def test_the_ledger_as_a_state_machine(database: Database) -> None:
    """Bounded for the suite; LAOKE_STATEFUL_EXAMPLES=500 explores longer."""
    more = int(os.environ.get("LAOKE_STATEFUL_EXAMPLES", "0"))
    if database.is_sqlite:
        run(database, examples=more or 40, steps=40)
    else:
        run(database, examples=more or 10, steps=30)


@pytest.fixture
def machine(database: Database) -> LedgerMachine:
    """A machine for replaying a found sequence step by step."""
    state = type("Machine", (LedgerMachine,), {"database": database})()
    state.tenant()
    return state


def test_replay_an_issue_on_an_order_refunded_before(machine: LedgerMachine) -> None:
    """Found by the race, kept as a sequence: a refunded order earns nothing more."""
    machine.refund(pick=0, which=0)
    machine.issue(pick=0, amount=100, hold=0, by_rule=True, lead=0, earning=0)
    machine.ledger_holds()
    assert machine.model.rewards == {}


def test_replay_refund_after_spending_then_settle_and_lapse(machine: LedgerMachine) -> None:
    machine.issue(pick=0, amount=300, hold=0, by_rule=False, lead=0, earning=1)
    machine.redeem(pick=0, points=200, paying=2)
    machine.refund(pick=0, which=1)  # 100 clawed back, 200 owed
    machine.ledger_holds()
    machine.issue(pick=0, amount=300, hold=3, by_rule=True, lead=1, earning=None)
    machine.release(days=4)  # settles 200, releases 100
    machine.ledger_holds()
    machine.expire(days=VALID_DAYS + 1)
    machine.ledger_holds()
    account = machine.model.accounts[machine.shop.customers[0]]
    assert (account.held, account.available, account.owed) == (0, 0, 0)
