"""Benchmark: the referral landing page and lead submission against a bare FastAPI
hello-world, both served by uvicorn on loopback and loaded by wrk in the same run.

Usage (from the repository root, with the project venv; needs `wrk`)::

    PYTHONPATH=src .venv/bin/python bench/referral_landing.py
    PYTHONPATH=src .venv/bin/python bench/referral_landing.py --customers 500 --seconds 5

A SQLite database with the demo tenant (2,000 customers, referral codes and leads) is built
in a temporary folder. Each server is one uvicorn process (`--factory`, no access log); wrk
drives 32 connections for `--seconds` per case: `GET /r/{code}`, `POST /r/{code}` (a new
phone number per request, so every POST writes a lead, its history row and its domain
event) and the hello-world `GET /`. The landing page's rate limiter stays in the path with
its limits raised, since every request comes from 127.0.0.1.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
CONNECTIONS = 32
TARGETS = {"get": 0.5, "post": 0.3}
P99_TARGET_MS = 50.0

POST_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
local counter = 0
local base = 0
function setup(thread)
  thread:set("base", math.random(0, 9999) * 10000)
end
function init(args)
  base = tonumber(base) or 0
end
function request()
  counter = counter + 1
  local phone = string.format("139%08d", (base + counter) % 100000000)
  return wrk.format(nil, "{path}", nil, "name=Bench&consent=yes&website=&phone=" .. phone)
end
"""


def laoke_app() -> object:
    """The laoke app as `laoke serve` builds it, with the landing limits raised."""
    from laoke.referrals.throttle import Limit, Limits, Throttle
    from laoke.web.app import create_app

    app = create_app()
    app.state.referral_throttle = Throttle(
        Limits(
            page_per_ip=Limit(per_minute=10**9, burst=10**9),
            submit_per_ip=Limit(per_minute=10**9, burst=10**9),
            submit_per_code=Limit(per_minute=10**9, burst=10**9),
        )
    )
    return app


def hello_app() -> object:
    from fastapi import FastAPI
    from fastapi.responses import PlainTextResponse

    app = FastAPI()

    @app.get("/", response_class=PlainTextResponse)
    def hello() -> str:
        return "hello, world"

    return app


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _prepare(folder: Path, customers: int) -> tuple[str, str]:
    """Migrate a SQLite database, seed the demo tenant; return (url, a customer's code)."""
    from sqlalchemy import select

    from laoke.db import Database, make_engine
    from laoke.demo.seed import seed_demo
    from laoke.migrate import upgrade
    from laoke.referrals.models import InviteCode

    url = f"sqlite:///{folder / 'bench.db'}"
    engine = make_engine(url)
    upgrade(engine)
    database = Database(engine)
    seed_demo(database, customers=customers, seed=11)
    with database.unit_of_work(write=False) as session:
        code = session.scalars(
            select(InviteCode.code).where(InviteCode.customer_id.is_not(None)).limit(1)
        ).one()
    database.dispose()
    return url, code


class Server:
    def __init__(self, factory: str, env: dict[str, str]) -> None:
        self.port = _free_port()
        command = [
            sys.executable, "-m", "uvicorn", "--factory", factory,
            "--host", "127.0.0.1", "--port", str(self.port),
            "--log-level", "warning", "--no-access-log",
        ]  # fmt: skip
        self.process = subprocess.Popen(command, env=env, cwd=REPO)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{factory} did not start")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def _wrk(url: str, seconds: int, script: Path | None = None) -> dict[str, float]:
    command = ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency", "--timeout", "5s"]
    if script is not None:
        command += ["-s", str(script)]
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    p99_match = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", output)
    value, unit = float(p99_match.group(1)), p99_match.group(2)  # type: ignore[union-attr]
    p99_ms = value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    errors = re.search(r"Socket errors:.*", output)
    return {
        "rps": rps,
        "p99_ms": p99_ms,
        "non_2xx": float(non_2xx.group(1)) if non_2xx else 0.0,
        "socket_errors": 1.0 if errors else 0.0,
    }


def run(customers: int, seconds: int) -> dict[str, dict[str, float]]:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install -y wrk")
    with tempfile.TemporaryDirectory(prefix="laoke-bench-") as tmp:
        folder = Path(tmp)
        print(f"seeding the demo tenant ({customers} customers) …", flush=True)
        url, code = _prepare(folder, customers)
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)]),
            "LAOKE_DATABASE_URL": url,
            "LAOKE_SECRET_KEY": "bench-" + "k" * 40,
            "LAOKE_MODE": "production",
            "LAOKE_RUN_WORKER": "false",
            "LAOKE_DATA_DIR": str(folder),
        }
        script = folder / "post.lua"
        script.write_text(POST_SCRIPT.replace("{path}", f"/r/{code}"))
        results: dict[str, dict[str, float]] = {}
        hello = Server("bench.referral_landing:hello_app", env)
        try:
            _wrk(f"http://127.0.0.1:{hello.port}/", 2)  # warm-up
            results["hello"] = _wrk(f"http://127.0.0.1:{hello.port}/", seconds)
        finally:
            hello.stop()
        laoke = Server("bench.referral_landing:laoke_app", env)
        try:
            base = f"http://127.0.0.1:{laoke.port}"
            _wrk(f"{base}/r/{code}", 2)
            results["get"] = _wrk(f"{base}/r/{code}", seconds)
            results["post"] = _wrk(f"{base}/r/{code}", seconds, script)
        finally:
            laoke.stop()
        return results


def report(results: dict[str, dict[str, float]], customers: int, seconds: int) -> str:
    hello = results["hello"]
    names = {
        "hello": "hello-world `GET /`",
        "get": "landing `GET /r/{code}`",
        "post": "lead `POST /r/{code}`",
    }
    lines = [
        f"# Referral landing page under load ({dt.date.today().isoformat()})",
        "",
        f"uvicorn, 1 process, loopback; wrk 1 thread, {CONNECTIONS} connections, {seconds} s per"
        f" case; SQLite demo tenant with {customers} customers. Machine: {platform.machine()},"
        f" {os.cpu_count()} CPUs (shared), Python {platform.python_version()}.",
        "",
        "| case | req/s | p99 (ms) | ratio to hello-world | target | non-2xx |",
        "|---|---:|---:|---:|---|---:|",
    ]
    for key in ("hello", "get", "post"):
        row = results[key]
        ratio = row["rps"] / hello["rps"] if hello["rps"] else 0.0
        target = f"≥ {TARGETS[key]:.0%}, p99 < {P99_TARGET_MS:.0f} ms" if key in TARGETS else "—"
        lines.append(
            f"| {names[key]} | {row['rps']:.0f} | {row['p99_ms']:.1f} | {ratio:.0%} | {target}"
            f" | {row['non_2xx']:.0f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "referral_landing.md")
    args = parser.parse_args()
    results = run(args.customers, args.seconds)
    text = report(results, args.customers, args.seconds)
    print(text)
    args.out.write_text(text)


if __name__ == "__main__":
    main()
