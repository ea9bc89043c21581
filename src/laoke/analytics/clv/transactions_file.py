"""Read a transaction log from a delimited text file into arrays.

Accepted files: comma-, semicolon- or tab-separated (CSV quoting rules), or columns
separated by runs of whitespace; the delimiter is detected from the first line. A header
line naming the columns is required unless ``header=False``, in which case columns are
named by their 1-based position ("1", "2", …). Dates may be ``YYYYMMDD`` or ISO
``YYYY-MM-DD`` (auto-detected), or any ``datetime.strptime`` format given explicitly.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from laoke.analytics.clv.errors import InvalidTransactions


@dataclass(frozen=True)
class TransactionLog:
    """Columns of a transaction log, one entry per row."""

    customer_id: NDArray
    date: NDArray[np.datetime64]
    amount: NDArray[np.float64] | None


def _split_rows(text: str) -> list[list[str]]:
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines:
        raise InvalidTransactions("the file is empty")
    first = lines[0]
    for delim in (",", "\t", ";"):
        if delim in first:
            return [[c.strip() for c in row] for row in csv.reader(lines, delimiter=delim)]
    return [ln.split() for ln in lines]


def _column(header: list[str], name: str, what: str) -> int:
    if name in header:
        return header.index(name)
    raise InvalidTransactions(f"{what} column {name!r} not found; columns are {header}")


def parse_dates(values: list[str], date_format: str | None) -> NDArray[np.datetime64]:
    """Parse date strings to ``datetime64[D]`` (``YYYYMMDD``, ISO, or ``date_format``)."""
    try:
        if date_format:
            days = [dt.datetime.strptime(v, date_format).date() for v in values]
            return np.array(days, dtype="datetime64[D]")
        if all(len(v) == 8 and v.isdigit() for v in values):
            values = [f"{v[:4]}-{v[4:6]}-{v[6:]}" for v in values]
        return np.array(values, dtype="datetime64[D]")
    except ValueError as exc:
        raise InvalidTransactions(f"cannot parse dates: {exc}") from exc


def read_transactions(
    path: str | Path,
    *,
    customer_col: str,
    date_col: str,
    amount_col: str | None = None,
    date_format: str | None = None,
    header: bool = True,
) -> TransactionLog:
    """Read customer ids, dates and optional amounts from ``path``.

    Raises:
        InvalidTransactions: unreadable file, missing column, ragged row, bad date or
            amount. The message is one line, fit for a terminal.
    """
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidTransactions(f"cannot read {path}: {exc}") from exc
    rows = _split_rows(text)
    if header:
        names, body = rows[0], rows[1:]
    else:
        names, body = [str(i + 1) for i in range(len(rows[0]))], rows
    if not body:
        raise InvalidTransactions(f"{path} has no transaction rows")
    width = len(names)
    ragged = [i for i, row in enumerate(body) if len(row) != width]
    if ragged:
        line = ragged[0] + (2 if header else 1)
        raise InvalidTransactions(
            f"{len(ragged)} rows do not have {width} columns (first at line {line})"
        )
    ci = _column(names, customer_col, "customer")
    di = _column(names, date_col, "date")
    ids_raw = [row[ci] for row in body]
    ids: NDArray = np.array(ids_raw)
    if all(v.isdigit() for v in ids_raw):
        ids = ids.astype(np.int64)
    dates = parse_dates([row[di] for row in body], date_format)
    amounts = None
    if amount_col is not None:
        ai = _column(names, amount_col, "amount")
        try:
            amounts = np.array([float(row[ai]) for row in body], dtype=np.float64)
        except ValueError as exc:
            raise InvalidTransactions(f"cannot parse amounts: {exc}") from exc
    return TransactionLog(customer_id=ids, date=dates, amount=amounts)
