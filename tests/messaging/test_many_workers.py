"""Four worker processes drain one outbox: every message is sent exactly once.

On PostgreSQL the workers claim with FOR UPDATE SKIP LOCKED; on SQLite their claims queue
on the write lock. A counting receiver checks the idempotency keys it got."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from laoke.db import Database
from laoke.messaging.models import MessageStatus, OutboxMessage
from laoke.messaging.outbox import enqueue_text
from laoke.messaging.sink import Sink
from tests.conftest import POSTGRES_URL, _postgres_url
from tests.messaging.conftest import HOOK_SECRET, SECRET_KEY

ROOT = Path(__file__).resolve().parents[2]
MESSAGES = 400


def _url_for_subprocess(database: Database) -> str:
    if database.engine.dialect.name == "postgresql":
        with database.engine.connect() as conn:
            schema = conn.execute(text("SELECT current_schema()")).scalar()
        return f"{_postgres_url()}?options=-csearch_path%3D{schema}"
    return database.engine.url.render_as_string(hide_password=False)


@pytest.mark.slow
def test_four_worker_processes_never_send_a_message_twice(database: Database, acme) -> None:
    if database.engine.dialect.name == "postgresql":
        assert POSTGRES_URL
    # Slow enough that no worker drains the queue before the others have started.
    slow_answer = lambda body, headers: (time.sleep(0.01), 200)[1]  # noqa: E731
    with Sink(secret=HOOK_SECRET, status=slow_answer, keep=False) as sink:
        channel = acme.webhook_channel(sink.url + "/count")
        with database.unit_of_work() as s:
            for n in range(MESSAGES):
                enqueue_text(
                    s,
                    org_id=acme.org_id,
                    purpose="channel.test",
                    key=f"parallel:{n}",
                    channel=s.merge(channel),
                    recipient="group",
                    body=f"message {n}",
                )
            s.commit()
        env = {
            **os.environ,
            "LAOKE_DATABASE_URL": _url_for_subprocess(database),
            "LAOKE_SECRET_KEY": SECRET_KEY,
            "LAOKE_MODE": "test",
        }
        workers = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "laoke.cli",
                    "worker",
                    "--once",
                    "--batch-size",
                    "10",
                    "--name",
                    f"p{n}",
                ],
                env=env,
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
            for n in range(4)
        ]
        outputs = [w.communicate(timeout=240)[0].decode() for w in workers]
        assert all(w.returncode == 0 for w in workers), outputs
    assert sum(sink.keys.values()) == MESSAGES, outputs
    assert set(sink.keys.values()) == {1}
    with database.unit_of_work(write=False) as s:
        by_status = dict(
            s.execute(
                select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
            ).all()
        )
        workers_used = s.scalar(select(func.count(func.distinct(OutboxMessage.claimed_by))))
    assert by_status == {MessageStatus.SENT: MESSAGES}
    assert workers_used >= 2, outputs
