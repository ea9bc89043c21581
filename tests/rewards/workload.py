"""A mixed reward workload for many OS processes at once, and its single-process replay.

Each attempt is one transaction: issue (keys from a small pool, so they collide across
processes), redeem points or a coupon (keys from a pool), refund an order that earned
rewards, reverse a reward by hand, or release due rewards. Every attempt is recorded with
its outcome and, when accepted, the ledger sequence number its transaction ended at (read
while the ledger lock is held), which orders the accepted attempts for the replay.

This module is imported by `spawn`ed worker processes: it must not import pytest fixtures.
"""

from __future__ import annotations

import random
import time
import traceback
from dataclasses import asdict, dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import create_engine, event, select
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from laoke.accounts.actor import Actor
from laoke.accounts.models import User
from laoke.accounts.service import actor_for
from laoke.db import Database, make_engine, utcnow
from laoke.errors import DomainError
from laoke.orders.service import refund_order
from laoke.rewards.holds import release_due
from laoke.rewards.issuing import IssueRequest, find_by_key, issue
from laoke.rewards.models import (
    Coupon,
    CouponKind,
    CouponStatus,
    LedgerEntry,
    LedgerHead,
    RewardKind,
)
from laoke.rewards.payouts import reverse_by_hand
from laoke.rewards.redeeming import RedeemRequest, redeem
from tests.rewards.shop import Shop

ISSUE_KEYS = 64
REDEEM_KEYS = 240
REFUNDABLE_ORDERS = 20  # per customer; the rest are never refunded
RETRIES = 6
REDEEM_POINTS = 50
COUPON_VALUE = Decimal(20)
RELEASE_AHEAD = timedelta(days=3)
HOLD_DAYS = 2


@dataclass
class Attempt:
    op: str
    args: dict[str, Any]
    outcome: str = ""  # accepted | rejected | busy | error
    code: str = ""
    created: bool = False
    end_seq: int = 0
    entries: int = 0
    result: str = ""


def issue_request(shop: Shop, n: int) -> IssueRequest:
    """Key n always means the same request, whichever process sends it."""
    customers = shop.customers
    customer = customers[n % len(customers)]
    order = shop.orders[customer][n % len(shop.orders[customer])]
    if n % 8 == 7:
        return IssueRequest(
            customer_id=customer,
            kind=RewardKind.COUPON,
            amount=COUPON_VALUE,
            program_id=shop.program_id,
            order_id=order,
            coupon_kind=CouponKind.FIXED,
            hold_days=0,
            source="manual",
        )
    return IssueRequest(
        customer_id=customer,
        kind=RewardKind.POINTS,
        amount=Decimal(100),
        program_id=shop.program_id,
        rule_id=shop.rule_id,
        lead_id=shop.leads[(n // len(customers)) % len(shop.leads)],
        order_id=order,
        source="rule",
        source_id=shop.rule_id,
        hold_days=0 if n % 3 else HOLD_DAYS,
        cap_per_month=6,
        cap_lifetime=8,
    )


def redeem_request(session: Session, shop: Shop, m: int) -> tuple[RedeemRequest, str | None]:
    """Redeem key m: points, or (every sixth key) the customer's oldest usable coupon as
    seen right now, so racing processes may send different coupons under one key."""
    customers = shop.customers
    customer = customers[m % len(customers)]
    orders = shop.orders[customer]
    order = orders[(m // len(customers)) % len(orders)]
    if m % 6 == 5:
        coupon = session.scalar(
            select(Coupon)
            .where(
                Coupon.org_id == shop.org_id,
                Coupon.customer_id == customer,
                Coupon.status == CouponStatus.AVAILABLE,
            )
            .order_by(Coupon.id)
            .limit(1)
        )
        if coupon is not None:
            from laoke.rewards.models import Reward

            reward = session.get(Reward, coupon.reward_id)
            assert reward is not None
            return (
                RedeemRequest(customer_id=customer, order_id=order, coupon_id=coupon.id),
                reward.idempotency_key,
            )
    return RedeemRequest(customer_id=customer, order_id=order, points=Decimal(REDEEM_POINTS)), None


def is_busy(error: Exception) -> bool:
    """Database contention worth retrying: SQLite busy/locked, PostgreSQL serialization
    failure or deadlock."""
    if isinstance(error, OperationalError) and "locked" in str(error).lower():
        return True
    if isinstance(error, DBAPIError):
        code = getattr(getattr(error, "orig", None), "sqlstate", None)
        return code in ("40001", "40P01", "55P03")
    return False


def _engine(url: str, search_path: str | None):
    if url.startswith("sqlite"):
        return make_engine(url)
    # Commits need not wait for the disk here: every posting holds the tenant's ledger lock
    # through its commit, so a flush per commit would only slow the race down, not change it.
    options = f"-csearch_path={search_path} -csynchronous_commit=off"
    return create_engine(url, connect_args={"options": options}, pool_size=1)


def _count_entries(session: Session) -> list[int]:
    """A counter of the ledger entries this session writes."""
    posted = [0]

    @event.listens_for(session, "before_flush")
    def _count(session: Session, _context: Any, _instances: Any) -> None:
        posted[0] += sum(isinstance(row, LedgerEntry) for row in session.new)

    return posted


class Runner:
    """Runs attempts against one tenant; used by the workers and by the replay."""

    def __init__(self, database: Database, shop: Shop, actor: Actor) -> None:
        self.database = database
        self.shop = shop
        self.actor = actor

    def run(self, op: str, args: dict[str, Any]) -> Attempt:
        attempt = Attempt(op, args)
        for tries in range(RETRIES):
            try:
                with self.database.unit_of_work() as session:
                    posted = _count_entries(session)
                    self._do(session, attempt)
                    attempt.entries = posted[0]
                    attempt.end_seq = session.scalar(
                        select(LedgerHead.seq).where(LedgerHead.org_id == self.shop.org_id)
                    )
                    session.commit()
                attempt.outcome = "accepted"
                return attempt
            except DomainError as error:
                attempt.outcome, attempt.code = "rejected", error.code
                return attempt
            except Exception as error:
                if is_busy(error):
                    attempt.outcome, attempt.code = "busy", type(error).__name__
                    time.sleep(0.005 * (tries + 1))
                    continue
                attempt.outcome, attempt.code = "error", repr(error)
                attempt.result = traceback.format_exc()
                return attempt
        return attempt

    def _do(self, session: Session, attempt: Attempt) -> None:
        shop, args = self.shop, attempt.args
        match attempt.op:
            case "issue":
                request = issue_request(shop, args["n"])
                reward, created = issue(session, shop.org_id, request, f"issue-{args['n']}")
                attempt.created = created
                attempt.result = f"{reward.status}:{reward.status_reason or ''}"
            case "redeem":
                if "coupon_key" in args:  # sent before: the same request again
                    request = self._replayed_redeem(session, args)
                else:
                    # Record what was chosen, a coupon or none: the replay must send this
                    # request, not choose afresh (a coupon released after this choice was
                    # made, but before its lock was granted, would be chosen then).
                    request, coupon_key = redeem_request(session, shop, args["m"])
                    args["coupon_key"] = coupon_key or ""
                    args["points"] = int(request.points)
                redemption, created = redeem(session, shop.org_id, request, f"redeem-{args['m']}")
                attempt.created = created
                attempt.result = f"{redemption.points}:{redemption.value}"
            case "refund":
                order = shop.orders[shop.customers[args["c"]]][args["o"]]
                refund_order(session, self.actor, order)
                attempt.created = True
            case "reverse":
                reward = find_by_key(session, shop.org_id, f"issue-{args['n']}")
                if reward is None:
                    attempt.code = "no_reward"
                    return
                reverse_by_hand(session, self.actor, reward.id, "correction")
                attempt.created = True
            case "release":
                count = release_due(session, shop.org_id, utcnow() + RELEASE_AHEAD)
                attempt.created = count > 0
                attempt.result = str(count)
            case _:
                raise ValueError(attempt.op)

    def _replayed_redeem(self, session: Session, args: dict[str, Any]) -> RedeemRequest:
        shop = self.shop
        customer = shop.customers[args["m"] % len(shop.customers)]
        orders = shop.orders[customer]
        order = orders[(args["m"] // len(shop.customers)) % len(orders)]
        coupon_id = None
        if args.get("coupon_key"):
            reward = find_by_key(session, shop.org_id, args["coupon_key"])
            assert reward is not None
            coupon_id = session.scalar(select(Coupon.id).where(Coupon.reward_id == reward.id))
        return RedeemRequest(
            customer_id=customer,
            order_id=order,
            points=Decimal(args.get("points", 0)),
            coupon_id=coupon_id,
        )


def choose(rng: random.Random, shop: Shop) -> tuple[str, dict[str, Any]]:
    roll = rng.random()
    if roll < 0.40:
        return "issue", {"n": rng.randrange(ISSUE_KEYS)}
    if roll < 0.72:
        return "redeem", {"m": rng.randrange(REDEEM_KEYS)}
    if roll < 0.75:
        return "refund", {
            "c": rng.randrange(len(shop.customers)),
            "o": rng.randrange(REFUNDABLE_ORDERS),
        }
    if roll < 0.76:
        return "reverse", {"n": rng.randrange(ISSUE_KEYS)}
    return "release", {}


def worker(
    url: str, search_path: str | None, shop_fields: dict[str, Any], seed: int, attempts: int
) -> list[dict[str, Any]]:
    """One OS process: its own engine, `attempts` attempts, their records."""
    shop = Shop(**shop_fields)
    shop.orders = {int(k): v for k, v in shop.orders.items()}
    engine = _engine(url, search_path)
    database = Database(engine)
    with database.unit_of_work(write=False) as session:
        user = session.get(User, shop.owner_id)
        assert user is not None
        actor = actor_for(user)
    runner = Runner(database, shop, actor)
    rng = random.Random(seed)
    records = []
    for _ in range(attempts):
        op, args = choose(rng, shop)
        records.append(asdict(runner.run(op, args)))
    engine.dispose()
    return records


def effective(record: dict[str, Any]) -> bool:
    """Accepted and changed something: what the replay repeats."""
    return record["outcome"] == "accepted" and record["created"]


def ledger_order(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Accepted attempts in the order the ledger lock let them through: by the sequence
    number their transaction ended at; one that posted nothing ran before whichever
    attempt posted the next entry, so it sorts after those ending at the same number."""
    return sorted(
        (r for r in records if effective(r)),
        key=lambda r: (r["end_seq"], 0 if r["entries"] else 1),
    )


def shop_fields(shop: Shop) -> dict[str, Any]:
    return asdict(shop)
