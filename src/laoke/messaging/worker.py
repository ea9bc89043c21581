"""The worker: runs due scheduled jobs and drains the outbox through the channels.

    laoke worker          # loop until stopped (Ctrl-C / SIGTERM finish the batch first)
    laoke worker --once   # do what is due now, then exit (cron-friendly)

`laoke serve` runs one in a background thread unless LAOKE_RUN_WORKER=false. Any number
of workers may run against PostgreSQL (claims use FOR UPDATE SKIP LOCKED); on SQLite
claims are serialised by the database's write lock. See `messaging.queue` for the claim,
lease and retry rules and the delivery guarantees per channel.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from laoke.config import Mode, Settings
from laoke.db import Database, utcnow
from laoke.messaging import campaigns, queue, scheduler, vault
from laoke.messaging.channel_service import build_transport
from laoke.messaging.channels.base import (
    Outcome,
    OutgoingMessage,
    PermanentFailure,
    TransientFailure,
    Transport,
)
from laoke.messaging.channels.webhook import WebhookTransport
from laoke.messaging.models import Channel, OutboxMessage, WebhookSubscription

log = logging.getLogger("laoke.worker")

# A channel that cannot send right now stands in as the outcome every message gets.
Unusable = TransientFailure | PermanentFailure
GONE = PermanentFailure("the channel or subscription was deleted")


@dataclass
class Report:
    claimed: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    dead: int = 0
    deferred: int = 0
    cancelled: int = 0
    enqueued: int = 0
    jobs: list[scheduler.RunReport] = field(default_factory=list)

    def add(self, counts: dict[str, int]) -> None:
        self.sent += counts.get("sent", 0)
        self.retrying += counts.get("queued", 0)
        self.failed += counts.get("failed", 0)
        self.dead += counts.get("dead", 0)

    @property
    def worked(self) -> bool:
        return self.claimed > 0 or self.enqueued > 0 or bool(self.jobs)


def _fingerprint(row: Channel | WebhookSubscription) -> str:
    """What the adapter is built from. (Not `updated_at`: spending rate-limit tokens touches
    the channel row, and an SMTP connection should outlive that.)"""
    if isinstance(row, Channel):
        parts = [json.dumps(row.settings, sort_keys=True), row.sealed_secrets or "", row.enabled]
    else:
        parts = [row.url, row.sealed_secret, row.enabled]
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def default_name() -> str:
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{threading.get_ident() % 100000}"


class Worker:
    def __init__(
        self,
        database: Database,
        settings: Settings,
        *,
        name: str | None = None,
        batch_size: int = 100,
        lease_seconds: float = 300.0,
        record_every_seconds: float = 2.0,
        clock: Callable[[], datetime] = utcnow,
        rng: random.Random | None = None,
        jobs: dict[str, scheduler.Job] | None = None,
    ) -> None:
        self.database = database
        self.settings = settings
        self.name = (name or default_name())[:64]
        self.batch_size = batch_size
        self.lease = timedelta(seconds=lease_seconds)
        self.record_every = record_every_seconds
        self.clock = clock
        self.rng = rng or random.Random()
        self.jobs = jobs
        self._transports: dict[tuple[str, int], tuple[str, Transport | Unusable]] = {}
        self._finished_runs: set[tuple[int, str, str]] = set()

    # --- one pass --------------------------------------------------------------------------

    def run_once(self) -> Report:
        """Reclaim lost leases, run due jobs, then send everything due now."""
        report = Report()
        with self.database.unit_of_work() as session:
            queue.reclaim_stale(session, now=self.clock())
        report.jobs = scheduler.run_due(
            self.database,
            self.clock(),
            self.name,
            jobs=self.jobs,
            clock=self.clock,
            finished=self._finished_runs,
        )
        report.enqueued = campaigns.pump(self.database, self.clock())
        self.drain(report)
        return report

    def drain(self, report: Report | None = None, max_batches: int | None = None) -> Report:
        """Claim, send and record until nothing is due. The outcomes of one batch are written
        in the transaction that claims the next, one commit for both."""
        report = report or Report()
        carry: list[queue.Result] = []
        batches = 0
        try:
            while max_batches is None or batches < max_batches:
                batches += 1
                claimed = self._record_and_claim(carry, report)
                carry = []
                report.claimed += len(claimed.rows)
                report.deferred += claimed.deferred
                report.cancelled += claimed.cancelled
                if not claimed.rows:
                    if claimed.deferred or claimed.cancelled:
                        continue  # the claim only moved rows; others may be due behind them
                    break
                carry = self._send_batch(claimed.rows, report)
        finally:
            self._record(carry, report)
        return report

    def _record_and_claim(self, carry: list[queue.Result], report: Report) -> queue.Claimed:
        with self.database.unit_of_work() as session:
            try:
                if carry:
                    report.add(
                        queue.record(
                            session,
                            carry,
                            worker=self.name,
                            now=self.clock(),
                            rng=self.rng,
                            commit=False,
                        )
                    )
                return queue.claim(
                    session,
                    worker=self.name,
                    now=self.clock(),
                    limit=self.batch_size,
                    lease=self.lease,
                )
            except Exception:
                session.rollback()
                self._record(carry, report)  # keep the outcomes even if the claim failed
                carry.clear()
                raise

    # --- sending ---------------------------------------------------------------------------

    def _send_batch(self, rows: list[OutboxMessage], report: Report) -> list[queue.Result]:
        """Send a claimed batch; returns the outcomes not written yet (a long batch writes
        what it has every `record_every` seconds, so a crash loses little)."""
        self._load_transports(rows)
        results: list[queue.Result] = []
        unsent: list[int] = []
        last_record = time.monotonic()
        for row in rows:
            transport = self._transport_for(row)
            margin = timedelta(seconds=(getattr(transport, "timeout", 10.0) or 10.0) + 5)
            if row.lease_until is None or self.clock() + margin >= row.lease_until:
                unsent.append(row.id)
                continue
            outcome = self._send_one(transport, row)
            results.append(queue.Result(row.id, row.attempts, row.max_attempts, outcome))
            if time.monotonic() - last_record >= self.record_every:
                self._record(results, report)
                results, last_record = [], time.monotonic()
        if unsent:
            with self.database.unit_of_work() as session:
                queue.release(session, unsent, worker=self.name, now=self.clock())
        return results

    def _record(self, results: list[queue.Result], report: Report) -> None:
        if not results:
            return
        with self.database.unit_of_work() as session:
            report.add(
                queue.record(session, results, worker=self.name, now=self.clock(), rng=self.rng)
            )

    def _send_one(self, transport: Transport | Unusable, row: OutboxMessage) -> Outcome:
        if isinstance(transport, TransientFailure | PermanentFailure):
            return transport
        message = OutgoingMessage(
            id=row.id,
            org_id=row.org_id,
            idempotency_key=row.idempotency_key,
            purpose=row.purpose,
            is_marketing=row.is_marketing,
            recipient=row.recipient,
            subject=row.subject,
            body=row.body,
            language=row.language,
            attempt=row.attempts,
            meta=dict(row.meta or {}),
        )
        try:
            return transport.send(message)
        except Exception as exc:
            log.exception("channel adapter raised for message %s", row.id)
            return TransientFailure(f"adapter error: {type(exc).__name__}: {exc}"[:300])

    def _load_transports(self, rows: list[OutboxMessage]) -> None:
        channel_ids = {r.channel_id for r in rows if r.channel_id is not None}
        sub_ids = {r.subscription_id for r in rows if r.subscription_id is not None}
        if not channel_ids and not sub_ids:
            return
        with self.database.unit_of_work(write=False) as session:
            for channel in session.scalars(select(Channel).where(Channel.id.in_(channel_ids))):
                self._remember(
                    ("channel", channel.id), _fingerprint(channel), lambda c=channel: self._build(c)
                )
            for sub in session.scalars(
                select(WebhookSubscription).where(WebhookSubscription.id.in_(sub_ids))
            ):
                self._remember(
                    ("subscription", sub.id), _fingerprint(sub), lambda s=sub: self._build_sub(s)
                )

    def _remember(
        self, key: tuple[str, int], version: str, build: Callable[[], Transport | Unusable]
    ) -> None:
        cached = self._transports.get(key)
        if cached and cached[0] == version:
            return
        if cached and isinstance(cached[1], Transport):
            cached[1].close()
        self._transports[key] = (version, build())

    def _build(self, channel: Channel) -> Transport | Unusable:
        if not channel.enabled:
            return TransientFailure("the channel is switched off", 600)
        try:
            return build_transport(channel, self.settings)
        except vault.SecretsUnreadable:
            return TransientFailure(
                "the channel's secrets cannot be read (LAOKE_SECRET_KEY changed?): save them again"
            )
        except (KeyError, ValueError) as exc:
            return TransientFailure(f"the channel is misconfigured: {exc}")

    def _build_sub(self, sub: WebhookSubscription) -> Transport | Unusable:
        if not sub.enabled:
            return TransientFailure("the subscription is paused", 600)
        try:
            secret = vault.unseal(self.settings.secret_key, sub.sealed_secret).get("secret", "")
        except vault.SecretsUnreadable:
            return TransientFailure(
                "the subscription's secret cannot be read (LAOKE_SECRET_KEY changed?)"
            )
        return WebhookTransport(
            url=sub.url, secret=secret, allow_private=self.settings.allows_private_targets
        )

    def _transport_for(self, row: OutboxMessage) -> Transport | Unusable:
        if row.subscription_id is not None:
            key = ("subscription", row.subscription_id)
        elif row.channel_id is not None:
            key = ("channel", row.channel_id)
        else:
            return GONE
        cached = self._transports.get(key)
        return cached[1] if cached else GONE

    # --- lifetime --------------------------------------------------------------------------

    def run_forever(self, stop: threading.Event) -> None:
        poll = self.settings.worker_poll_seconds
        while not stop.is_set():
            try:
                report = self.run_once()
            except Exception:
                log.exception("worker pass failed; trying again shortly")
                report = Report()
            if not report.worked:
                stop.wait(poll)
        self.close()

    def close(self) -> None:
        for _version, transport in self._transports.values():
            if isinstance(transport, Transport):
                transport.close()
        self._transports.clear()


@asynccontextmanager
async def lifespan(app: Any) -> AsyncIterator[None]:
    """The web app's lifespan: a worker thread unless LAOKE_RUN_WORKER=false or in tests."""
    settings: Settings = app.state.settings
    background = None
    if settings.run_worker and settings.mode is not Mode.TEST:
        background = BackgroundWorker(app.state.database, settings).start()
    try:
        yield
    finally:
        if background is not None:
            background.stop()


class BackgroundWorker:
    """The worker inside `laoke serve`: a daemon thread started and stopped by the app."""

    def __init__(self, database: Database, settings: Settings) -> None:
        self.worker = Worker(database, settings)
        self.stop_event = threading.Event()
        self.thread = threading.Thread(
            target=self.worker.run_forever,
            args=(self.stop_event,),
            name="laoke-worker",
            daemon=True,
        )

    def start(self) -> BackgroundWorker:
        self.thread.start()
        return self

    def stop(self, timeout: float = 15.0) -> None:
        self.stop_event.set()
        self.thread.join(timeout)
