"""Hostile files get a clear error quickly, before any parser inflates them."""

from __future__ import annotations

import struct
import time
import tracemalloc
import zipfile
from pathlib import Path

import pytest

from laoke.errors import DomainError
from laoke.imports.readers import open_table
from laoke.imports.safety import FileTooLarge, Limits, UnreadableFile, UnsafeFile, check_file
from tests.imports.files import xlsx

XLSX_PARTS = {
    "[Content_Types].xml": "<Types/>",
    "xl/workbook.xml": "<workbook/>",
}


def refused_quickly(
    path: Path, error: type[DomainError], limits: Limits | None = None
) -> DomainError:
    tracemalloc.start()
    # CPU time, not wall time: the check is about our work, not about a busy shared machine.
    started = time.process_time()
    with pytest.raises(error) as caught:
        open_table(path, limits=limits)
    elapsed = time.process_time() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert elapsed < 2.0, f"took {elapsed:.2f}s"
    assert peak < 64 * 1024 * 1024, f"peak {peak / 1e6:.0f} MB"
    assert caught.value.message and caught.value.code
    return caught.value


def _bomb(path: Path, size: int) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, text in XLSX_PARTS.items():
            archive.writestr(name, text)
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as part:
            chunk = b"\0" * (1024 * 1024)
            for _ in range(size // len(chunk)):
                part.write(chunk)
    return path


def test_a_zip_bomb_is_refused_from_its_directory(tmp_path) -> None:
    error = refused_quickly(_bomb(tmp_path / "bomb.xlsx", 64 * 1024 * 1024), UnsafeFile)
    assert error.code == "zip_bomb"


def test_too_much_unpacked_data_in_total_is_refused(tmp_path) -> None:
    path = _bomb(tmp_path / "big.xlsx", 8 * 1024 * 1024)
    limits = Limits(max_uncompressed=4 * 1024 * 1024, max_ratio=10_000)
    assert refused_quickly(path, UnsafeFile, limits).code == "zip_bomb"


def test_too_many_parts_are_refused(tmp_path) -> None:
    path = tmp_path / "many.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in XLSX_PARTS.items():
            archive.writestr(name, text)
        for index in range(6000):
            archive.writestr(f"xl/media/{index}.txt", "x")
    assert refused_quickly(path, UnsafeFile).code == "zip_bomb"


def test_a_part_that_lies_about_its_size_is_refused(tmp_path) -> None:
    """The directory says 1 KB; the deflate stream holds 32 MB."""
    path = tmp_path / "liar.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in XLSX_PARTS.items():
            archive.writestr(name, text)
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (32 * 1024 * 1024))
    data = bytearray(path.read_bytes())
    name = b"xl/worksheets/sheet1.xml"
    local = data.find(b"PK\x03\x04" + data[4:4])  # first local header
    while data[local + 30 : local + 30 + len(name)] != name:
        local = data.find(b"PK\x03\x04", local + 4)
    central = data.find(b"PK\x01\x02")
    while data[central + 46 : central + 46 + len(name)] != name:
        central = data.find(b"PK\x01\x02", central + 4)
    data[local + 22 : local + 26] = struct.pack("<I", 1024)
    data[central + 24 : central + 28] = struct.pack("<I", 1024)
    path.write_bytes(bytes(data))
    with zipfile.ZipFile(path) as archive:
        assert archive.getinfo("xl/worksheets/sheet1.xml").file_size == 1024
    assert refused_quickly(path, UnsafeFile).code == "zip_bomb"


def test_billion_laughs_is_refused_before_parsing(tmp_path) -> None:
    path = xlsx(tmp_path / "laughs.xlsx", [["姓名"], ["王丽"]])
    laughs = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        + "".join(
            f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i else "&lol;" * 10}">'
            for i in range(10)
        )
        + "]>"
    )
    rewritten = tmp_path / "evil.xlsx"
    with (
        zipfile.ZipFile(path) as source,
        zipfile.ZipFile(rewritten, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for item in source.infolist():
            content = source.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                body = content.decode().split("?>", 1)[-1]
                content = (laughs + body.replace("王丽", "&lol9;")).encode()
            target.writestr(item, content)
    assert refused_quickly(rewritten, UnsafeFile).code == "xml_entities"


def test_an_external_entity_in_an_ods_is_refused(tmp_path) -> None:
    path = tmp_path / "xxe.ods"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr(
            "content.xml",
            '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>',
        )
    assert refused_quickly(path, UnsafeFile).code == "xml_entities"


def test_an_oversized_file_is_refused_by_size(tmp_path) -> None:
    path = tmp_path / "big.csv"
    path.write_bytes(b"name,phone\n" + b"a,13812345678\n" * 2000)
    assert refused_quickly(path, FileTooLarge, Limits(max_bytes=10_000)).status == 413


def test_garbage_named_xlsx_and_damaged_zips_are_unreadable(tmp_path) -> None:
    garbage = tmp_path / "x.xlsx"
    garbage.write_bytes(b"\x00\x01\x02binary" * 1000)
    refused_quickly(garbage, UnreadableFile)
    damaged = tmp_path / "d.xlsx"
    damaged.write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    refused_quickly(damaged, UnreadableFile)
    empty = tmp_path / "e.csv"
    empty.write_bytes(b"")
    refused_quickly(empty, UnreadableFile)


def test_ordinary_spreadsheets_pass(tmp_path) -> None:
    rows = [["姓名", "手机"]] + [[f"客户{i}", f"138{i:08d}"] for i in range(5000)]
    assert check_file(xlsx(tmp_path / "ok.xlsx", rows)) == "xlsx"
