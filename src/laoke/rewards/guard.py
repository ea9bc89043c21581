"""Database triggers that keep ledger entries append-only.

Code never updates or deletes an entry, but the database enforces it too: an UPDATE or
DELETE of `ledger_entries` fails on SQLite and PostgreSQL alike, and so does a TRUNCATE on
PostgreSQL (SQLite has none). Someone who can drop the triggers can still edit rows; the
hash chain is what then tells (`laoke ledger verify`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, text

MESSAGE = "ledger entries are append-only; post a reversal instead"

SQLITE_INSTALL = [
    f"""CREATE TRIGGER IF NOT EXISTS ledger_entries_no_update BEFORE UPDATE ON ledger_entries
    BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""",
    f"""CREATE TRIGGER IF NOT EXISTS ledger_entries_no_delete BEFORE DELETE ON ledger_entries
    BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""",
]
SQLITE_REMOVE = [
    "DROP TRIGGER IF EXISTS ledger_entries_no_update",
    "DROP TRIGGER IF EXISTS ledger_entries_no_delete",
]
POSTGRES_INSTALL = [
    f"""CREATE OR REPLACE FUNCTION laoke_ledger_append_only() RETURNS trigger AS $$
    BEGIN RAISE EXCEPTION '{MESSAGE}'; END $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION laoke_ledger_append_only()""",
    """CREATE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE ON ledger_entries
    FOR EACH STATEMENT EXECUTE FUNCTION laoke_ledger_append_only()""",
]
POSTGRES_REMOVE = [
    "DROP TRIGGER IF EXISTS ledger_entries_append_only ON ledger_entries",
    "DROP TRIGGER IF EXISTS ledger_entries_no_truncate ON ledger_entries",
    "DROP FUNCTION IF EXISTS laoke_ledger_append_only()",
]


def _run(connection: Connection, statements: list[str]) -> None:
    for statement in statements:
        connection.execute(text(statement))


def install(connection: Connection) -> None:
    postgres = connection.dialect.name == "postgresql"
    _run(connection, POSTGRES_INSTALL if postgres else SQLITE_INSTALL)


def remove(connection: Connection) -> None:
    postgres = connection.dialect.name == "postgresql"
    _run(connection, POSTGRES_REMOVE if postgres else SQLITE_REMOVE)


@contextmanager
def lifted(connection: Connection) -> Iterator[None]:
    """Lift the guard inside one transaction (tests emptying tables, tamper tests)."""
    remove(connection)
    try:
        yield
    finally:
        install(connection)
