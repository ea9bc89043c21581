"""Customer import benchmark: our import against the raw floor and against pandas.

    .venv/bin/python bench/import_customers.py                 # 1,000,000-row CSV, 200,000-row XLSX
    .venv/bin/python bench/import_customers.py --rows 100000 --xlsx-rows 20000   # a quick look
    .venv/bin/python bench/import_customers.py --postgres postgresql://postgres@127.0.0.1:5432/test

It generates messy files (title rows, messy phones, dates in several forms, ~5% repeated
people, ~2% rows that cannot be imported; people from `laoke.demo.people`), then measures,
each in its own process so peak memory (max RSS) is that run's alone:

- ours: `laoke import customers FILE --json` into a fresh SQLite database (and PostgreSQL
  schema with --postgres): read, detect, normalise, de-duplicate, write four tables and the
  report;
- the raw floor: the `sqlite3` shell's `.import` of the same CSV into a bare table (Debian's
  `sqlite3` package: `apt-get install sqlite3`) and, for PostgreSQL, `psql \\copy`;
- what a user would otherwise do: pandas `read_csv` / `read_excel(engine="openpyxl")` +
  `to_sql` into SQLite, in a venv of its own (`bench/.venv-pandas`, made on first use;
  pandas is not a dependency of laoke).

Results are printed and written to bench/results/import_customers.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from messy import write_csv, write_xlsx  # noqa: E402

OUT = HERE / "out"
RESULTS = HERE / "results" / "import_customers.md"
PANDAS_VENV = HERE / ".venv-pandas"
LAOKE = [sys.executable, "-m", "laoke.cli"]

PANDAS_SCRIPT = r"""
import sqlite3, sys, time
import pandas as pd
kind, source, target = sys.argv[1:4]
started = time.perf_counter()
if kind == "csv":
    frame = pd.read_csv(source, skiprows=2, dtype=str, keep_default_na=False)
else:
    frame = pd.read_excel(source, engine="openpyxl", skiprows=2, dtype=str)
read = time.perf_counter() - started
with sqlite3.connect(target) as conn:
    frame.to_sql("customers", conn, if_exists="replace", index=False, chunksize=10000)
print(len(frame), round(read, 2), round(time.perf_counter() - started - read, 2))
"""


@dataclass
class Run:
    label: str
    seconds: float
    peak_mb: float
    note: str = ""
    cpu: float = 0.0  # user + system seconds of the process (less hurt by a busy machine)


def measured(label: str, args: list[str], env: dict[str, str] | None = None) -> tuple[Run, str]:
    """Run a command: wall time, and its own peak RSS as GNU time reports it."""
    timer = shutil.which("time") or "/usr/bin/time"
    report = OUT / f".time-{secrets.token_hex(4)}"
    started = time.perf_counter()
    done = subprocess.run(
        [timer, "-f", "%M %U %S", "-o", str(report), *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{label} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    peak_kb, user, system = (float(x) for x in report.read_text().strip().splitlines()[-1].split())
    report.unlink()
    return Run(label, seconds, peak_kb / 1024, cpu=user + system), done.stdout


def files(rows: int, xlsx_rows: int) -> tuple[Path, Path]:
    OUT.mkdir(parents=True, exist_ok=True)
    csv_path = OUT / f"customers-{rows}.csv"
    xlsx_path = OUT / f"customers-{xlsx_rows}.xlsx"
    if not csv_path.exists():
        print(f"writing {csv_path.name} …", flush=True)
        write_csv(csv_path, rows)
    if not xlsx_path.exists():
        print(f"writing {xlsx_path.name} …", flush=True)
        write_xlsx(xlsx_path, xlsx_rows)
    return csv_path, xlsx_path


def fresh_database(url: str) -> None:
    from laoke.db import Database, make_engine
    from laoke.migrate import upgrade
    from laoke.tenancy.models import Org

    engine = make_engine(url)
    upgrade(engine)
    database = Database(engine)
    with database.unit_of_work() as session:
        session.add(Org(slug="bench", name="Bench"))
        session.commit()
    engine.dispose()


def ours(label: str, file: Path, url: str) -> tuple[Run, dict]:
    env = {
        **os.environ,
        "LAOKE_DATABASE_URL": url,
        "LAOKE_DATA_DIR": str(OUT / f"data-{secrets.token_hex(3)}"),
        "LAOKE_SECRET_KEY": "b" * 48,
    }
    run, out = measured(
        label, [*LAOKE, "import", "customers", str(file), "--org", "bench", "--json"], env
    )
    summary = json.loads(out)
    run.note = (
        f"{summary['inserted']:,} new, {summary['duplicates_in_file']:,} duplicates, "
        f"{summary['rejected']:,} rejected"
    )
    return run, summary


def sqlite_floor(file: Path) -> Run:
    shell = shutil.which("sqlite3")
    if not shell:
        raise SystemExit("the raw floor needs Debian's sqlite3 shell: apt-get install sqlite3")
    target = OUT / "floor.db"
    target.unlink(missing_ok=True)
    run, _ = measured(
        "sqlite3 .import (raw floor)",
        [shell, str(target), f".import --csv --skip 2 {file} raw"],
    )
    run.note = "bare table, no parsing, no indexes"
    return run


SCHEMA_FLOOR_SQL = """
INSERT INTO customers (org_id, name, wechat_id, email, address, gender, source_channel,
  marketing_consent, custom_attributes, lifecycle_stage, relationship_stage, import_row,
  created_at, updated_at)
SELECT 1, "客户姓名", NULLIF("微信号", ''), NULLIF("邮箱", ''), NULLIF("收货地址", ''), 'unknown',
  "来源渠道", 0, '{}', 'prospect', 'stranger', rowid, '2026-01-01 00:00:00.000000',
  '2026-01-01 00:00:00.000000'
FROM raw WHERE "客户姓名" <> '';
INSERT OR IGNORE INTO customer_phones (org_id, customer_id, e164, national, kind, is_primary)
SELECT 1, c.id, '+86' || r."手机号码", r."手机号码", 'mobile', 1
FROM raw r JOIN customers c ON c.import_row = r.rowid;
INSERT OR IGNORE INTO customer_tags (org_id, customer_id, tag)
SELECT 1, c.id, r."客户标签" FROM raw r JOIN customers c ON c.import_row = r.rowid
WHERE r."客户标签" <> '';
INSERT INTO domain_events (org_id, name, subject_type, subject_id, payload, occurred_at)
SELECT 1, 'customer.created', 'customer', id, '{}', '2026-01-01 00:00:00.000000' FROM customers;
"""


def schema_floor(file: Path) -> Run:
    """SQLite alone writing rows into our real tables (their indexes), from the raw table:
    what the schema costs before any Python runs."""
    target = OUT / "schema-floor.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    fresh_database(f"sqlite:///{target}")
    shell = shutil.which("sqlite3") or "sqlite3"
    subprocess.run([shell, str(target), f".import --csv --skip 2 {file} raw"], check=True)
    script = OUT / "schema-floor.sql"
    script.write_text("BEGIN;\n" + SCHEMA_FLOOR_SQL + "COMMIT;\n")
    run, _ = measured(
        "SQLite into our tables (schema floor)", [shell, str(target), f".read {script}"]
    )
    run.note = "SQL only: customers, phones, tags, events with their indexes; no Python"
    return run


def pandas_python() -> str:
    python = PANDAS_VENV / "bin" / "python"
    if not python.exists():
        print("making bench/.venv-pandas (pandas, openpyxl) …", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(PANDAS_VENV)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "pandas", "openpyxl"], check=True
        )
    return str(python)


def pandas_run(kind: str, file: Path) -> Run:
    script = OUT / "pandas_import.py"
    script.write_text(PANDAS_SCRIPT)
    target = OUT / f"pandas-{kind}.db"
    target.unlink(missing_ok=True)
    run, out = measured(
        f"pandas read_{'csv' if kind == 'csv' else 'excel (openpyxl)'} + to_sql",
        [pandas_python(), str(script), kind, str(file), str(target)],
    )
    count, read, write = out.split()
    run.note = f"{int(count):,} rows as text; read {read} s, to_sql {write} s; no cleaning"
    return run


def postgres_runs(url: str, csv_file: Path, xlsx_file: Path) -> list[Run]:
    from sqlalchemy import create_engine, text

    runs = []
    base = url.replace("postgresql://", "postgresql+psycopg://", 1)
    for label, file in (("ours, PostgreSQL, CSV", csv_file), ("ours, PostgreSQL, XLSX", xlsx_file)):
        schema = f"bench_{secrets.token_hex(4)}"
        admin = create_engine(base)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            scoped = f"{base}?options=-csearch_path%3D{schema}"
            fresh_database(scoped)
            runs.append(ours(label, file, scoped)[0])
        finally:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
    psql = shutil.which("psql")
    if psql:
        schema = f"bench_{secrets.token_hex(4)}"
        plain = url.replace("postgresql+psycopg://", "postgresql://", 1)
        columns = ", ".join(f"c{i} text" for i in range(11))
        setup = f'CREATE SCHEMA "{schema}"; CREATE TABLE "{schema}".raw ({columns});'
        subprocess.run([psql, plain, "-qc", setup], check=True)
        try:
            run, _ = measured(
                "psql \\copy (PostgreSQL raw floor)",
                [
                    psql,
                    plain,
                    "-qc",
                    f"\\copy \"{schema}\".raw FROM PROGRAM 'tail -n +4 {csv_file}' WITH (FORMAT csv)",
                ],
            )
            run.note = "bare table, no parsing, no indexes"
            runs.append(run)
        finally:
            subprocess.run([psql, plain, "-qc", f'DROP SCHEMA "{schema}" CASCADE'], check=True)
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--xlsx-rows", type=int, default=200_000)
    parser.add_argument("--postgres", default=os.environ.get("LAOKE_BENCH_POSTGRES_URL", ""))
    parser.add_argument("--skip-pandas", action="store_true")
    parser.add_argument("--no-write", action="store_true", help="print only; keep the results file")
    options = parser.parse_args()

    csv_file, xlsx_file = files(options.rows, options.xlsx_rows)
    runs: dict[str, Run] = {}

    url = f"sqlite:///{OUT / 'ours-csv.db'}"
    (OUT / "ours-csv.db").unlink(missing_ok=True)
    fresh_database(url)
    runs["ours_csv"], _ = ours("ours, SQLite, CSV", csv_file, url)
    runs["floor"] = sqlite_floor(csv_file)
    runs["schema_floor"] = schema_floor(csv_file)

    url = f"sqlite:///{OUT / 'ours-xlsx.db'}"
    (OUT / "ours-xlsx.db").unlink(missing_ok=True)
    fresh_database(url)
    runs["ours_xlsx"], _ = ours("ours, SQLite, XLSX", xlsx_file, url)

    if not options.skip_pandas:
        runs["pandas_csv"] = pandas_run("csv", csv_file)
        runs["pandas_xlsx"] = pandas_run("xlsx", xlsx_file)

    extra = postgres_runs(options.postgres, csv_file, xlsx_file) if options.postgres else []
    report(options, runs, extra)


def report(options: argparse.Namespace, runs: dict[str, Run], extra: list[Run]) -> None:
    lines = [
        "| run | rows | wall s | CPU s | peak memory (MB) | notes |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for key, run in list(runs.items()) + [(r.label, r) for r in extra]:
        rows = (
            options.xlsx_rows
            if "xlsx" in key.lower() or "XLSX" in run.label or "excel" in run.label
            else options.rows
        )
        lines.append(
            f"| {run.label} | {rows:,} | {run.seconds:.1f} | {run.cpu:.1f} | {run.peak_mb:.0f} "
            f"| {run.note} |"
        )
    ratios = []
    if "floor" in runs:
        ratio = runs["ours_csv"].seconds / runs["floor"].seconds
        cpu = runs["ours_csv"].cpu / max(runs["floor"].cpu, 0.01)
        ratios.append(
            f"- CSV, ours ÷ raw floor: **{ratio:.1f}×** wall, {cpu:.1f}× CPU (target ≤ 3×: "
            f"{'met' if ratio <= 3 else 'missed'})"
        )
    if "pandas_xlsx" in runs:
        ratio = runs["pandas_xlsx"].seconds / runs["ours_xlsx"].seconds
        cpu = runs["pandas_xlsx"].cpu / max(runs["ours_xlsx"].cpu, 0.01)
        ratios.append(
            f"- XLSX, pandas+openpyxl ÷ ours: **{ratio:.1f}×** wall, {cpu:.1f}× CPU "
            f"(target ≥ 5×: {'met' if ratio >= 5 else 'missed'})"
        )
    if "schema_floor" in runs:
        ratios.append(
            f"- CSV, ours ÷ schema floor: {runs['ours_csv'].seconds / runs['schema_floor'].seconds:.1f}×"
            f"; schema floor ÷ raw floor: "
            f"{runs['schema_floor'].seconds / runs['floor'].seconds:.1f}×"
        )
    if "pandas_csv" in runs:
        ratios.append(
            f"- CSV, pandas ÷ ours: {runs['pandas_csv'].seconds / runs['ours_csv'].seconds:.2f}×"
        )
    peak = max(runs["ours_csv"].peak_mb, runs["ours_xlsx"].peak_mb)
    ratios.append(
        f"- our peak memory: {peak:.0f} MB (target < 600 MB: {'met' if peak < 600 else 'missed'})"
    )
    text = "\n".join([*lines, "", *ratios])
    print(text)
    if options.no_write:
        return
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    header = (
        f"# Customer import benchmark\n\n"
        f"Run {stamp} on a shared 2-core machine ({platform.machine()}, Python "
        f"{platform.python_version()}); other work was running at the same time, so treat "
        f"the seconds as indicative, the ratios as the finding.\n"
        f"Command: `python bench/import_customers.py --rows {options.rows} --xlsx-rows "
        f"{options.xlsx_rows}{' --postgres …' if options.postgres else ''}`\n\n"
    )
    previous = RESULTS.read_text() if RESULTS.exists() else ""
    analysis = (
        previous.split("<!-- analysis -->", 1)[1] if "<!-- analysis -->" in previous else "\n"
    )
    RESULTS.write_text(header + text + "\n\n<!-- analysis -->" + analysis)
    print(f"\nwritten to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
