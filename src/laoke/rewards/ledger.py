"""The reward ledger: accounts, hash-chained postings, derived balances and verification.

Every posting first locks the tenant's `LedgerHead` row (PostgreSQL: `FOR UPDATE`; SQLite
write sessions already begin `IMMEDIATE`), so postings of one tenant happen one at a time:
checks of balances, caps and idempotency keys made after `lock()` cannot race.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from laoke.db import utcnow
from laoke.errors import N_, Conflict
from laoke.rewards.models import (
    DEBIT_NORMAL,
    AccountKind,
    Asset,
    LedgerAccount,
    LedgerEntry,
    LedgerHead,
    Operation,
)

CENT = Decimal("0.01")
GENESIS = "0" * 64


def lock(session: Session, org_id: int) -> LedgerHead:
    """Take the tenant's ledger lock for the rest of the transaction."""
    query = select(LedgerHead).where(LedgerHead.org_id == org_id)
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        query = query.with_for_update()
        session.flush()
    head = session.scalar(query.execution_options(populate_existing=True))
    if postgres:
        # Rows read before the lock may have changed while it was awaited (a coupon voided,
        # an order refunded): read them again rather than decide on what was seen then.
        # SQLite needs none of this: a write transaction holds its lock from the start.
        session.expire_all()
    if head is None:
        session.add(LedgerHead(org_id=org_id, seq=0, hash=GENESIS))
        session.flush()
        head = session.scalar(query.execution_options(populate_existing=True))
    assert head is not None
    return head


def owner_key(customer_id: int | None) -> str:
    return "system" if customer_id is None else f"c{customer_id}"


def account(
    session: Session, org_id: int, asset: Asset, kind: AccountKind, customer_id: int | None = None
) -> LedgerAccount:
    if kind in (AccountKind.ISSUED, AccountKind.REDEEMED, AccountKind.EXPIRED):
        customer_id = None
    elif customer_id is None:
        raise ValueError(f"{kind} is a customer account")
    key = owner_key(customer_id)
    found = session.scalar(
        select(LedgerAccount).where(
            LedgerAccount.org_id == org_id,
            LedgerAccount.asset == asset,
            LedgerAccount.kind == kind,
            LedgerAccount.owner_key == key,
        )
    )
    if found is None:
        found = LedgerAccount(
            org_id=org_id,
            asset=asset,
            kind=kind,
            customer_id=customer_id,
            owner_key=key,
            balance=Decimal(0),
        )
        session.add(found)
        session.flush()
    return found


def balance(
    session: Session, org_id: int, asset: Asset, kind: AccountKind, customer_id: int
) -> Decimal:
    found = session.scalar(
        select(LedgerAccount.balance).where(
            LedgerAccount.org_id == org_id,
            LedgerAccount.asset == asset,
            LedgerAccount.kind == kind,
            LedgerAccount.owner_key == owner_key(customer_id),
        )
    )
    return Decimal(found or 0)


def _stamp(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def entry_hash(entry: LedgerEntry, prev_hash: str) -> str:
    return fields_hash(entry.fields(), prev_hash)


def fields_hash(fields: Mapping[str, Any], prev_hash: str) -> str:
    """SHA-256 over an entry's fields in a fixed order, chained to the previous hash."""
    parts = [
        str(fields["org_id"]),
        str(fields["seq"]),
        _stamp(fields["at"]),
        str(fields["operation"]),
        str(fields["asset"]),
        f"{Decimal(fields['amount']).quantize(CENT)}",
        str(fields["debit"]),
        str(fields["credit"]),
        *(
            "" if fields[name] is None else str(fields[name])
            for name in ("reward_id", "coupon_id", "redemption_id", "order_id", "actor_id")
        ),
        fields["memo"] or "",
        prev_hash,
    ]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def _signed(account: LedgerAccount, debit: bool, amount: Decimal) -> Decimal:
    """How a movement changes this account's reported balance."""
    grows = debit if account.kind in DEBIT_NORMAL else not debit
    return amount if grows else -amount


class InsufficientBalance(Conflict):
    pass


@dataclass
class Posting:
    """One movement to write; `post()` adds the sequence number, time and hashes."""

    operation: Operation
    asset: Asset
    amount: Decimal
    debit: LedgerAccount
    credit: LedgerAccount
    reward_id: int | None = None
    coupon_id: int | None = None
    redemption_id: int | None = None
    order_id: int | None = None
    memo: str = ""
    actor_id: int | None = None


def post(session: Session, head: LedgerHead, posting: Posting) -> LedgerEntry:
    """Append one entry and move the cached balances; refuses to take a customer below zero.

    The caller holds `head` from `lock()`.
    """
    amount = Decimal(posting.amount).quantize(CENT)
    if amount <= 0:
        raise ValueError("ledger amounts are positive")
    if posting.debit.asset != posting.asset or posting.credit.asset != posting.asset:
        raise ValueError("both accounts must hold the posting's asset")
    for side, acct in ((True, posting.debit), (False, posting.credit)):
        after = Decimal(acct.balance) + _signed(acct, side, amount)
        if not acct.kind.startswith("system_") and after < 0:
            raise InsufficientBalance(
                N_("Not enough balance for this."), code="insufficient_balance"
            )
    entry = LedgerEntry(
        org_id=head.org_id,
        seq=head.seq + 1,
        at=utcnow(),
        operation=posting.operation,
        asset=posting.asset,
        amount=amount,
        debit_account_id=posting.debit.id,
        credit_account_id=posting.credit.id,
        reward_id=posting.reward_id,
        coupon_id=posting.coupon_id,
        redemption_id=posting.redemption_id,
        order_id=posting.order_id,
        memo=posting.memo[:200],
        actor_id=posting.actor_id,
        prev_hash=head.hash,
        hash="",
    )
    entry.hash = entry_hash(entry, head.hash)
    session.add(entry)
    posting.debit.balance = Decimal(posting.debit.balance) + _signed(posting.debit, True, amount)
    posting.credit.balance = Decimal(posting.credit.balance) + _signed(
        posting.credit, False, amount
    )
    head.seq = entry.seq
    head.hash = entry.hash
    session.flush()
    return entry


# --- reading balances ---------------------------------------------------------------------


@dataclass(frozen=True)
class Balances:
    held: Decimal = Decimal(0)
    available: Decimal = Decimal(0)
    receivable: Decimal = Decimal(0)


def customer_balances(session: Session, org_id: int, customer_id: int) -> dict[Asset, Balances]:
    """Every asset's held, available and owed balance of one customer."""
    rows = session.execute(
        select(LedgerAccount.asset, LedgerAccount.kind, LedgerAccount.balance).where(
            LedgerAccount.org_id == org_id, LedgerAccount.owner_key == owner_key(customer_id)
        )
    )
    found: dict[Asset, dict[str, Decimal]] = defaultdict(dict)
    for asset, kind, amount in rows:
        found[Asset(asset)][str(kind)] = Decimal(amount)
    return {
        asset: Balances(
            held=found[asset].get(AccountKind.HELD, Decimal(0)),
            available=found[asset].get(AccountKind.AVAILABLE, Decimal(0)),
            receivable=found[asset].get(AccountKind.RECEIVABLE, Decimal(0)),
        )
        for asset in Asset
    }


def derived_balance(session: Session, acct: LedgerAccount) -> Decimal:
    """The balance the entries give, independent of the cached column."""
    credits = session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
            LedgerEntry.org_id == acct.org_id, LedgerEntry.credit_account_id == acct.id
        )
    )
    debits = session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
            LedgerEntry.org_id == acct.org_id, LedgerEntry.debit_account_id == acct.id
        )
    )
    net = Decimal(credits) - Decimal(debits)
    return -net if acct.kind in DEBIT_NORMAL else net


# --- verification -------------------------------------------------------------------------


@dataclass
class Verification:
    entries: int = 0
    accounts: int = 0
    head_hash: str = GENESIS
    problems: list[str] = field(default_factory=list)
    first_broken_seq: int | None = None
    first_broken_id: int | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class StoredEntry:
    id: int
    seq: int
    prev_hash: str
    hash: str
    asset: str
    amount: Decimal
    debit: int
    credit: int
    fields: dict[str, Any]


def _entries(session: Session, org_id: int, batch: int = 5000) -> Iterator[StoredEntry]:
    """Entries in chain order as plain rows (no ORM identity map to grow or expunge)."""
    table = LedgerEntry.__table__
    last = 0
    while True:
        rows = (
            session.execute(
                select(table)
                .where(table.c.org_id == org_id, table.c.seq > last)
                .order_by(table.c.seq)
                .limit(batch)
            )
            .mappings()
            .all()
        )
        if not rows:
            return
        for row in rows:
            fields = {
                "org_id": row["org_id"],
                "seq": row["seq"],
                "at": row["at"],
                "operation": row["operation"],
                "asset": row["asset"],
                "amount": row["amount"],
                "debit": row["debit_account_id"],
                "credit": row["credit_account_id"],
                "reward_id": row["reward_id"],
                "coupon_id": row["coupon_id"],
                "redemption_id": row["redemption_id"],
                "order_id": row["order_id"],
                "memo": row["memo"],
                "actor_id": row["actor_id"],
            }
            yield StoredEntry(
                row["id"],
                row["seq"],
                row["prev_hash"],
                row["hash"],
                row["asset"],
                Decimal(row["amount"]),
                row["debit_account_id"],
                row["credit_account_id"],
                fields,
            )
        last = rows[-1]["seq"]


def verify(session: Session, org_id: int) -> Verification:
    """Recompute the hash chain and every balance from the entries alone."""
    result = Verification()
    accounts = {
        a.id: (a.kind, a.asset, Decimal(a.balance), a.owner_key)
        for a in session.scalars(select(LedgerAccount).where(LedgerAccount.org_id == org_id))
    }
    head = session.get(LedgerHead, org_id)
    head_seq, head_hash = (head.seq, head.hash) if head else (0, GENESIS)
    result.accounts = len(accounts)
    totals: dict[int, Decimal] = defaultdict(Decimal)
    prev_hash, expected_seq = GENESIS, 1

    def broken(entry: StoredEntry | None, message: str) -> None:
        if result.first_broken_seq is None and entry is not None:
            result.first_broken_seq, result.first_broken_id = entry.seq, entry.id
        result.problems.append(message)

    for entry in _entries(session, org_id):
        result.entries += 1
        if entry.seq != expected_seq:
            broken(
                entry,
                f"entry #{entry.seq} (id {entry.id}): expected #{expected_seq} — an entry is missing",
            )
            break
        if entry.prev_hash != prev_hash:
            broken(
                entry, f"entry #{entry.seq} (id {entry.id}): does not follow the entry before it"
            )
            break
        if fields_hash(entry.fields, prev_hash) != entry.hash:
            broken(
                entry,
                f"entry #{entry.seq} (id {entry.id}): its contents were changed after it was written",
            )
            break
        for account_id in (entry.debit, entry.credit):
            if account_id not in accounts or accounts[account_id][1] != entry.asset:
                broken(
                    entry,
                    f"entry #{entry.seq} (id {entry.id}): account {account_id} does not hold {entry.asset}",
                )
        totals[entry.debit] -= entry.amount
        totals[entry.credit] += entry.amount
        prev_hash, expected_seq = entry.hash, expected_seq + 1
        if result.problems:
            break
    result.head_hash = prev_hash
    if not result.problems and (head_seq != result.entries or head_hash != prev_hash):
        result.problems.append(
            f"the ledger head names entry #{head_seq} but the chain ends at #{result.entries}"
            " — entries were removed or added by hand"
        )
    if result.problems:
        return result
    for account_id, (kind, _asset, cached, key) in sorted(accounts.items()):
        derived = -totals[account_id] if kind in DEBIT_NORMAL else totals[account_id]
        if derived != cached:
            result.problems.append(
                f"account {account_id} ({key} {kind}): entries give {derived}, stored balance {cached}"
            )
        elif not str(kind).startswith("system_") and derived < 0:
            result.problems.append(f"account {account_id} ({key} {kind}) is below zero: {derived}")
    return result
