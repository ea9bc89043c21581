"""Outbox throughput: the worker against the raw client, to a local webhook sink and a local
SMTP server, on SQLite (1 worker) and PostgreSQL (1 and 4 workers).

    .venv/bin/python bench/outbox.py                 # print the figures
    .venv/bin/python bench/outbox.py --write         # …and write bench/results/outbox.md
    .venv/bin/python bench/outbox.py --postgres postgresql://postgres@127.0.0.1:5432/test

For each target the same N messages are sent twice in the same run: once by a plain loop
of the raw client (one httpx.Client with keep-alive / one smtplib connection), once through
the outbox (enqueued, then claimed, sent and recorded by worker processes). The receivers
run in their own processes. Figures are messages per second; the ratio is worker / raw.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import smtplib
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import httpx
from sqlalchemy import create_engine, func, select, text

ROOT = Path(__file__).resolve().parent.parent
SECRET_KEY = "bench-" + "k" * 42
HOOK_SECRET = "bench-hook-secret-0001"
BODY = "王小美您好：本周六会员日，全部护理项目 8 折，另送到店礼。期待您的光临！" * 2


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def start_receivers() -> tuple[list[subprocess.Popen], int, int]:
    http_port, smtp_port = free_port(), free_port()
    http = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from laoke.messaging.sink import Sink\n"
         f"with Sink(port={http_port}, keep=False):\n    time.sleep(10**6)"],
    )  # fmt: skip
    smtp = subprocess.Popen(
        [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{smtp_port}", "-c", "aiosmtpd.handlers.Sink"],
    )  # fmt: skip
    wait_for_port(http_port)
    wait_for_port(smtp_port)
    return [http, smtp], http_port, smtp_port


# --- raw loops ----------------------------------------------------------------------------


def raw_http(url: str, n: int) -> float:
    """The same JSON documents the webhook channel posts, minus the signature headers."""
    documents = [
        json.dumps(
            {"id": f"bench:{i}", "type": "message", "purpose": "channel.test", "marketing": False,
             "recipient": "customer:1", "language": "zh_CN", "subject": "会员日", "body": BODY,
             "customer_id": None, "unsubscribe_url": None},
            ensure_ascii=False,
        ).encode()
        for i in range(n)
    ]  # fmt: skip
    start = time.perf_counter()
    with httpx.Client(timeout=10) as client:
        for document in documents:
            client.post(url, content=document, headers={"Content-Type": "application/json"})
    return n / (time.perf_counter() - start)


def raw_smtp(port: int, n: int) -> float:
    start = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        for i in range(n):
            mail = EmailMessage()
            mail["From"], mail["To"], mail["Subject"] = (
                "s@bench.test",
                f"c{i}@example.com",
                "会员日",
            )
            mail.set_content(BODY)
            smtp.send_message(mail)
    return n / (time.perf_counter() - start)


# --- through the outbox ---------------------------------------------------------------------


def prepare(url: str, kind: str, n: int, http_port: int, smtp_port: int) -> None:
    """Fresh schema, one tenant, one channel, n queued messages."""
    os.environ["LAOKE_SECRET_KEY"] = SECRET_KEY
    from laoke.accounts.actor import Actor
    from laoke.config import Mode, Settings
    from laoke.db import Database, make_engine
    from laoke.messaging import channel_service
    from laoke.messaging.outbox import enqueue_text
    from laoke.migrate import upgrade
    from laoke.tenancy.models import Org

    database = Database(make_engine(url))
    upgrade(database.engine)
    settings = Settings(mode=Mode.TEST, secret_key=SECRET_KEY, database_url=url)
    with database.unit_of_work() as s:
        org = Org(slug=f"bench-{secrets.token_hex(3)}", name="Bench")
        s.add(org)
        s.commit()
        values = (
            {"url": f"http://127.0.0.1:{http_port}/hook", "secret": HOOK_SECRET}
            if kind == "webhook"
            else {
                "host": "127.0.0.1",
                "port": str(smtp_port),
                "security": "none",
                "from_address": "s@bench.test",
            }
        )
        channel = channel_service.create_channel(
            s,
            Actor.system(org.id),
            settings,
            kind="webhook" if kind == "webhook" else "smtp",
            name=kind,
            values=values,
        )
        for i in range(n):
            enqueue_text(
                s, org_id=org.id, purpose="channel.test", key=f"bench:{i}", channel=channel,
                recipient="customer:1" if kind == "webhook" else f"c{i}@example.com",
                subject="会员日", body=BODY,
            )  # fmt: skip
            if i % 1000 == 999:
                s.flush()
        s.commit()
    database.dispose()


def worker_main(url: str) -> None:
    """A worker process: warm up, say ready, wait for "go", drain, say done."""
    os.environ["LAOKE_SECRET_KEY"] = SECRET_KEY
    from laoke.config import Mode, Settings
    from laoke.db import Database, make_engine
    from laoke.messaging.worker import Worker

    database = Database(make_engine(url))
    worker = Worker(
        database,
        Settings(mode=Mode.TEST, secret_key=SECRET_KEY, database_url=url),
        jobs={},
        batch_size=100,
    )
    with database.unit_of_work(write=False) as session:  # a long-running worker has its connection
        session.execute(text("SELECT 1"))
    print("ready", flush=True)
    if sys.stdin.readline().strip() != "go":
        return  # the parent went away
    report = worker.drain()
    print(f"done {report.sent}", flush=True)
    worker.close()


def through_outbox(url: str, workers: int, n: int) -> float:
    env = {**os.environ, "LAOKE_SECRET_KEY": SECRET_KEY, "LAOKE_MODE": "test"}
    procs = [
        subprocess.Popen(
            [sys.executable, __file__, "--as-worker", url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            text=True,
        )
        for _ in range(workers)
    ]
    for proc in procs:
        assert proc.stdout.readline().strip() == "ready"
    start = time.perf_counter()
    for proc in procs:
        proc.stdin.write("go\n")
        proc.stdin.flush()
    for proc in procs:
        line = proc.stdout.readline()
        if not line.startswith("done"):
            raise RuntimeError(f"a worker failed: {line!r}")
    elapsed = time.perf_counter() - start
    for proc in procs:
        proc.wait(timeout=60)
    engine = create_engine(url)
    with engine.connect() as conn:
        from laoke.messaging.models import OutboxMessage

        sent = conn.execute(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "sent")
        ).scalar()
    engine.dispose()
    if sent != n:
        raise RuntimeError(f"{sent} of {n} sent")
    return n / elapsed


@dataclass
class Row:
    backend: str
    target: str
    workers: int
    raws: list[float]
    outboxes: list[float]

    @property
    def raw(self) -> float:
        return statistics.median(self.raws)

    @property
    def outbox(self) -> float:
        return statistics.median(self.outboxes)

    @property
    def ratio(self) -> float:
        """Median of the per-round ratios (each round runs raw and outbox back to back)."""
        return statistics.median(o / r for o, r in zip(self.outboxes, self.raws, strict=True))


def postgres_schema_url(base: str) -> tuple[str, str]:
    base = (
        base.replace("postgresql://", "postgresql+psycopg://", 1)
        if base.startswith("postgresql://")
        else base
    )
    schema = f"bench_{os.getpid()}_{secrets.token_hex(3)}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    return base, schema


def drop_schema(base: str, schema: str) -> None:
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def outbox_round(
    backend: str,
    target: str,
    workers: int,
    n: int,
    http_port: int,
    smtp_port: int,
    args: argparse.Namespace,
) -> float:
    if backend == "sqlite":
        folder = ROOT / "bench" / "out"
        folder.mkdir(exist_ok=True)
        path = folder / f"outbox-{secrets.token_hex(3)}.db"
        try:
            prepare(f"sqlite:///{path}", target, n, http_port, smtp_port)
            return through_outbox(f"sqlite:///{path}", workers, n)
        finally:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
    base, schema = postgres_schema_url(args.postgres)
    try:
        url = f"{base}?options=-csearch_path%3D{schema}"
        prepare(url, target, n, http_port, smtp_port)
        return through_outbox(url, workers, n)
    finally:
        drop_schema(base, schema)


def run(args: argparse.Namespace) -> list[Row]:
    args.load_before = os.getloadavg()
    receivers, http_port, smtp_port = start_receivers()
    rows: list[Row] = []
    try:
        plans = [("sqlite", 1)]
        if args.postgres:
            plans += [("postgres", 1), ("postgres", 4)]
        for target, n in (("webhook", args.webhook), ("smtp", args.smtp)):
            for backend, workers in plans:
                row = Row(backend, target, workers, [], [])
                for _ in range(args.rounds):
                    row.raws.append(
                        raw_http(f"http://127.0.0.1:{http_port}/raw", n)
                        if target == "webhook"
                        else raw_smtp(smtp_port, n)
                    )
                    row.outboxes.append(
                        outbox_round(backend, target, workers, n, http_port, smtp_port, args)
                    )
                rows.append(row)
                print(
                    f"{target:<8} {backend:<9} {workers} worker(s): raw {row.raw:6.0f}/s  outbox {row.outbox:6.0f}/s  "
                    f"ratio {row.ratio:5.0%}  (rounds: {', '.join(f'{o / r:.0%}' for o, r in zip(row.outboxes, row.raws, strict=True))})",
                    flush=True,
                )
    finally:
        for proc in receivers:
            proc.terminate()
            proc.wait(timeout=10)
    return rows


def write(rows: list[Row], args: argparse.Namespace) -> None:
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Outbox throughput",
        "",
        f"Run {stamp} with `bench/outbox.py` ({args.webhook} webhook and {args.smtp} SMTP messages per round,",
        f"{args.rounds} rounds per row, raw and outbox back to back in each round; medians shown)",
        "on a **shared 2-core machine: figures drift** from round to round, by far more than ±15%",
        "when other sessions run their own suites and benchmarks (see the per-round ratios).",
        "Receivers (a Python HTTP sink, aiosmtpd) run in their own processes on loopback. *Raw* is",
        "the client library in a plain loop (one httpx.Client with keep-alive, one smtplib",
        "connection); *outbox* is enqueued messages claimed, sent and recorded by `laoke worker`",
        "processes (batch 100). Ratio = median over rounds of outbox / raw, each round running",
        "the two back to back; the msg/s columns are medians of their own, so they need not divide",
        "to the ratio.",
        f"Load average (1/5/15 min) before: {' / '.join(f'{x:.1f}' for x in args.load_before)}; "
        f"after: {' / '.join(f'{x:.1f}' for x in os.getloadavg())} — other sessions share the 2 cores.",
        "",
        "| target | database | workers | raw msg/s | outbox msg/s | ratio (per round) |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        rounds = ", ".join(f"{o / w:.0%}" for o, w in zip(r.outboxes, r.raws, strict=True))
        lines.append(
            f"| {r.target} | {r.backend} | {r.workers} | {r.raw:.0f} | {r.outbox:.0f} | {r.ratio:.0%} ({rounds}) |"
        )
    lines += ["", args.notes or "", ""]
    out = ROOT / "bench" / "results" / "outbox.md"
    out.write_text("\n".join(lines))
    print(f"wrote {out}")


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # so the receivers are stopped
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--as-worker", help=argparse.SUPPRESS)
    parser.add_argument("--webhook", type=int, default=2000, help="webhook messages per row")
    parser.add_argument("--smtp", type=int, default=1000, help="SMTP messages per row")
    parser.add_argument(
        "--postgres",
        default=os.environ.get(
            "LAOKE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
        ),
        help="PostgreSQL URL (empty to skip)",
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="interleaved raw/outbox rounds per row"
    )
    parser.add_argument("--write", action="store_true", help="write bench/results/outbox.md")
    parser.add_argument("--notes", default="", help="a paragraph appended to the results")
    args = parser.parse_args()
    if args.as_worker:
        worker_main(args.as_worker)
        return
    rows = run(args)
    if args.write:
        write(rows, args)


if __name__ == "__main__":
    main()
