"""Real spreadsheet files for the import tests, written the way the programs people use write them."""

from __future__ import annotations

import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

from openpyxl import Workbook

Rows = list[list[object]]


def xlsx(
    path: Path,
    rows: Rows,
    *,
    title: str = "客户",
    merged: list[str] | None = None,
    sheets: dict[str, Rows] | None = None,
) -> Path:
    """An .xlsx with openpyxl; `sheets` adds further sheets before the main one."""
    book = Workbook()
    first = book.active
    for name, extra in (sheets or {}).items():
        sheet = first if first.title == "Sheet" else book.create_sheet(name)
        sheet.title = name
        first = None  # type: ignore[assignment]
        for row in extra:
            sheet.append(row)
    sheet = book.active if not sheets else book.create_sheet(title)
    sheet.title = title
    for row in rows:
        sheet.append(row)
    for cells in merged or []:
        sheet.merge_cells(cells)
    book.save(path)
    return path


def csv_file(
    path: Path, rows: Rows, *, encoding: str = "utf-8", delimiter: str = ",", bom: bool = False
) -> Path:
    lines = []
    for row in rows:
        cells = []
        for value in row:
            text = "" if value is None else str(value)
            if any(ch in text for ch in (delimiter, '"', "\n")):
                text = '"' + text.replace('"', '""') + '"'
            cells.append(text)
        lines.append(delimiter.join(cells))
    data = ("\r\n".join(lines) + "\r\n").encode(encoding)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return path


def ods(path: Path, rows: Rows, *, title: str = "客户") -> Path:
    """A minimal OpenDocument spreadsheet, as LibreOffice lays one out."""
    cells_xml = []
    for row in rows:
        cells = []
        for value in row:
            if value is None or value == "":
                cells.append("<table:table-cell/>")
            elif isinstance(value, int | float):
                cells.append(
                    f'<table:table-cell office:value-type="float" office:value="{value}">'
                    f"<text:p>{value}</text:p></table:table-cell>"
                )
            else:
                cells.append(
                    f'<table:table-cell office:value-type="string"><text:p>{escape(str(value))}'
                    "</text:p></table:table-cell>"
                )
        cells_xml.append("<table:table-row>" + "".join(cells) + "</table:table-row>")
    content = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
        f'<office:body><office:spreadsheet><table:table table:name="{escape(title)}">'
        + "".join(cells_xml)
        + "</table:table></office:spreadsheet></office:body></office:document-content>"
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" '
        'manifest:version="1.2">'
        '<manifest:file-entry manifest:full-path="/" '
        'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        "</manifest:manifest>"
    )
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(
            zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet"
        )
        archive.writestr("META-INF/manifest.xml", manifest, zipfile.ZIP_DEFLATED)
        archive.writestr("content.xml", content, zipfile.ZIP_DEFLATED)
    return path


FIXTURES = Path(__file__).with_name("fixtures")
