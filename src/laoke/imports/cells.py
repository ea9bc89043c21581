"""Cells we write into spreadsheets: no formula may run when someone opens the file.

A cell whose text begins with = + - @ (or a tab, CR or LF before them) is read as a formula
by Excel, LibreOffice and WPS — the classic CSV/formula injection. Such text is written with
a leading apostrophe, which spreadsheet programs show as plain text. Control characters that
the xlsx format cannot hold are removed.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def neutralise(value: Any) -> Any:
    """The value safe to put in a spreadsheet cell (text neutralised, others unchanged)."""
    if value is None:
        return ""
    if isinstance(value, bool | int | float | date | datetime):
        return value
    text = _ILLEGAL.sub("", str(value))
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def write_csv(path: Path, header: list[str], rows: Iterable[list[Any]]) -> int:
    """UTF-8 with a BOM, so Excel opens Chinese text correctly. Returns the row count."""
    count = 0
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([neutralise(h) for h in header])
        for row in rows:
            writer.writerow([neutralise(v) for v in row])
            count += 1
    return count


def write_xlsx(
    path: Path,
    header: list[str],
    rows: Iterable[list[Any]],
    *,
    title: str = "Sheet1",
    widths: list[int] | None = None,
) -> int:
    """A streamed (write-only) workbook: bold shaded header, frozen under it, set widths."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=_sheet_title(title))
    sheet.freeze_panes = "A2"
    for index, width in enumerate(widths or [14] * len(header), start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    bold, fill = Font(bold=True, color="FFFFFF"), PatternFill("solid", fgColor="C2410C")
    cells = []
    for text in header:
        cell = WriteOnlyCell(sheet, value=neutralise(text))
        cell.font, cell.fill = bold, fill
        cell.alignment = Alignment(vertical="center")
        cells.append(cell)
    sheet.append(cells)
    count = 0
    for row in rows:
        sheet.append([neutralise(v) for v in row])
        count += 1
    workbook.save(path)
    return count


def _sheet_title(title: str) -> str:
    return re.sub(r"[\[\]:*?/\\]", " ", title)[:31] or "Sheet1"
