"""Reading any spreadsheet as a header and numbered rows of text.

.xlsx, .xls and .ods go through python-calamine (Rust; a sheet is read in one pass and rows
are handed out one at a time); .csv and .tsv through the csv module, streamed line by line
in the detected encoding. Either way the caller sees the same thing: the header (found
below any title rows, merged header cells filled in) and data rows, each carrying its row
number as a spreadsheet program shows it (1-based, the header and title rows counted).
Cells come back as stripped text; numbers that are whole come back without ".0", so a phone
number typed into a number cell reads as it looks.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from laoke.errors import N_, Invalid
from laoke.imports.encodings import SAMPLE_BYTES, detect_encoding
from laoke.imports.safety import FileKind, Limits, UnreadableFile, check_file

HEADER_SCAN_ROWS = 30
PREVIEW_ROWS = 20
csv.field_size_limit(1024 * 1024)

Row = tuple[int, list[str]]
"""(spreadsheet row number, cell texts)"""


class SheetNotFound(Invalid):
    code = "sheet_not_found"
    default_message = N_("There is no sheet named %(sheet)s. The sheets are: %(names)s.")


class NoHeader(Invalid):
    code = "no_header"
    default_message = N_("No header row was found: the file has no table in it.")


def column_letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA: what a spreadsheet shows above a column."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def cell_text(value: Any) -> str:
    """One cell as the text a person sees."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer() and abs(value) < 1e16:
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime):
        if value.time() == time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    return str(value).strip()


@dataclass
class TableInfo:
    """What the reader found; shown on the preview page and stored with the job."""

    kind: FileKind
    sheet_names: list[str]
    sheet: str | None
    encoding: str | None
    delimiter: str | None
    header_row: int
    headers: list[str]
    preview: list[Row] = field(default_factory=list)


class TableReader:
    """An opened table: `info` at once, then `rows()` streams every data row."""

    def __init__(
        self,
        path: Path,
        *,
        sheet: str | None = None,
        header_score: Callable[[str], bool] | None = None,
        limits: Limits | None = None,
        header_row: int | None = None,
    ) -> None:
        self.path = Path(path)
        self._forced_header = header_row
        self.kind = check_file(self.path, limits)
        self._header_score = header_score or (lambda _text: False)
        self._workbook: Any = None
        self._text: io.TextIOWrapper | None = None
        if self.kind is FileKind.TEXT:
            self._open_text()
        else:
            self._open_workbook(sheet)
        head = self._head()
        self.info = self._find_header(head)

    # --- sources ------------------------------------------------------------------------

    def _open_workbook(self, sheet: str | None) -> None:
        import python_calamine

        try:
            self._workbook = python_calamine.CalamineWorkbook.from_path(str(self.path))
        except Exception as exc:  # calamine raises its own error types for damaged files
            raise UnreadableFile(
                N_("The spreadsheet is damaged or protected and cannot be opened."),
                code="damaged_spreadsheet",
            ) from exc
        names = [
            m.name
            for m in self._workbook.sheets_metadata
            if str(m.typ).endswith("WorkSheet") and str(m.visible).endswith("Visible")
        ] or list(self._workbook.sheet_names)
        self.sheet_names = names
        if sheet is not None and sheet not in self._workbook.sheet_names:
            raise SheetNotFound(sheet=sheet, names="、".join(names))
        chosen = sheet or self._best_sheet(names)
        self.sheet = chosen
        self._sheet = self._workbook.get_sheet_by_name(chosen)
        start = self._sheet.start or (0, 0)
        self._row_offset, self._col_offset = start
        self.encoding = self.delimiter = None

    def _best_sheet(self, names: list[str]) -> str:
        """The visible sheet whose top rows look most like our headers (then: the first with
        data) — a workbook often starts with a notes or summary sheet."""
        best, best_score = None, (-1, -1)
        for position, name in enumerate(names):
            candidate = self._workbook.get_sheet_by_name(name)
            if not (candidate.height and candidate.width):
                continue
            known = 0
            for index, cells in enumerate(candidate.iter_rows()):
                if index >= HEADER_SCAN_ROWS:
                    break
                texts = [cell_text(c) for c in cells]
                known = max(known, sum(1 for t in texts if t and self._header_score(t)))
            score = (known, -position)
            if score > best_score:
                best, best_score = name, score
        return best or names[0]

    def _open_text(self) -> None:
        with self.path.open("rb") as handle:
            sample = handle.read(SAMPLE_BYTES)
        self.encoding = detect_encoding(sample)
        self.delimiter = _sniff_delimiter(sample.decode(self.encoding, errors="replace"), self.path)
        self.sheet_names, self.sheet = [], None
        self._row_offset = self._col_offset = 0

    def _raw_rows(self) -> Iterator[tuple[int, list[str]]]:
        if self.kind is FileKind.TEXT:
            if self._text is not None:
                self._text.close()
            self._text = self.path.open("r", encoding=self.encoding, errors="replace", newline="")
            reader = csv.reader(self._text, delimiter=self.delimiter or ",")
            try:
                for number, cells in enumerate(reader, start=1):
                    yield number, [c.strip() for c in cells]
            except csv.Error as exc:
                raise UnreadableFile(
                    N_("The text table is malformed near row %(row)s."),
                    code="malformed_csv",
                    row=reader.line_num,
                ) from exc
            return
        offset = self._row_offset
        for index, cells in enumerate(self._sheet.iter_rows()):
            yield offset + index + 1, [cell_text(c) for c in cells]

    def _head(self) -> list[tuple[int, list[str]]]:
        head = []
        for row in self._raw_rows():
            head.append(row)
            if len(head) >= HEADER_SCAN_ROWS + PREVIEW_ROWS:
                break
        return head

    # --- header -------------------------------------------------------------------------

    def _find_header(self, head: list[tuple[int, list[str]]]) -> TableInfo:
        filled = [(n, cells) for n, cells in head[:HEADER_SCAN_ROWS] if any(cells)]
        if self._forced_header is not None:
            filled = [(n, c) for n, c in filled if n == self._forced_header] or filled
        if not filled:
            raise NoHeader()
        widest = max(sum(1 for c in cells if c) for _, cells in filled)

        def score(cells: list[str]) -> tuple[int, int]:
            known = sum(1 for c in cells if c and self._header_score(c))
            texts = sum(1 for c in cells if c and not _numeric(c))
            return known, texts

        best = max(filled, key=lambda item: (score(item[1])[0], 0))
        if score(best[1])[0] == 0:
            # Nothing we recognise: the first row about as wide as the table, made of text.
            threshold = max(2, math.ceil(widest / 2)) if widest > 1 else 1
            best = next(
                (row for row in filled if score(row[1])[1] >= threshold),
                filled[0],
            )
        else:
            top = score(best[1])[0]
            best = next(row for row in filled if score(row[1])[0] == top)
        header_number, header_cells = best
        data = [(n, cells) for n, cells in head if n > header_number and any(cells)]
        width = max([len(header_cells)] + [len(cells) for _, cells in data[:PREVIEW_ROWS]])
        headers = self._name_columns(header_number, header_cells, data, width)
        return TableInfo(
            kind=self.kind,
            sheet_names=self.sheet_names,
            sheet=self.sheet,
            encoding=self.encoding,
            delimiter=self.delimiter,
            header_row=header_number,
            headers=headers,
            preview=[(n, _pad(cells, len(headers))) for n, cells in data[:PREVIEW_ROWS]],
        )

    def _merged_spans(self, header_number: int) -> dict[int, int]:
        """For each header column covered by a merged cell, the column holding its text."""
        spans: dict[int, int] = {}
        ranges = getattr(getattr(self, "_sheet", None), "merged_cell_ranges", None) or []
        for (row0, col0), (row1, col1) in ranges:
            if row0 <= header_number - 1 <= row1:
                for col in range(col0 + 1, col1 + 1):
                    spans[col - self._col_offset] = col0 - self._col_offset
        return spans

    def _name_columns(
        self,
        header_number: int,
        cells: list[str],
        data: list[tuple[int, list[str]]],
        width: int,
    ) -> list[str]:
        merged = self._merged_spans(header_number)
        names: list[str] = []
        for index in range(width):
            text = cells[index] if index < len(cells) else ""
            if not text and index in merged and merged[index] < len(names):
                text = _base_name(names[merged[index]])
            elif not text and not merged and index and names and _has_data(data, index):
                # A header merged across two columns, saved without the merge (CSV, ODS):
                # the blank cell continues the column to its left.
                left = cells[index - 1] if index - 1 < len(cells) else ""
                if left or _continues(names, cells, index):
                    text = _base_name(names[index - 1])
            names.append(
                " ".join(text.split()) if text else column_letter(index + self._col_offset)
            )
        return _unique(names)

    # --- rows ---------------------------------------------------------------------------

    def rows(self, after: int = 0) -> Iterator[Row]:
        """Every non-empty data row below the header whose number is greater than `after`.

        Rows are at least as wide as the header; a row may be wider (a CSV line with extra
        cells): the caller keeps those cells too.
        """
        width = len(self.info.headers)
        first = max(after, self.info.header_row)
        for number, cells in self._raw_rows():
            if number <= first or not any(cells):
                continue
            yield number, cells if len(cells) >= width else _pad(cells, width)

    def fraction(self, row_number: int) -> float:
        """How far through the table `row_number` is, 0..1 (for progress bars)."""
        if self.kind is FileKind.TEXT:
            if self._text is None:
                return 0.0
            try:
                return self._text.buffer.tell() / max(self.path.stat().st_size, 1)
            except (OSError, ValueError):
                return 0.0
        total = self._row_offset + (self._sheet.height or 0)
        return row_number / max(total, 1)

    def close(self) -> None:
        if self._text is not None:
            self._text.close()
            self._text = None
        if self._workbook is not None:
            self._workbook.close()
            self._workbook = None

    def __enter__(self) -> TableReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_table(
    path: Path,
    *,
    sheet: str | None = None,
    header_score: Callable[[str], bool] | None = None,
    limits: Limits | None = None,
    header_row: int | None = None,
) -> TableReader:
    """Check the file, open it, find the header. Raises a `DomainError` saying what is wrong."""
    return TableReader(
        path, sheet=sheet, header_score=header_score, limits=limits, header_row=header_row
    )


# --- helpers ------------------------------------------------------------------------------


def _pad(cells: list[str], width: int) -> list[str]:
    return cells + [""] * (width - len(cells)) if len(cells) < width else cells


def _numeric(text: str) -> bool:
    try:
        float(text.replace(",", ""))
    except ValueError:
        return False
    return True


def _has_data(data: list[tuple[int, list[str]]], index: int) -> bool:
    return any(index < len(cells) and cells[index] for _, cells in data[:PREVIEW_ROWS])


def _continues(names: list[str], cells: list[str], index: int) -> bool:
    """Whether the column to the left was itself a continuation of a named header."""
    return index - 1 >= len(cells) or (not cells[index - 1] and bool(names[index - 1]))


def _base_name(name: str) -> str:
    base, sep, tail = name.rpartition(" (")
    return base if sep and tail.endswith(")") and tail[:-1].isdigit() else name


def _unique(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    result = []
    for name in names:
        count = seen.get(name, 0) + 1
        seen[name] = count
        result.append(name if count == 1 else f"{name} ({count})")
    return result


def _sniff_delimiter(sample: str, path: Path) -> str:
    if path.suffix.lower() == ".tsv":
        return "\t"
    lines = [line for line in sample.splitlines()[:50] if line.strip()]
    if not lines:
        return ","
    best, best_score = ",", -1.0
    for candidate in (",", "\t", ";", "|"):
        counts = [line.count(candidate) for line in lines]
        common = max(set(counts), key=counts.count)
        if common == 0:
            continue
        score = counts.count(common) / len(counts) + common / 1000
        if score > best_score:
            best, best_score = candidate, score
    return best


__all__ = [
    "NoHeader",
    "Row",
    "SheetNotFound",
    "TableInfo",
    "TableReader",
    "cell_text",
    "column_letter",
    "open_table",
]
