"""An import killed with SIGKILL at random moments, then run again, ends where an uninterrupted
import ends: the same pool and the same counts. A real `laoke import customers` process is
killed, on SQLite and (when configured) on PostgreSQL."""

from __future__ import annotations

import json
import os
import random
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text

from laoke.db import Database, make_engine
from laoke.demo.people import messy_phone, people
from laoke.imports.models import ImportJob, JobStatus
from laoke.migrate import upgrade
from laoke.tenancy.models import Org
from tests.conftest import POSTGRES_URL, _postgres_url
from tests.customers.importing import pool
from tests.imports.files import csv_file

pytestmark = pytest.mark.slow

ROWS = 6000
BATCH = 250
LAOKE = [sys.executable, "-m", "laoke.cli"]


def messy_file(path: Path, seed: int) -> Path:
    rng = random.Random(seed)
    rows: list[list[object]] = [["客户导出"], [], ["姓名", "手机", "微信", "邮箱", "标签", "来源"]]
    everyone = list(people(rng, ROWS))
    for person in everyone:
        rows.append(
            [
                person.name,
                messy_phone(rng, person.phones[0]),
                person.wechat_id or "",
                person.email or "",
                "，".join(person.tags),
                person.source_channel,
            ]
        )
        if rng.random() < 0.08:  # the same person again, later in the file
            twin = rng.choice(everyone)
            rows.append([twin.name, twin.phones[0], "", "", "复购", ""])
        if rng.random() < 0.03:
            rows.append(["", "12345", "", "", "", ""])  # rejected
    return csv_file(path, rows)


def _backend_url(backend: str, tmp_path: Path, name: str) -> tuple[str, object]:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / name}.db", None
    schema = f"laoke_kill_{os.getpid()}_{secrets.token_hex(3)}"
    admin = create_engine(_postgres_url())
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    return f"{_postgres_url()}?options=-csearch_path%3D{schema}", schema


def _prepare(url: str) -> Database:
    engine = make_engine(url)
    upgrade(engine)
    database = Database(engine)
    with database.unit_of_work() as session:
        session.add(Org(slug="acme", name="Acme"))
        session.commit()
    return database


def _command(file: Path, url: str, data: Path) -> tuple[list[str], dict[str, str]]:
    env = {
        **os.environ,
        "LAOKE_DATABASE_URL": url,
        "LAOKE_DATA_DIR": str(data),
        "LAOKE_SECRET_KEY": "k" * 48,
    }
    args = [
        *LAOKE,
        "import",
        "customers",
        str(file),
        "--org",
        "acme",
        "--json",
        "--batch-size",
        str(BATCH),
    ]
    return args, env


def _wait_for_progress(
    database: Database, process: subprocess.Popen, fraction: float, timeout: float
) -> None:
    """Until the running job has done `fraction` of the file, or the process has ended."""
    deadline = time.monotonic() + timeout
    while process.poll() is None and time.monotonic() < deadline:
        with database.unit_of_work(write=False) as session:
            done = session.scalar(
                select(ImportJob.progress)
                .where(ImportJob.status == JobStatus.RUNNING)
                .order_by(ImportJob.id.desc())
                .limit(1)
            )
        if done is not None and done >= fraction:
            return
        time.sleep(0.02)


def _finish(file: Path, url: str, data: Path) -> dict:
    args, env = _command(file, url, data)
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.parametrize("backend", ["sqlite"] + (["postgres"] if POSTGRES_URL else []))
def test_killed_imports_resume_to_the_same_end_state(tmp_path, backend) -> None:
    file = messy_file(tmp_path / "customers.csv", seed=7)
    schemas = []
    try:
        reference_url, schema = _backend_url(backend, tmp_path, "reference")
        schemas.append(schema)
        reference_db = _prepare(reference_url)
        started = time.monotonic()
        reference = _finish(file, reference_url, tmp_path / "ref-data")
        duration = time.monotonic() - started

        killed_url, schema = _backend_url(backend, tmp_path, "killed")
        schemas.append(schema)
        killed_db = _prepare(killed_url)
        rng = random.Random(20261125)
        args, env = _command(file, killed_url, tmp_path / "killed-data")
        kills, result = 0, None
        for _ in range(3):
            process = subprocess.Popen(
                args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
            # Kill at a random point of the import's own progress (and a little after, so the
            # kill also lands inside a batch), not of the clock: start-up time varies by machine.
            _wait_for_progress(killed_db, process, rng.uniform(0.05, 0.8), timeout=duration + 60)
            time.sleep(rng.uniform(0.0, 0.15))
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
                kills += 1
                process.communicate(timeout=60)
                continue
            out, err = process.communicate(timeout=60)
            assert process.returncode == 0, err
            result = json.loads(out)  # this run resumed and finished the job
            break
        result = result or _finish(file, killed_url, tmp_path / "killed-data")
        assert kills >= 1, "the import finished before any kill; raise ROWS"

        # The first job to finish is the interrupted one, resumed (a kill can also land after
        # it finished and before its process printed: the later run is then a plain re-run).
        with killed_db.unit_of_work(write=False) as session:
            first = session.scalars(
                select(ImportJob)
                .where(ImportJob.status == JobStatus.DONE)
                .order_by(ImportJob.finished_at, ImportJob.id)
            ).first()
            finished = first.summary()
        for key in ("read", "inserted", "merged", "duplicates_in_file", "rejected"):
            assert finished[key] == reference[key], key
        assert result["read"] == reference["read"]
        assert reference["inserted"] > ROWS * 0.9 and reference["duplicates_in_file"] > 0
        with reference_db.unit_of_work(write=False) as session:
            org_id = session.query(Org).one().id
        assert pool(killed_db, org_id) == pool(reference_db, org_id)
        again = _finish(file, killed_url, tmp_path / "killed-data")
        assert again["inserted"] == 0 and again["rejected"] == reference["rejected"]
        taken = reference["inserted"] + reference["duplicates_in_file"]
        assert again["merged"] + again["duplicates_in_file"] == taken
        assert pool(killed_db, org_id) == pool(reference_db, org_id)
        reference_db.dispose()
        killed_db.dispose()
    finally:
        if backend == "postgres":
            admin = create_engine(_postgres_url())
            with admin.begin() as conn:
                for schema in schemas:
                    if schema:
                        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            admin.dispose()
