"""The outbox as a queue: claiming due messages, recording outcomes, reclaiming leases.

Claim. One short transaction takes up to `limit` due rows (`queued`, `next_attempt_at`
passed) and marks them `sending` with a lease and the worker's name. On PostgreSQL the
rows are chosen with `FOR UPDATE SKIP LOCKED`, so concurrent workers take disjoint sets
without waiting on each other; on SQLite the write transaction begins IMMEDIATE, so
claims are serial and a single UPDATE … RETURNING does the job. In the same transaction:
rate-limited channels spend tokens (rows beyond the allowance go back, due when a token
will be there), marketing to customers who withdrew consent is cancelled, and marketing
that fell into quiet hours is moved to their end.

Send. The worker sends outside any transaction and stops before its lease runs out.

Record. A batch's outcomes are written with one UPDATE per kind of outcome, in the same
transaction as the next claim (one commit for both), each guarded by
`status='sending' AND claimed_by=<this worker>`, so a worker that lost its lease never
overwrites what another did. A long batch writes what it has every couple of seconds.

Lost leases. A row still `sending` after its lease ended belonged to a worker that died
mid-batch; whether it reached the provider is unknown. If the channel passes the
idempotency key on (SMTP Message-ID, webhook Idempotency-Key, an SMS template that
includes it) the row is queued again: at-least-once, duplicates dropped downstream.
Otherwise (WeCom robot, SMS gateways without a key) it becomes a dead letter, so a person
decides: at-most-once.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Select, case, select, update
from sqlalchemy.orm import Session

from laoke.customers.models import Customer
from laoke.messaging import preferences, ratelimit
from laoke.messaging.channel_service import resend_safe
from laoke.messaging.channels.base import Delivered, Outcome, PermanentFailure, TransientFailure
from laoke.messaging.consent import quiet_release
from laoke.messaging.models import Channel, MessageStatus, OutboxMessage

BASE_DELAY = 30.0
MAX_DELAY = 6 * 3600.0


def backoff(attempts: int, rng: random.Random) -> float:
    """Seconds before attempt `attempts + 1`: exponential from 30 s, capped at 6 h, with
    "equal jitter" (between half and all of it) so failed batches do not retry in step."""
    delay = min(MAX_DELAY, BASE_DELAY * 2 ** max(attempts - 1, 0))
    return delay / 2 + rng.uniform(0, delay / 2)


@dataclass
class Claimed:
    rows: list[OutboxMessage] = field(default_factory=list)
    deferred: int = 0
    cancelled: int = 0


def _due_ids(
    session: Session, now: datetime, limit: int, exhausted: set[int]
) -> Select[tuple[int]]:
    query = (
        select(OutboxMessage.id)
        .where(OutboxMessage.status == MessageStatus.QUEUED, OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(limit)
    )
    if exhausted:
        query = query.where(
            (OutboxMessage.channel_id.is_(None)) | (OutboxMessage.channel_id.not_in(exhausted))
        )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return query


def _buckets(session: Session, now: datetime) -> tuple[set[int], set[int]]:
    """(rate-limited channel ids, those whose bucket holds less than one token now)."""
    rows = session.execute(
        select(
            Channel.id,
            Channel.bucket_tokens,
            Channel.bucket_at,
            Channel.rate_per_minute,
            Channel.burst,
        ).where(Channel.rate_per_minute.is_not(None))
    ).all()
    limited = {row.id for row in rows}
    exhausted = {
        row.id
        for row in rows
        if ratelimit.refill(row.bucket_tokens, row.bucket_at, now, row.rate_per_minute, row.burst)
        < 1.0
    }
    return limited, exhausted


def claim(session: Session, *, worker: str, now: datetime, limit: int, lease: timedelta) -> Claimed:
    """Claim due messages and commit. The session must be a write session."""
    result = Claimed()
    limited, exhausted = _buckets(session, now)
    ids = _due_ids(session, now, limit, exhausted).scalar_subquery()
    rows = list(
        session.scalars(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids))
            .values(
                status=MessageStatus.SENDING,
                attempts=OutboxMessage.attempts + 1,
                lease_until=now + lease,
                claimed_by=worker,
                updated_at=now,
            )
            .returning(OutboxMessage),
            execution_options={"synchronize_session": False},
        )
    )
    rows.sort(key=lambda r: (r.next_attempt_at, r.id))
    if limited.intersection(r.channel_id for r in rows):
        rows = _spend_tokens(session, rows, now, result)
    rows = _check_consent_and_quiet_hours(session, rows, now, result)
    session.commit()
    result.rows = rows
    return result


def _put_back(session: Session, row: OutboxMessage, due: datetime, now: datetime) -> None:
    row.status = MessageStatus.QUEUED
    row.attempts -= 1
    row.lease_until = None
    row.claimed_by = None
    row.next_attempt_at = due
    row.updated_at = now


def _spend_tokens(
    session: Session, rows: list[OutboxMessage], now: datetime, result: Claimed
) -> list[OutboxMessage]:
    limited = {r.channel_id for r in rows if r.channel_id is not None}
    if not limited:
        return rows
    query = select(Channel).where(Channel.id.in_(limited), Channel.rate_per_minute.is_not(None))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    buckets = {c.id: c for c in session.scalars(query.order_by(Channel.id))}
    kept: list[OutboxMessage] = []
    queued_behind: dict[int, int] = defaultdict(int)
    for row in rows:
        channel = buckets.get(row.channel_id) if row.channel_id is not None else None
        if channel is None:
            kept.append(row)
            continue
        rate = channel.rate_per_minute or 1
        tokens = ratelimit.refill(
            channel.bucket_tokens, channel.bucket_at, now, rate, channel.burst
        )
        if tokens >= 1.0:
            channel.bucket_tokens, channel.bucket_at = tokens - 1.0, now
            kept.append(row)
        else:
            channel.bucket_tokens, channel.bucket_at = tokens, now
            queued_behind[channel.id] += 1
            wait = ratelimit.wait_for(tokens, queued_behind[channel.id], rate)
            _put_back(session, row, now + timedelta(seconds=wait), now)
            result.deferred += 1
    return kept


def _check_consent_and_quiet_hours(
    session: Session, rows: list[OutboxMessage], now: datetime, result: Claimed
) -> list[OutboxMessage]:
    marketing = [r for r in rows if r.is_marketing]
    if not marketing:
        return rows
    customer_ids = {r.customer_id for r in marketing if r.customer_id is not None}
    consenting = set(
        session.scalars(
            select(Customer.id).where(
                Customer.id.in_(customer_ids),
                Customer.marketing_consent.is_(True),
                Customer.erased_at.is_(None),
                Customer.merged_into_id.is_(None),
            )
        )
    )
    kept = []
    for row in rows:
        if not row.is_marketing:
            kept.append(row)
            continue
        if row.customer_id not in consenting:
            row.status = MessageStatus.CANCELLED
            row.last_error = "consent withdrawn"
            row.lease_until = None
            row.updated_at = now
            result.cancelled += 1
            continue
        prefs = preferences.load(session, row.org_id)
        release = (
            quiet_release(now, prefs.timezone, prefs.quiet_start, prefs.quiet_end)
            if prefs.quiet_enabled
            else now
        )
        if release > now:
            _put_back(session, row, release, now)
            result.deferred += 1
            continue
        kept.append(row)
    return kept


@dataclass(frozen=True, slots=True)
class Result:
    id: int
    attempts: int
    max_attempts: int
    outcome: Outcome


def record(
    session: Session,
    results: list[Result],
    *,
    worker: str,
    now: datetime,
    rng: random.Random,
    commit: bool = True,
) -> dict[str, int]:
    """Write a batch of outcomes (and commit, unless the caller claims in the same
    transaction); returns counts by new status."""
    counts: dict[str, int] = defaultdict(int)
    params = []
    for item in results:
        values = {
            "b_id": item.id,
            "b_status": MessageStatus.SENT,
            "b_error": None,
            "b_provider": None,
            "b_next": now,
            "b_sent": None,
        }
        outcome = item.outcome
        if isinstance(outcome, Delivered):
            values.update(b_provider=(outcome.provider_message_id or "")[:200] or None, b_sent=now)
        elif isinstance(outcome, PermanentFailure):
            values.update(b_status=MessageStatus.FAILED, b_error=outcome.error[:500])
        else:
            assert isinstance(outcome, TransientFailure)
            if item.attempts >= item.max_attempts:
                values.update(b_status=MessageStatus.DEAD, b_error=outcome.error[:500])
            else:
                delay = max(backoff(item.attempts, rng), outcome.retry_after or 0.0)
                values.update(
                    b_status=MessageStatus.QUEUED,
                    b_error=outcome.error[:500],
                    b_next=now + timedelta(seconds=min(delay, MAX_DELAY)),
                )
        counts[values["b_status"]] += 1
        params.append(values)
    # One UPDATE per kind of outcome (usually one per batch): "id IN (…)" with the
    # provider ids in a CASE, guarded so that a lost lease is never overwritten.
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for p in params:
        groups[(p["b_status"], p["b_error"], p["b_next"], p["b_sent"])].append(p)
    for (status, error, next_at, sent_at), members in groups.items():
        ids = [p["b_id"] for p in members]
        provider_ids = {p["b_id"]: p["b_provider"] for p in members if p["b_provider"]}
        changes: dict = {
            "status": status,
            "last_error": error,
            "next_attempt_at": next_at,
            "sent_at": sent_at,
            "lease_until": None,
            "updated_at": now,
            "provider_message_id": case(provider_ids, value=OutboxMessage.id)
            if provider_ids
            else None,
        }
        session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id.in_(ids),
                OutboxMessage.status == MessageStatus.SENDING,
                OutboxMessage.claimed_by == worker,
            )
            .values(**changes),
            execution_options={"synchronize_session": False},
        )
    if commit:
        session.commit()
    return dict(counts)


def release(session: Session, ids: list[int], *, worker: str, now: datetime) -> None:
    """Give back claimed rows that were not attempted (the lease was running out)."""
    if ids:
        session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id.in_(ids),
                OutboxMessage.status == MessageStatus.SENDING,
                OutboxMessage.claimed_by == worker,
            )
            .values(
                status=MessageStatus.QUEUED,
                attempts=OutboxMessage.attempts - 1,
                lease_until=None,
                claimed_by=None,
                updated_at=now,
            ),
            execution_options={"synchronize_session": False},
        )
    session.commit()


def reclaim_stale(session: Session, *, now: datetime, limit: int = 500) -> dict[str, int]:
    """Deal with `sending` rows whose lease ended (their worker died); commits."""
    query = (
        select(OutboxMessage)
        .where(OutboxMessage.status == MessageStatus.SENDING, OutboxMessage.lease_until < now)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = list(session.scalars(query))
    counts = {"requeued": 0, "dead": 0}
    channels = {
        c.id: c
        for c in session.scalars(
            select(Channel).where(Channel.id.in_({r.channel_id for r in rows if r.channel_id}))
        )
    }
    for row in rows:
        channel = channels.get(row.channel_id) if row.channel_id else None
        if resend_safe(channel) and row.attempts < row.max_attempts:
            row.status = MessageStatus.QUEUED
            row.next_attempt_at = now
            row.last_error = "the worker stopped during this attempt; sent again with the same key"
            counts["requeued"] += 1
        else:
            row.status = MessageStatus.DEAD
            row.last_error = (
                "the worker stopped during this attempt; whether it arrived is unknown "
                "and this channel cannot drop a repeat, so it is not sent again by itself"
            )
            counts["dead"] += 1
        row.lease_until = None
        row.claimed_by = None
        row.updated_at = now
    session.commit()
    return counts
