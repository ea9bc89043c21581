"""Hostile files are refused before any parser sees them.

A spreadsheet upload is untrusted input. Before python-calamine opens it we check, in
well under a second and without inflating anything into memory:

- the size of the upload (`upload_max_bytes`);
- what the bytes are (zip, OLE2 or text), whatever the file is called;
- for zip containers (.xlsx, .ods): the central directory — entry count, total declared
  uncompressed size and each entry's compression ratio (zip bombs);
- every XML part, streamed through the decompressor: its true size may not exceed what the
  directory declares (lying headers), and its prolog may carry no `<!DOCTYPE` or `<!ENTITY`
  (billion laughs, external entities). Office files never need a DTD.
"""

from __future__ import annotations

import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from laoke.errors import N_, Invalid


class FileKind(StrEnum):
    XLSX = "xlsx"
    ODS = "ods"
    XLS = "xls"
    TEXT = "text"


class UnsafeFile(Invalid):
    code = "unsafe_file"
    default_message = N_("This file cannot be read safely.")


class FileTooLarge(Invalid):
    code = "file_too_large"
    status = 413
    default_message = N_("The file is larger than the limit of %(limit)s MB.")


class UnreadableFile(Invalid):
    code = "unreadable_file"
    default_message = N_(
        "This file is not a spreadsheet we can read. Please upload .xlsx, .xls, .ods, .csv or .tsv."
    )


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 50 * 1024 * 1024
    max_entries: int = 5_000
    max_uncompressed: int = 1024 * 1024 * 1024
    max_ratio: int = 200
    ratio_floor: int = 1024 * 1024  # small parts may compress well; only large ones are judged


ZIP_MAGIC = b"PK\x03\x04"
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_DTD = re.compile(rb"<!\s*(doctype|entity)", re.IGNORECASE)
_PROLOG_SCAN = 64 * 1024
_CHUNK = 1024 * 1024


def check_size(size: int, limits: Limits) -> None:
    if size > limits.max_bytes:
        raise FileTooLarge(limit=f"{limits.max_bytes / 1024 / 1024:.0f}")
    if size == 0:
        raise UnreadableFile(N_("The file is empty."), code="empty_file")


def sniff(path: Path) -> FileKind:
    with path.open("rb") as handle:
        head = handle.read(8)
    if head.startswith(ZIP_MAGIC):
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if "xl/workbook.xml" in names:
                return FileKind.XLSX
            if "content.xml" in names:
                return FileKind.ODS
        raise UnreadableFile()
    if head.startswith(OLE2_MAGIC):
        return FileKind.XLS
    return FileKind.TEXT


def check_file(path: Path, limits: Limits | None = None) -> FileKind:
    """Size, kind and — for zip containers — bomb and entity checks. Returns the kind."""
    limits = limits or Limits()
    check_size(path.stat().st_size, limits)
    try:
        kind = sniff(path)
        if kind in (FileKind.XLSX, FileKind.ODS):
            check_zip(path, limits)
    except zipfile.BadZipFile as exc:
        raise UnreadableFile(
            N_("The file is damaged (not a valid zip archive)."), code="bad_zip"
        ) from exc
    return kind


def _declared_entries(path: Path) -> int | None:
    """The entry count from the end-of-central-directory record, read before zipfile builds
    an object per entry (a million-entry archive would cost seconds and memory)."""
    size = path.stat().st_size
    with path.open("rb") as handle:
        handle.seek(max(0, size - 65_557))
        tail = handle.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) < at + 22:
        return None
    count = struct.unpack("<H", tail[at + 10 : at + 12])[0]
    locator = tail.rfind(b"PK\x06\x07", 0, at)
    if count == 0xFFFF and locator >= 0:
        offset = struct.unpack("<Q", tail[locator + 8 : locator + 16])[0]
        with path.open("rb") as handle:
            handle.seek(offset)
            record = handle.read(56)
        if record.startswith(b"PK\x06\x06"):
            count = struct.unpack("<Q", record[32:40])[0]
    return count


def _too_many(count: int) -> UnsafeFile:
    return UnsafeFile(
        N_("The file contains too many parts (%(n)s); it may be a zip bomb."),
        code="zip_bomb",
        n=count,
    )


def check_zip(path: Path, limits: Limits) -> None:
    declared = _declared_entries(path)
    if declared is not None and declared > limits.max_entries:
        raise _too_many(declared)
    with zipfile.ZipFile(path) as archive:
        entries = archive.infolist()
        if len(entries) > limits.max_entries:
            raise _too_many(len(entries))
        total = sum(e.file_size for e in entries)
        if total > limits.max_uncompressed:
            raise UnsafeFile(
                N_("The file would unpack to more than %(limit)s MB; it may be a zip bomb."),
                code="zip_bomb",
                limit=limits.max_uncompressed // (1024 * 1024),
            )
        for entry in entries:
            if entry.file_size > limits.ratio_floor and entry.file_size > limits.max_ratio * max(
                entry.compress_size, 1
            ):
                raise UnsafeFile(
                    N_("A part of the file is compressed suspiciously well; it may be a zip bomb."),
                    code="zip_bomb",
                )
        for entry in entries:
            if entry.filename.endswith((".xml", ".rels")) or entry.filename == "mimetype":
                _scan_part(path, entry)


def _scan_part(path: Path, entry: zipfile.ZipInfo) -> None:
    """Inflate one part in chunks: refuse a DTD in its prolog or more bytes than declared."""
    produced = 0
    prolog = b""
    for chunk in _inflate(path, entry):
        produced += len(chunk)
        if produced > entry.file_size:
            raise _lying(entry)
        if len(prolog) < _PROLOG_SCAN:
            prolog += chunk[: _PROLOG_SCAN - len(prolog)]
            _check_prolog(prolog)


def _inflate(path: Path, entry: zipfile.ZipInfo) -> Iterator[bytes]:
    """The entry's bytes, inflated a bounded chunk at a time from its local header on.

    zipfile would stop at the declared size and so hide a lie; we read the raw stream.
    """
    if entry.flag_bits & 0x1:
        raise UnsafeFile(N_("The file is encrypted."), code="encrypted_file")
    with path.open("rb") as handle:
        handle.seek(entry.header_offset)
        header = handle.read(30)
        if len(header) < 30 or not header.startswith(ZIP_MAGIC):
            raise zipfile.BadZipFile("bad local header")
        name_length, extra_length = struct.unpack("<HH", header[26:30])
        handle.seek(entry.header_offset + 30 + name_length + extra_length)
        remaining = entry.compress_size
        if entry.compress_type == zipfile.ZIP_STORED:
            while remaining > 0:
                data = handle.read(min(_CHUNK, remaining))
                if not data:
                    return
                remaining -= len(data)
                yield data
            return
        if entry.compress_type != zipfile.ZIP_DEFLATED:
            raise UnreadableFile(
                N_("The file uses a compression method spreadsheets do not use."),
                code="bad_zip",
            )
        inflater = zlib.decompressobj(-zlib.MAX_WBITS)
        while remaining > 0 and not inflater.eof:
            data = handle.read(min(_CHUNK, remaining))
            if not data:
                return
            remaining -= len(data)
            while data and not inflater.eof:
                try:
                    out = inflater.decompress(data, _CHUNK)
                except zlib.error as exc:
                    raise zipfile.BadZipFile(str(exc)) from exc
                if out:
                    yield out
                data = inflater.unconsumed_tail


def _lying(entry: zipfile.ZipInfo) -> UnsafeFile:
    return UnsafeFile(
        N_("A part of the file unpacks to more than it declares; it may be a zip bomb."),
        code="zip_bomb",
    )


def _check_prolog(prolog: bytes) -> None:
    text = prolog
    if prolog.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = prolog.decode("utf-16", errors="ignore").encode("utf-8")
    if _DTD.search(text):
        raise UnsafeFile(
            N_("The file declares XML entities or a DTD, which spreadsheets never need."),
            code="xml_entities",
        )
