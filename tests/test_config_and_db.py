"""Settings and the database engine."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from laoke.config import InsecureSettings, Mode, Settings, load_settings
from laoke.db import Database, is_contention, make_engine


def test_production_refuses_a_missing_or_placeholder_secret() -> None:
    for key in ("", "changeme", "short"):
        with pytest.raises(InsecureSettings):
            Settings(mode=Mode.PRODUCTION, secret_key=key)
    assert Settings(mode=Mode.PRODUCTION, secret_key="x" * 40).secret_key


def test_development_generates_and_keeps_a_secret(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LAOKE_SECRET_KEY", raising=False)
    first = load_settings().secret_key
    assert len(first) >= 32
    assert load_settings().secret_key == first
    assert (tmp_path / "var" / "secret_key").stat().st_mode & 0o077 == 0


def test_settings_come_from_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("LAOKE_DATABASE_URL", "postgresql://u@h/db")
    monkeypatch.setenv("LAOKE_PORT", "9001")
    monkeypatch.setenv("LAOKE_DEFAULT_LANGUAGE", "en")
    settings = Settings(secret_key="x" * 40)
    assert settings.database_url == "postgresql+psycopg://u@h/db"
    assert (settings.port, settings.default_language) == (9001, "en")
    monkeypatch.setenv("LAOKE_PORT", "not-a-port")
    with pytest.raises(ValueError, match="port"):
        Settings(secret_key="x" * 40)


def test_sqlite_runs_in_wal_with_foreign_keys_and_a_busy_timeout(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}", busy_timeout_ms=1234)
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 1234


def test_sqlite_writers_take_the_lock_up_front_and_queue(tmp_path) -> None:
    database = Database(make_engine(f"sqlite:///{tmp_path / 'x.db'}"))
    with database.engine.begin() as conn:
        conn.execute(text("CREATE TABLE counter (n INTEGER)"))
        conn.execute(text("INSERT INTO counter VALUES (0)"))

    def bump() -> None:
        for _ in range(20):
            with database.unit_of_work() as session:
                n = session.execute(text("SELECT n FROM counter")).scalar()
                time.sleep(0.001)
                session.execute(text("UPDATE counter SET n = :n"), {"n": n + 1})
                session.commit()

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with database.unit_of_work(write=False) as session:
        # Read-then-write under BEGIN IMMEDIATE loses no update.
        assert session.execute(text("SELECT n FROM counter")).scalar() == 80


def _sqlite(tmp_path, busy_timeout_ms: int, *setup: str) -> Database:
    database = Database(
        make_engine(f"sqlite:///{tmp_path / 'x.db'}", busy_timeout_ms=busy_timeout_ms)
    )
    with database.engine.begin() as conn:
        for statement in setup:
            conn.execute(text(statement))
    return database


def _write(database: Database, statement: str) -> None:
    with database.unit_of_work() as session:
        session.execute(text(statement))
        session.commit()


def _read(database: Database, query: str) -> list:
    with database.unit_of_work(write=False) as session:
        return session.execute(text(query)).scalars().all()


def test_many_sqlite_writer_threads_all_get_through(tmp_path) -> None:
    """Forty threads against a short busy timeout: writers of one process queue on a lock
    of their own, so none starves in SQLite's polling busy handler."""
    database = _sqlite(
        tmp_path, 3000, "CREATE TABLE counter (n INTEGER)", "INSERT INTO counter VALUES (0)"
    )
    failures: list[Exception] = []

    def bump() -> None:
        for _ in range(8):
            try:
                with database.unit_of_work() as session:
                    session.execute(text("UPDATE counter SET n = n + 1"))
                    time.sleep(0.02)
                    session.commit()
            except Exception as error:  # collected and asserted below
                failures.append(error)

    threads = [threading.Thread(target=bump) for _ in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert _read(database, "SELECT n FROM counter") == [320]


def test_a_writer_waiting_past_the_busy_timeout_is_told_the_database_is_locked(tmp_path) -> None:
    database = _sqlite(tmp_path, 200, "CREATE TABLE t (n INTEGER)")
    outcome: list[object] = []

    def second() -> None:
        try:
            _write(database, "INSERT INTO t VALUES (2)")
            outcome.append("written")
        except OperationalError as error:
            outcome.append(is_contention(error))

    with database.unit_of_work() as session:
        session.execute(text("INSERT INTO t VALUES (1)"))
        racer = threading.Thread(target=second)
        racer.start()
        racer.join(timeout=10)
        session.commit()
    assert outcome == [True]
    # The lock was handed back: the next writer goes straight through, as do reads.
    _write(database, "INSERT INTO t VALUES (3)")
    assert _read(database, "SELECT n FROM t ORDER BY n") == [1, 3]


def test_a_write_session_left_open_gives_the_lock_back_when_closed(tmp_path) -> None:
    database = _sqlite(tmp_path, 200, "CREATE TABLE t (n INTEGER)")
    session = database.session(write=True)
    session.execute(text("INSERT INTO t VALUES (1)"))
    session.close()  # no commit: rolled back, and the writer lock released
    _write(database, "INSERT INTO t VALUES (2)")
    assert _read(database, "SELECT n FROM t") == [2]
