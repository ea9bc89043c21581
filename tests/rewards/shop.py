"""A small tenant to exercise the ledger with: customers, a budgeted program with a capped
points rule, referral leads and paid orders, built with plain inserts (no events), so two
tenants built alike line up index by index (the concurrency replay relies on that)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from laoke.customers.models import Customer
from laoke.customers.stages import LifecycleStage
from laoke.db import Database, utcnow
from laoke.orders.models import Order, OrderStatus
from laoke.referrals.models import LeadSource, ReferralLead, ReferralProgram
from laoke.rewards import ledger
from laoke.rewards.models import (
    CUSTOMER_ACCOUNTS,
    DEBIT_NORMAL,
    Asset,
    LedgerAccount,
    LedgerEntry,
    RewardRule,
)


@dataclass
class Shop:
    org_id: int
    owner_id: int
    program_id: int
    rule_id: int
    customers: list[int]
    leads: list[int]
    # Paid orders per customer, in creation order.
    orders: dict[int, list[int]] = field(default_factory=dict)


def build_shop(
    database: Database,
    org_id: int,
    owner_id: int,
    *,
    customers: int = 4,
    leads: int = 12,
    orders_per_customer: int = 30,
    order_amount: str = "300",
    budget: Decimal | None = Decimal("40"),
    cap_per_month: int | None = 6,
    cap_lifetime: int | None = 9,
    rule_points: int = 100,
) -> Shop:
    """One program (budget in yuan) with one points rule for the referrer."""
    with database.unit_of_work() as s:
        program = ReferralProgram(org_id=org_id, name="老带新", reward_budget=budget)
        s.add(program)
        s.flush()
        rule = RewardRule(
            org_id=org_id,
            program_id=program.id,
            beneficiary="referrer",
            trigger="purchase_at_least",
            min_amount=Decimal("100000"),  # never fires by itself
            kind="points",
            amount=Decimal(rule_points),
            cap_per_month=cap_per_month,
            cap_lifetime=cap_lifetime,
            active=True,
        )
        s.add(rule)
        people = [
            Customer(
                org_id=org_id,
                name=f"顾客{n}",
                owner_id=owner_id,
                lifecycle_stage=LifecycleStage.LOYAL,
                custom_attributes={},
            )
            for n in range(customers)
        ]
        s.add_all(people)
        s.flush()
        friends = [
            ReferralLead(
                org_id=org_id,
                program_id=program.id,
                referrer_customer_id=people[n % customers].id,
                referee_name=f"朋友{n}",
                consent=True,
                source=LeadSource.STAFF,
            )
            for n in range(leads)
        ]
        s.add_all(friends)
        now = utcnow()
        orders: dict[int, list[Order]] = {}
        for person in people:
            orders[person.id] = []
            for n in range(orders_per_customer):
                order = Order(
                    org_id=org_id,
                    customer_id=person.id,
                    ordered_at=now - timedelta(minutes=n),
                    amount=Decimal(order_amount),
                    status=OrderStatus.PAID,
                )
                s.add(order)
                orders[person.id].append(order)
        s.flush()
        ledger.lock(s, org_id)  # the head row exists before anyone races to create it
        s.commit()
        return Shop(
            org_id=org_id,
            owner_id=owner_id,
            program_id=program.id,
            rule_id=rule.id,
            customers=[p.id for p in people],
            leads=[f.id for f in friends],
            orders={cid: [o.id for o in rows] for cid, rows in orders.items()},
        )


Snapshot = dict[tuple[int, str, str], Decimal]


def balances(session: Session, org_id: int) -> Snapshot:
    """(customer, asset, account kind) → cached balance, for every customer account."""
    rows = session.execute(
        select(
            LedgerAccount.customer_id,
            LedgerAccount.asset,
            LedgerAccount.kind,
            LedgerAccount.balance,
        ).where(LedgerAccount.org_id == org_id, LedgerAccount.kind.in_(CUSTOMER_ACCOUNTS))
    )
    return {(cid, str(asset), str(kind)): Decimal(amount) for cid, asset, kind, amount in rows}


def conservation(session: Session, org_id: int) -> dict[str, tuple[Decimal, Decimal]]:
    """Per asset: (stored balances, entries) summed over every account in the credit-minus-
    debit convention (a receivable counts negative). Double entry makes both zero: whatever
    customers hold or owe, the system accounts hold the other side."""
    accounts = {
        a.id: (str(a.asset), a.kind, Decimal(a.balance))
        for a in session.scalars(select(LedgerAccount).where(LedgerAccount.org_id == org_id))
    }
    stored = {str(a): Decimal(0) for a in Asset}
    for asset, kind, amount in accounts.values():
        stored[asset] += -amount if kind in DEBIT_NORMAL else amount
    derived = {str(a): Decimal(0) for a in Asset}
    for debit, credit, amount in session.execute(
        select(
            LedgerEntry.debit_account_id, LedgerEntry.credit_account_id, LedgerEntry.amount
        ).where(LedgerEntry.org_id == org_id)
    ):
        derived[accounts[debit][0]] -= Decimal(amount)
        derived[accounts[credit][0]] += Decimal(amount)
    return {asset: (stored[asset], derived[asset]) for asset in stored}
