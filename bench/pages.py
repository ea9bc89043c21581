"""Page latency on a big tenant: the Today page of a salesperson who looks after 20,000
customers, and the customer page, each loaded 100 times over real HTTP on loopback.

    .venv/bin/python bench/pages.py                                  # 1,000,000 / 10,000,000
    .venv/bin/python bench/pages.py --customers 100000 --orders 1000000
    .venv/bin/python bench/pages.py --postgres postgresql://postgres@127.0.0.1:5432/test

The tenant comes from bench/recompute.py's generator (bench/out/, reused when present; the
recompute benchmark runs first there when the file is missing). This script copies it, adds
a sales team — one salesperson owning `--own` customers, the rest spread over 49 others —
recomputes figures, stages and product-cycle tasks, then serves the app with uvicorn on
127.0.0.1 and times sequential GETs with one keep-alive client. Target: p95 under 150 ms.
Results are printed and written to bench/results/pages.md.
"""

from __future__ import annotations

import argparse
import platform
import shutil
import socket
import sqlite3
import statistics
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import numpy as np
import uvicorn

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE))

from laoke.accounts import passwords  # noqa: E402
from laoke.config import Mode, Settings  # noqa: E402
from laoke.db import Database, make_engine  # noqa: E402
from laoke.engagement.cycles import open_cycle_tasks  # noqa: E402
from laoke.engagement.recompute import recompute_org  # noqa: E402
from laoke.tenancy.service import OrgInfo  # noqa: E402
from laoke.web.app import create_app  # noqa: E402
from recompute import OUT, generate, load_postgres  # noqa: E402

RESULTS = HERE / "results" / "pages.md"
PASSWORD = "bench-password-1"
TEAM = 50
LOADS = 100


def add_team(path: Path, own: int, seed: int) -> None:
    """50 salespeople and an owner; the first salesperson owns `own` customers."""
    connection = sqlite3.connect(path, isolation_level=None)
    hashed = passwords.hash_password(PASSWORD)
    now = "2026-12-01 00:00:00.000000"
    connection.execute("BEGIN")
    connection.execute("DELETE FROM users WHERE org_id = 1")
    rows = [(1, 1, "owner@bench.test", "店长", "owner", hashed, now)]
    rows += [
        (i + 2, 1, f"sales{i}@bench.test", f"销售{i}", "sales", hashed, now) for i in range(TEAM)
    ]
    connection.executemany(
        "INSERT INTO users (id, org_id, email, name, role, password_hash, is_active, language,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?, 1, 'zh_CN', ?)",
        rows,
    )
    total = connection.execute("SELECT max(id) FROM customers").fetchone()[0]
    rng = np.random.default_rng(seed)
    owners = rng.integers(3, TEAM + 2, size=total + 1)
    owners[1 : own + 1] = 2  # customers 1..own belong to sales0 (user id 2)
    connection.executemany(
        "UPDATE customers SET owner_id = ? WHERE id = ?",
        ((int(owners[i]), i) for i in range(1, total + 1)),
    )
    connection.execute("COMMIT")
    connection.close()


def prepare(database: Database, now: datetime) -> dict[str, float]:
    started = time.perf_counter()
    recompute_org(database, 1, now)
    figures = time.perf_counter() - started
    started = time.perf_counter()
    open_cycle_tasks(database, OrgInfo(1, "bench", "Bench", "Asia/Shanghai", "zh_CN"), now)
    return {"figures": figures, "cycle_tasks": time.perf_counter() - started}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve(database: Database, data_dir: Path) -> tuple[uvicorn.Server, str]:
    settings = Settings(
        mode=Mode.TEST,
        secret_key="b" * 48,
        database_url="sqlite:///unused.db",
        data_dir=data_dir,
        run_worker=False,
    )
    app = create_app(settings, database)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the server did not start")
        time.sleep(0.05)
    return server, f"http://127.0.0.1:{port}"


def timings(client: httpx.Client, paths: list[str]) -> dict[str, float]:
    seconds = []
    for path in paths:
        started = time.perf_counter()
        response = client.get(path)
        seconds.append(time.perf_counter() - started)
        if response.status_code != 200:
            raise RuntimeError(f"{path}: {response.status_code}")
    ms = sorted(s * 1000 for s in seconds)
    return {
        "p50": statistics.median(ms),
        "p95": ms[int(0.95 * len(ms)) - 1],
        "max": ms[-1],
    }


def measure(database: Database, data_dir: Path, own: int, seed: int) -> dict[str, object]:
    server, base = serve(database, data_dir)
    try:
        with httpx.Client(base_url=base, timeout=60) as client:
            login = client.get("/login")
            token = login.text.split('name="csrf_token" value="')[1].split('"')[0]
            client.post(
                "/login",
                data={"email": "sales0@bench.test", "password": PASSWORD, "csrf_token": token},
            )
            today_page = client.get("/today")
            items = today_page.text.count('data-test="today-item"')
            client.get("/today")  # warm
            today = timings(client, ["/today"] * LOADS)
            rng = np.random.default_rng(seed)
            ids = rng.integers(1, own + 1, size=LOADS)
            customer = timings(client, [f"/customers/{int(i)}" for i in ids])
            more = timings(client, ["/today?section=overdue&page=2"] * LOADS)
    finally:
        server.should_exit = True
    return {"today": today, "customer": customer, "today_more": more, "items_shown": items}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--orders", type=int, default=10_000_000)
    parser.add_argument("--own", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=20261204)
    parser.add_argument("--postgres", help="also measure on this PostgreSQL database")
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    source = OUT / f"recompute-{args.customers}-{args.orders}-{args.seed}.db"
    if not source.exists():
        print("generating the tenant (bench/recompute.py's generator) …", flush=True)
        generate(source, args.customers, args.orders, args.seed)
    path = OUT / f"pages-{args.customers}-{args.orders}-{args.seed}.db"
    shutil.copyfile(source, path)
    add_team(path, args.own, args.seed)
    now = datetime.now(UTC)
    rows = []
    database = Database(make_engine(f"sqlite:///{path}"))
    prepared = prepare(database, now)
    print("prepared (SQLite):", prepared, flush=True)
    result = measure(database, OUT / "pages-data", args.own, args.seed)
    print("SQLite:", result, flush=True)
    rows.append(("SQLite", prepared, result))
    database.dispose()
    if args.postgres:
        url = args.postgres.replace("postgresql://", "postgresql+psycopg://", 1)
        pg, schema = load_postgres(path, url)
        try:
            prepared = prepare(pg, now)
            result = measure(pg, OUT / "pages-data", args.own, args.seed)
            print("PostgreSQL:", result, flush=True)
            rows.append(("PostgreSQL", prepared, result))
        finally:
            pg.dispose()
            from recompute import drop_postgres

            drop_postgres(url, schema)
    write_results(args, rows)


def write_results(args: argparse.Namespace, rows: list) -> None:
    lines = [
        "# Page latency on a big tenant",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.platform()}, "
        f"Python {platform.python_version()}, 2 cores.",
        "",
        "**Caveat:** a shared 2-core machine with other work running; the server, the client",
        "and the database share the two cores, so treat the milliseconds as indicative.",
        "",
        f"Tenant: {args.customers:,} customers, {args.orders:,} orders; the salesperson owns "
        f"{args.own:,} of them. {LOADS} sequential loads each over HTTP/1.1 keep-alive on loopback "
        "(uvicorn, one process), after one warm-up load. Target: p95 < 150 ms.",
        "",
        "| database | page | p50 (ms) | p95 (ms) | max (ms) |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    for name, _prepared, result in rows:
        for page, label in (
            ("today", "Today (4 sections, 50 rows each)"),
            ("today_more", "Today, one section, page 2"),
            ("customer", "customer page (random customer of theirs)"),
        ):
            t = result[page]
            lines.append(f"| {name} | {label} | {t['p50']:.0f} | {t['p95']:.0f} | {t['max']:.0f} |")
    lines.append("")
    for name, prepared, result in rows:
        lines.append(
            f"- {name}: recompute {prepared['figures']:.1f} s, product-cycle tasks "
            f"{prepared['cycle_tasks']:.1f} s before measuring; Today showed "
            f"{result['items_shown']} rows."
        )
    lines.append("")
    lines.append(
        f"Command: `python bench/pages.py --customers {args.customers} --orders {args.orders}"
        f"{' --postgres URL' if args.postgres else ''}`"
    )
    RESULTS.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
