"""Bulk writes for imports: plain tuples into a table, inside the caller's transaction.

SQLAlchemy's executemany builds a parameter dict and runs every type processor for every
row; at a million rows that costs more than SQLite itself. Here each column's processor is
looked up once, constant columns (the batch's timestamps) are processed once, and rows go
to the driver as tuples: `executemany` on SQLite, `COPY … FROM STDIN` on PostgreSQL. The
values stored are exactly what SQLAlchemy would store (its own processors are used).

Lookups by many keys at once use one parameter holding them all (SQLite's json_each,
PostgreSQL's arrays) instead of thousands of bound parameters.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import Table, text
from sqlalchemy.orm import Session


class BulkInserter:
    """INSERT rows (tuples in `columns` order) plus `constants` into `table`."""

    def __init__(
        self,
        session: Session,
        table: Table,
        columns: Sequence[str],
        constants: dict[str, Any] | None = None,
    ) -> None:
        self.session = session
        self.dialect = session.get_bind().dialect
        self.postgres = self.dialect.name == "postgresql"
        constants = constants or {}
        self.columns = list(columns)
        self.constant_names = list(constants)
        self.constant_values = tuple(
            self._processor(table, name)(value) if value is not None else None
            for name, value in constants.items()
        )
        self.processors: list[tuple[int, Callable[[Any], Any]]] = []
        for index, name in enumerate(self.columns):
            processor = self._processor(table, name)
            if processor is not _same:
                self.processors.append((index, processor))
        names = self.columns + self.constant_names
        quoted = ", ".join(self.dialect.identifier_preparer.quote(n) for n in names)
        table_name = self.dialect.identifier_preparer.format_table(table)
        if self.postgres:
            self.statement = f"COPY {table_name} ({quoted}) FROM STDIN"
        else:
            marks = ", ".join("?" for _ in names)
            # Identifiers come from the table's metadata, quoted by the dialect.
            self.statement = f"INSERT INTO {table_name} ({quoted}) VALUES ({marks})"  # noqa: S608

    def _processor(self, table: Table, name: str) -> Callable[[Any], Any]:
        column_type = table.c[name].type
        if self.postgres:
            # COPY takes text; psycopg writes dates, times and booleans itself.
            if column_type._type_affinity.__name__ == "JSON":
                return lambda value: json.dumps(value, ensure_ascii=False)
            return _same
        processor = column_type._cached_bind_processor(self.dialect)
        return processor or _same

    def insert(self, rows: Iterable[Sequence[Any]]) -> int:
        prepared = []
        processors, constants = self.processors, self.constant_values
        for row in rows:
            values = list(row)
            for index, processor in processors:
                value = values[index]
                if value is not None:
                    values[index] = processor(value)
            prepared.append((*values, *constants))
        if not prepared:
            return 0
        raw = self.session.connection().connection.driver_connection
        cursor = raw.cursor()
        try:
            if self.postgres:
                with cursor.copy(self.statement) as copy:
                    for values in prepared:
                        copy.write_row(values)
            else:
                cursor.executemany(self.statement, prepared)
        finally:
            cursor.close()
        return len(prepared)


def _same(value: Any) -> Any:
    return value


BULK_CACHE_KIB = 131_072  # 128 MB
DEFAULT_CACHE_KIB = 2_000  # SQLite's default


def tune_for_bulk(session: Session, *, on: bool = True) -> None:
    """A larger page cache for this connection while a batch writes (SQLite's default is
    2 MB; index pages of a large pool do not fit and every insert would wait on the disk).
    Turned off again after the batch, so a pooled connection of the web server does not
    keep 128 MB for its later requests."""
    if session.get_bind().dialect.name == "sqlite":
        size = BULK_CACHE_KIB if on else DEFAULT_CACHE_KIB
        session.connection().exec_driver_sql(f"PRAGMA cache_size = -{size}")


def lookup_many(
    session: Session, sql: str, values: list[str], params: dict[str, Any] | None = None
) -> list[Sequence[Any]]:
    """Run `sql` whose `:keys` stands for a set of strings; one parameter, any size.

    Write the condition as `column IN (:keys)`; it becomes `IN (SELECT value FROM
    json_each(?))` on SQLite and `= ANY(%s)` on PostgreSQL.
    """
    if not values:
        return []
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        statement = text(sql.replace("IN (:keys)", "= ANY(:keys)"))
        bound = {**(params or {}), "keys": list(values)}
    else:
        statement = text(sql.replace("IN (:keys)", "IN (SELECT value FROM json_each(:keys))"))
        bound = {**(params or {}), "keys": json.dumps(values, ensure_ascii=False)}
    return list(session.execute(statement, bound))
