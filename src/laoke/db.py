"""Engine, sessions and the declarative base shared by every domain.

SQLite is the embedded default: WAL journal, foreign keys on, a busy timeout, and
`BEGIN IMMEDIATE` for write units so two writers queue instead of failing mid-way
with "database is locked". PostgreSQL runs the same schema through psycopg 3.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Engine,
    ForeignKey,
    MetaData,
    create_engine,
    event,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_N_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only auto-increments a column declared exactly INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(sqlite.INTEGER(), "sqlite")
JsonDoc = JSON().with_variant(postgresql.JSONB(), "postgresql")


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use laoke.db.utcnow() or attach a tzinfo")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UtcDateTime(),
        dict[str, Any]: JsonDoc,
    }


class TenantRow:
    """Columns every tenant-owned table carries; its indexes lead with `org_id`."""

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True, sort_order=-10)
    org_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("orgs.id", ondelete="CASCADE"), sort_order=-9
    )


class Timestamps:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


WRITER_KEY = "laoke_holds_writer_lock"
LOCKED = "database is locked"


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, decide when transactions begin.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    # Writers in this process queue on a lock of their own before BEGIN IMMEDIATE: SQLite's
    # busy handler polls with growing sleeps, so dozens of threads waiting on it starve
    # one another into timeouts, while a lock hands the database to them one by one.
    writer = threading.Lock()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        if not conn.get_execution_options().get("laoke_write"):
            conn.exec_driver_sql("BEGIN DEFERRED")
            return
        if not writer.acquire(timeout=busy_timeout_ms / 1000):
            raise OperationalError("BEGIN IMMEDIATE", None, sqlite3.OperationalError(LOCKED))
        conn.info[WRITER_KEY] = True
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            _release(conn.info)
            raise

    def _release(info: dict[str, Any]) -> None:
        if info.pop(WRITER_KEY, False):
            writer.release()

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def _on_end(conn: Any) -> None:
        _release(conn.info)

    @event.listens_for(engine.pool, "checkin")
    def _on_checkin(_dbapi_conn: Any, record: Any) -> None:
        if record is not None:
            _release(record.info)


def make_engine(url: str, *, busy_timeout_ms: int = 10_000, echo: bool = False) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            echo=echo,
            connect_args={"check_same_thread": False, "timeout": busy_timeout_ms / 1000},
        )
        _configure_sqlite(engine, busy_timeout_ms)
        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=20)


class Database:
    """One engine and two session factories: reads begin deferred, writes begin immediate."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._read = sessionmaker(engine, expire_on_commit=False)
        self._write = sessionmaker(
            engine.execution_options(laoke_write=True), expire_on_commit=False
        )

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def session(self, *, write: bool = False) -> Session:
        return (self._write if write else self._read)()

    @contextmanager
    def unit_of_work(self, *, write: bool = True) -> Iterator[Session]:
        """A session that rolls back unless the code inside commits."""
        session = self.session(write=write)
        try:
            yield session
        finally:
            session.rollback()
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()


POSTGRES_BUSY = {"40001", "40P01", "55P03"}  # serialization, deadlock, lock not available
SQLITE_BUSY = ("database is locked", "database is busy", "database table is locked")


def is_contention(exc: DBAPIError) -> bool:
    """Whether the database refused because of another writer, not because of bad data
    (a unique violation on an idempotency key counts: a racing request inserted it first)."""
    original = exc.orig
    code = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
    diag = getattr(original, "diag", None)
    text = f"{original} {getattr(diag, 'constraint_name', '') or ''}".lower()
    if isinstance(exc, IntegrityError):
        unique = code == "23505" or "unique constraint failed" in text
        return unique and "idempotency_key" in text
    if code in POSTGRES_BUSY:
        return True
    return isinstance(exc, OperationalError) and any(words in text for words in SQLITE_BUSY)
