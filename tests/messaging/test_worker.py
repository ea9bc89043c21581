"""The worker's state machine: retries with backoff, permanent failures, dead letters,
lost leases, rate limits — against a real local HTTP receiver."""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import update

from laoke.customers.models import Customer
from laoke.messaging import queue
from laoke.messaging.models import Channel, MessageStatus, OutboxMessage
from laoke.messaging.outbox import enqueue
from laoke.messaging.sink import Sink
from tests.messaging.conftest import HOOK_SECRET


def _queue(acme, clock, count: int = 1, purpose: str = "service.notice") -> list[int]:
    customer = acme.customer()
    ids = []
    with acme.database.unit_of_work() as s:
        for n in range(count):
            ids.append(
                enqueue(
                    s,
                    org_id=acme.org_id,
                    purpose=purpose,
                    key=f"k{n}",
                    customer=s.get(Customer, customer.id),
                    variables={"notice": f"第{n}条"},
                    now=clock(),
                ).message.id
            )
        s.commit()
    return ids


def test_backoff_doubles_from_thirty_seconds_with_jitter_and_a_cap() -> None:
    rng = random.Random(1)
    for attempts, full in [(1, 30), (2, 60), (5, 480), (20, 6 * 3600)]:
        delay = queue.backoff(attempts, rng)
        assert full / 2 <= delay <= full


def test_a_message_is_sent_once_and_signed(acme, sink, worker, clock) -> None:
    acme.webhook_channel(sink.url + "/in")
    acme.template("service.notice", body="{{ customer_name }}：{{ notice }}")
    [message_id] = _queue(acme, clock)
    report = worker.run_once()
    assert report.sent == 1
    assert worker.run_once().claimed == 0
    assert len(sink.received) == 1 and sink.received[0]["valid"] is True
    sent = acme.message(message_id)
    assert sent.status == MessageStatus.SENT and sent.sent_at == clock() and sent.attempts == 1


def test_transient_failures_retry_with_backoff_until_a_2xx(acme, worker, clock) -> None:
    answers = iter([500, 503, 200])
    with Sink(secret=HOOK_SECRET, status=lambda body, headers: next(answers)) as flaky:
        acme.webhook_channel(flaky.url)
        acme.template("service.notice", body="{{ notice }}")
        [message_id] = _queue(acme, clock)
        worker.run_once()
        first = acme.message(message_id)
        assert first.status == MessageStatus.QUEUED and first.attempts == 1
        assert "HTTP 500" in first.last_error
        assert timedelta(seconds=15) <= first.next_attempt_at - clock() <= timedelta(seconds=30)
        assert worker.run_once().claimed == 0  # not due yet
        clock.now = first.next_attempt_at
        worker.run_once()
        second = acme.message(message_id)
        assert second.attempts == 2 and timedelta(
            seconds=30
        ) <= second.next_attempt_at - clock() <= timedelta(seconds=60)
        clock.now = second.next_attempt_at
        worker.run_once()
        third = acme.message(message_id)
        assert third.status == MessageStatus.SENT, (
            third.last_error,
            third.attempts,
            len(flaky.received),
        )
        assert len(flaky.received) == 3
        assert len({r["headers"]["idempotency-key"] for r in flaky.received}) == 1


def test_out_of_attempts_is_a_dead_letter_and_staff_can_retry_it(
    acme, worker, clock, cast, api_of
) -> None:
    with Sink(secret=HOOK_SECRET, status=502) as down:
        acme.webhook_channel(down.url)
        acme.template("service.notice", body="{{ notice }}")
        [message_id] = _queue(acme, clock)
        with acme.database.unit_of_work() as s:
            s.execute(update(OutboxMessage).values(max_attempts=3))
            s.commit()
        for _ in range(3):
            worker.run_once()
            clock.now = max(clock(), acme.message(message_id).next_attempt_at)
        dead = acme.message(message_id)
        assert dead.status == MessageStatus.DEAD and dead.attempts == 3
        api = api_of(cast.alice)
        listed = api.get("/api/v1/messages", params={"status": "dead"}).json()
        assert [m["id"] for m in listed["items"]] == [message_id]
        down.status = 200
        assert api.post(f"/api/v1/messages/{message_id}/retry").json()["status"] == "queued"
        clock.now = max(clock(), acme.message(message_id).next_attempt_at)
        worker.run_once()
        assert acme.message(message_id).status == MessageStatus.SENT


def test_a_410_is_permanent_and_can_be_cancelled(acme, worker, clock, cast, browser_of) -> None:
    with Sink(secret=HOOK_SECRET, status=410) as gone:
        acme.webhook_channel(gone.url)
        acme.template("service.notice", body="{{ notice }}")
        [message_id] = _queue(acme, clock)
        worker.run_once()
        failed = acme.message(message_id)
        assert failed.status == MessageStatus.FAILED and failed.attempts == 1
        page = browser_of(cast.alice).get("/messages/dead")
        assert f"/messages/m/{message_id}/cancel" in page.text
        from tests.conftest import csrf_from

        alice = browser_of(cast.alice)
        token = csrf_from(alice.get("/messages/dead").text)
        alice.post(f"/messages/m/{message_id}/cancel", data={"csrf_token": token})
        assert acme.message(message_id).status == MessageStatus.CANCELLED


def test_a_lost_lease_is_sent_again_where_the_receiver_drops_repeats(
    acme, sink, worker, clock, database
) -> None:
    acme.webhook_channel(sink.url)
    acme.template("service.notice", body="{{ notice }}")
    [message_id] = _queue(acme, clock)
    with database.unit_of_work() as s:  # a worker claims, then dies
        claimed = queue.claim(
            s, worker="dead-worker", now=clock(), limit=10, lease=timedelta(minutes=5)
        )
    assert [r.id for r in claimed.rows] == [message_id]
    assert worker.run_once().claimed == 0  # the lease still holds
    clock.advance(minutes=6)
    report = worker.run_once()
    assert report.sent == 1
    assert acme.message(message_id).status == MessageStatus.SENT


def test_a_lost_lease_on_the_group_robot_becomes_a_dead_letter(
    acme, sink, worker, clock, database
) -> None:
    acme.channel("wecom", url=sink.url + "/cgi-bin/webhook/send?key=abc")
    acme.template("staff.digest", channel="wecom", body="{{ digest }}")
    from laoke.accounts.models import User

    with database.unit_of_work() as s:
        owner = s.scalars(
            __import__("sqlalchemy").select(User).where(User.org_id == acme.org_id)
        ).first()
        message = enqueue(
            s,
            org_id=acme.org_id,
            purpose="staff.digest",
            key="d",
            user=owner,
            variables={"digest": "x"},
            now=clock(),
        ).message
        s.commit()
    with database.unit_of_work() as s:
        queue.claim(s, worker="dead-worker", now=clock(), limit=10, lease=timedelta(minutes=5))
    clock.advance(minutes=6)
    worker.run_once()
    dead = acme.message(message.id)
    assert dead.status == MessageStatus.DEAD and "unknown" in dead.last_error
    assert sink.received == []


def test_a_worker_that_lost_its_lease_does_not_overwrite_the_outcome(
    acme, sink, clock, database
) -> None:
    acme.webhook_channel(sink.url)
    acme.template("service.notice", body="{{ notice }}")
    [message_id] = _queue(acme, clock)
    with database.unit_of_work() as s:
        queue.claim(s, worker="slow", now=clock(), limit=10, lease=timedelta(minutes=5))
    with database.unit_of_work() as s:  # reclaimed and handed to another worker
        queue.reclaim_stale(s, now=clock() + timedelta(minutes=6))
    from laoke.messaging.channels.base import TransientFailure

    with database.unit_of_work() as s:
        counts = queue.record(
            s,
            [queue.Result(message_id, 1, 8, TransientFailure("late"))],
            worker="slow",
            now=clock(),
            rng=random.Random(1),
        )
    assert counts == {"queued": 1}
    row = acme.message(message_id)
    assert row.status == MessageStatus.QUEUED and row.last_error != "late"


def test_the_rate_limit_spends_tokens_shared_by_all_workers(
    acme, sink, worker, clock, database, settings
) -> None:
    acme.webhook_channel(sink.url, rate_per_minute=6, burst=2)
    acme.template("service.notice", body="{{ notice }}")
    _queue(acme, clock, count=5)
    first = worker.run_once()
    assert first.sent == 2 and first.deferred >= 3
    from laoke.messaging.worker import Worker

    other = Worker(database, settings, name="other", clock=clock, jobs={})
    assert other.run_once().sent == 0  # same bucket, still empty
    clock.advance(seconds=10)  # one token a 10 s
    assert worker.run_once().sent + other.run_once().sent == 1
    clock.advance(seconds=30)
    assert worker.run_once().sent == 2
    assert len(sink.received) == 5
    other.close()


def test_a_switched_off_channel_holds_its_messages(acme, sink, worker, clock, database) -> None:
    channel = acme.webhook_channel(sink.url)
    acme.template("service.notice", body="{{ notice }}")
    [message_id] = _queue(acme, clock)
    with database.unit_of_work() as s:
        s.execute(update(Channel).where(Channel.id == channel.id).values(enabled=False))
        s.commit()
    worker.run_once()
    held = acme.message(message_id)
    assert held.status == MessageStatus.QUEUED and "switched off" in held.last_error
    assert sink.received == []


def test_the_web_app_runs_a_worker_thread_unless_told_not_to(database) -> None:
    import threading

    from fastapi.testclient import TestClient

    from laoke.config import Mode, Settings
    from laoke.web.app import create_app

    def worker_threads() -> int:
        return sum(t.name == "laoke-worker" and t.is_alive() for t in threading.enumerate())

    on = Settings(
        mode=Mode.DEVELOPMENT,
        secret_key="d" * 48,
        database_url="sqlite:///x.db",
        worker_poll_seconds=0.05,
    )
    with TestClient(create_app(on, database)):
        assert worker_threads() == 1
    assert worker_threads() == 0
    off = on.model_copy(update={"run_worker": False})
    with TestClient(create_app(off, database)):
        assert worker_threads() == 0
    with TestClient(create_app(on.model_copy(update={"mode": Mode.TEST}), database)):
        assert worker_threads() == 0


def test_spending_rate_limit_tokens_keeps_the_adapter_and_its_connection(
    acme, sink, worker, clock
) -> None:
    channel = acme.webhook_channel(sink.url, rate_per_minute=60, burst=1)
    acme.template("service.notice", body="{{ notice }}")
    _queue(acme, clock, count=3)
    worker.run_once()
    first = worker._transports[("channel", channel.id)][1]
    clock.advance(seconds=2)
    worker.run_once()
    assert worker._transports[("channel", channel.id)][1] is first
    assert len(sink.received) == 2
