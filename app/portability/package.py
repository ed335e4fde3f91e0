"""Unpacking an uploaded XLSX package with bounded memory, before any XML parser sees it.

A zip entry's header says how big the entry is, but nothing makes that true: a file of two
megabytes can inflate to gigabytes. So the declared sizes must add up to a workbook's, each
entry is inflated in small chunks and refused as soon as it passes its declared size, and
only the parts a workbook upload reads are kept and parsed. What comes out is a clean,
uncompressed copy of the package holding just those parts, for openpyxl to read.
"""

from __future__ import annotations

import re
import struct
import zipfile
import zlib
from collections.abc import Collection
from io import BytesIO
from posixpath import dirname, join, normpath
from typing import Any
from xml.etree import ElementTree

from app.core.errors import Invalid

MAX_ENTRIES = 300
# The biggest workbook this application writes (every indicator answered up to Excel's cell
# limit, in Arabic script, with twenty long links each) unpacks to about 13.4 MB; saving it
# again in Excel or LibreOffice adds little.
MAX_UNPACKED_BYTES = 16 * 1024 * 1024
# The small parts read whole (content types, relationships, the sheet list, styles) are a
# few kilobytes in real workbooks; a parsed XML tree takes many times its text in memory.
MAX_INDEX_PART_BYTES = 1024 * 1024
# Markup checked on the text before it is parsed: a parsed element takes far more memory
# than its text, and a real part has a few thousand tags (every "<" starts one; a "<" in
# text is written "&lt;").
MAX_PART_TAGS = 200_000
# How much is inflated at a time.
CHUNK = 64 * 1024

CONTENT_TYPES = "[Content_Types].xml"
WORKBOOK_PART = "xl/workbook.xml"
WORKBOOK_RELS = "xl/_rels/workbook.xml.rels"
STYLES_PART = "xl/styles.xml"
_LOCAL_HEADER = struct.Struct("<4s5H3L2H")

MACROS = (
    "macro-enabled workbooks (.xlsm) are not accepted: save the workbook as "
    "'Excel Workbook (.xlsx)', which removes the macros, and upload that"
)
DAMAGED = (
    "the file is damaged or incomplete (the download, copy or e-mail may have cut it "
    "short); save the workbook again and upload that copy"
)
NOT_A_WORKBOOK = (
    "this file is not an Excel workbook (.xlsx) (it may be another kind of Office "
    "document or a zip archive); upload the workbook downloaded from this assessment"
)


class BadFile(Invalid):
    """The uploaded file cannot be used; the message says why and what to do instead."""

    code = "bad_file"

    def __init__(self, message: str, *, field: str | None = "file", **details: Any):
        super().__init__(message, field=field, **details)


def _too_big(what: str, limit: int) -> BadFile:
    return BadFile(
        f"{what} unpacks to more than {limit // (1024 * 1024)} MB, far more than an "
        "assessment needs; it was refused to protect the service"
    )


def _inflate(data: bytes, entry: zipfile.ZipInfo, *, keep: bool = True) -> bytes:
    """One entry's content, inflated chunk by chunk, never past the size its header declares.

    The declared size is a promise to check, not a fact: inflation stops, and the file is
    refused, as soon as the output passes it. With keep=False the entry is only checked
    (size and checksum) and its content dropped chunk by chunk.
    """
    header = data[entry.header_offset : entry.header_offset + _LOCAL_HEADER.size]
    if len(header) < _LOCAL_HEADER.size:
        raise BadFile(DAMAGED)
    signature, *_, name_length, extra_length = _LOCAL_HEADER.unpack(header)
    if signature != b"PK\x03\x04":
        raise BadFile(DAMAGED)
    start = entry.header_offset + _LOCAL_HEADER.size + name_length + extra_length
    raw = memoryview(data)[start : start + entry.compress_size]
    if len(raw) < entry.compress_size:
        raise BadFile(DAMAGED)
    # Corruption and a zip bomb look the same from here; either way nothing more is inflated.
    lied = BadFile(
        f"the file is damaged: its part '{entry.filename[:80]}' unpacks to more than the size "
        "its header declares, so it was refused without unpacking further; save the workbook "
        "again in Excel or LibreOffice and upload that copy"
    )
    if entry.compress_type == zipfile.ZIP_STORED:
        if len(raw) > entry.file_size:
            raise lied
        size, checksum = len(raw), zlib.crc32(raw)
        content = bytes(raw) if keep else b""
    elif entry.compress_type == zipfile.ZIP_DEFLATED:
        inflater = zlib.decompressobj(-zlib.MAX_WBITS)
        pieces: list[bytes] = []
        size = position = checksum = 0
        pending: bytes | memoryview = b""
        while not inflater.eof:
            if not pending:
                if position >= len(raw):
                    raise BadFile(DAMAGED)
                pending, position = raw[position : position + CHUNK], position + CHUNK
            try:
                piece = inflater.decompress(pending, CHUNK)
            except zlib.error:
                raise BadFile(DAMAGED) from None
            pending = inflater.unconsumed_tail
            size += len(piece)
            if size > entry.file_size:
                raise lied
            checksum = zlib.crc32(piece, checksum)
            if keep:
                pieces.append(piece)
        content = b"".join(pieces)
    else:
        raise BadFile(DAMAGED)
    if size != entry.file_size or checksum != entry.CRC:
        raise BadFile(DAMAGED)
    return content


def _refuse_declarations(content: bytes) -> None:
    # Excel never writes document type declarations, and entity tricks need them.
    if re.search(rb"<!(DOCTYPE|ENTITY)", content, re.IGNORECASE):
        raise BadFile(
            "the workbook contains XML declarations (DOCTYPE or ENTITY) that Excel "
            "and LibreOffice never write; it was refused to protect the service"
        )


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _parse(content: bytes) -> ElementTree.Element:
    try:
        return ElementTree.fromstring(content)
    except ElementTree.ParseError:
        raise BadFile(DAMAGED) from None


def _relationships(content: bytes) -> dict[str, tuple[str, str]]:
    """A relationships part as id -> (type, target part name inside the package)."""
    found = {}
    for node in _parse(content):
        if _local(node.tag) != "Relationship" or node.get("TargetMode") == "External":
            continue
        target = node.get("Target", "")
        name = (
            target[1:] if target.startswith("/") else normpath(join(dirname(WORKBOOK_PART), target))
        )
        found[node.get("Id", "")] = (node.get("Type", ""), name)
    return found


def _sheet_ids(content: bytes) -> dict[str, str]:
    """The workbook's sheets as name -> relationship id."""
    sheets = {}
    for node in _parse(content).iter():
        if _local(node.tag) == "sheet":
            ids = [value for key, value in node.attrib.items() if _local(key) == "id"]
            if ids:
                sheets[node.get("name", "")] = ids[0]
    return sheets


def unpack_workbook(data: bytes, wanted_sheets: Collection[str]) -> bytes:
    """A clean copy of the package with only the parts an upload reads, checked and bounded.

    Kept: the content types, the sheet list and its relationships, styles, shared strings
    and the worksheets named in wanted_sheets. Everything else (other sheets, drawings,
    comments, printer settings...) is only checked for damage, a chunk at a time, and
    dropped.
    """
    try:
        with zipfile.ZipFile(BytesIO(data)) as package:
            entries = package.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError):
        raise BadFile(DAMAGED) from None
    if len(entries) > MAX_ENTRIES:
        raise BadFile(
            f"the workbook holds {len(entries)} parts, more than the {MAX_ENTRIES} "
            "accepted; upload the workbook downloaded from this assessment"
        )
    # Every part is inflated at most to its declared size, so this bounds the whole package.
    if sum(entry.file_size for entry in entries) > MAX_UNPACKED_BYTES:
        raise _too_big("the workbook", MAX_UNPACKED_BYTES)
    by_name = {entry.filename: entry for entry in entries}
    if any(name.lower().endswith("vbaproject.bin") for name in by_name):
        raise BadFile(MACROS)
    if CONTENT_TYPES not in by_name or WORKBOOK_PART not in by_name:
        raise BadFile(NOT_A_WORKBOOK)
    if any(entry.flag_bits & 0x1 for entry in entries):
        raise BadFile("the workbook is encrypted; remove the password and save it again")

    parts: dict[str, bytes] = {}

    def read(name: str, *, small: bool = False) -> bytes:
        entry = by_name[name]
        if small and entry.file_size > MAX_INDEX_PART_BYTES:
            raise _too_big(f"the workbook's part '{name[:80]}'", MAX_INDEX_PART_BYTES)
        content = _inflate(data, entry)
        _refuse_declarations(content)
        if content.count(b"<") > MAX_PART_TAGS:
            raise BadFile(
                f"the workbook's part '{name[:80]}' holds more than {MAX_PART_TAGS} XML "
                "tags, far more than an assessment needs; it was refused to protect the service"
            )
        parts[name] = content
        return content

    if b"macroenabled" in read(CONTENT_TYPES, small=True).lower():
        raise BadFile(MACROS)
    sheets = _sheet_ids(read(WORKBOOK_PART, small=True))
    relationships = {}
    if WORKBOOK_RELS in by_name:
        relationships = _relationships(read(WORKBOOK_RELS, small=True))
    if STYLES_PART in by_name:
        read(STYLES_PART, small=True)
    targets = [name for kind, name in relationships.values() if kind.endswith("/sharedStrings")]
    for sheet_name, relationship_id in sheets.items():
        kind, name = relationships.get(relationship_id, ("", ""))
        if sheet_name in wanted_sheets and kind.endswith("/worksheet"):
            targets.append(name)
    for name in targets:
        if name in by_name and name not in parts:
            read(name)
    # The parts not read are still checked, a chunk at a time: damage anywhere means the
    # copy was cut short or altered, and the answers in it cannot be trusted either.
    for entry in entries:
        if entry.filename not in parts and not entry.is_dir():
            _inflate(data, entry, keep=False)

    clean = BytesIO()
    with zipfile.ZipFile(clean, "w", zipfile.ZIP_STORED) as copy:
        for name, content in parts.items():
            copy.writestr(name, content)
    return clean.getvalue()
