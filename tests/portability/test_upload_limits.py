"""Uploads cannot exhaust the server: bounded unpacking, bounded parsing, nothing written."""

from __future__ import annotations

import json
import struct
import tracemalloc
import zipfile
import zlib
from datetime import UTC, datetime
from io import BytesIO

import pytest
from openpyxl import load_workbook

from app.core.errors import Invalid
from app.portability import exchange, package
from app.portability import workbook as wb
from tests.portability.conftest import (
    download_bytes,
    put_answer,
    row_of,
    snapshot,
    to_bytes,
    upload,
)

KEY = "leadership.national-strategy"
POLICY = "Policy and legislation"
MB = 1024 * 1024


def zeros_deflated(size_mb: int) -> bytes:
    """Raw deflate data inflating to size_mb MiB of zeros, made in milliseconds.

    Each fully flushed block of a MiB of zeros compresses to the same bytes, so the
    stream is one block repeated and an empty final block.
    """
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    block = bytes(MB)
    compressor.compress(block)
    first = compressor.flush(zlib.Z_FULL_FLUSH)
    compressor.compress(block)
    repeated = compressor.flush(zlib.Z_FULL_FLUSH)
    return first + repeated * (size_mb - 1) + compressor.flush()


def lying_package(source: bytes, name: str, inflated_mb: int) -> bytes:
    """The package in source with the part name (added or replaced) a lying zip bomb.

    Its headers declare 4 KiB; its data inflates to inflated_mb MiB. Every other part is
    copied honestly. Written by hand: zipfile computes true sizes.
    """
    with zipfile.ZipFile(BytesIO(source)) as original:
        parts = [
            (entry.filename, original.read(entry))
            for entry in original.infolist()
            if entry.filename != name
        ]
    entries = []
    for part_name, content in parts:
        compressor = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
        raw = compressor.compress(content) + compressor.flush()
        entries.append((part_name, raw, len(content), zlib.crc32(content)))
    bomb = zeros_deflated(inflated_mb)
    entries.append((name, bomb, 4096, zlib.crc32(bytes(4096))))

    out = BytesIO()
    directory = []
    for part_name, raw, declared, crc in entries:
        encoded = part_name.encode()
        offset = out.tell()
        sizes = (crc, len(raw), declared, len(encoded))
        out.write(struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 8, 0, 0x21, *sizes, 0))
        out.write(encoded + raw)
        central = struct.pack(
            "<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 8, 0, 0x21, *sizes, 0, 0, 0, 0, 0, offset
        )
        directory.append(central + encoded)
    start = out.tell()
    out.write(b"".join(directory))
    count, size = len(entries), out.tell() - start
    out.write(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, count, count, size, start, 0))
    return out.getvalue()


def peak_memory_of(call):
    """What call returns, and the most memory Python held meanwhile beyond what it held before."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before, _ = tracemalloc.get_traced_memory()
        result = call()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak - before


@pytest.fixture
def filled(world, client, new_assessment):
    assessment_id = new_assessment("Z")
    put_answer(world, "coordinator", assessment_id, KEY, level=1)
    return assessment_id


@pytest.mark.parametrize(
    "part",
    [
        "xl/worksheets/sheet2.xml",  # an area sheet, which is read
        "xl/media/image1.png",  # a part no upload reads, checked all the same
    ],
)
def test_a_lying_zip_bomb_is_refused_in_bounded_memory(world, client, filled, part):
    bomb = lying_package(download_bytes(world, "coordinator", filled), part, inflated_mb=1024)
    assert len(bomb) < 2 * MB
    with zipfile.ZipFile(BytesIO(bomb)) as check:  # what the headers claim
        assert sum(entry.file_size for entry in check.infolist()) < MB
    before = snapshot(client, filled)

    response, grown = peak_memory_of(lambda: upload(world, "coordinator", filled, bomb))

    assert response.status_code == 422, response.text
    message = response.json()["error"]["message"]
    assert f"its part '{part}' unpacks to more than the size its header declares" in message
    assert grown < 100 * MB, f"{grown / MB:.0f} MB grown while refusing a zip bomb"
    assert snapshot(client, filled) == before


def biggest_workbook(catalogue, content_hash: str, locale: str) -> bytes:
    """Every indicator answered to the limits of the form, in Arabic script, long links."""
    letter = "\u0639"
    answers = {
        f"{capability_id}.{indicator_id}": (
            {
                "response": "level",
                "level": 3,
                "justification": (letter * 9 + " ") * 500,
                "evidence_notes": (letter * 9 + " ") * 10_000,
                "evidence_links": [f"https://example.org/{letter * 1970}" for _ in range(20)],
                "confidence": "documented",
            },
            99_999,
        )
        for capability_id, indicator_id in catalogue.indicator_keys()
    }
    return wb.build_workbook(
        wb.WorkbookData(
            assessment_id=999_999,
            country_code="XAA",
            country_name="Country " * 20,
            cycle="2026-2027",
            status="in_progress",
            catalogue=catalogue,
            catalogue_hash=content_hash,
            answers=answers,
            targets={capability.id: (4, 999) for capability in catalogue.capabilities()},
            editable_areas=frozenset(area.id for area in catalogue.areas),
            is_coordinator=True,
            exported_at=datetime.now(UTC),
            exported_by_id=1,
            locale=locale,
        )
    )


def test_the_biggest_workbook_the_product_writes_is_read_back(client):
    loaded = client.app.state.catalogue
    catalogue = loaded.catalogue
    data = biggest_workbook(catalogue, loaded.content_hash, "ar")
    with zipfile.ZipFile(BytesIO(data)) as written:
        unpacked = sum(entry.file_size for entry in written.infolist())
    # The limit has room for it, and is not far above it.
    assert 0.6 * package.MAX_UNPACKED_BYTES < unpacked < package.MAX_UNPACKED_BYTES

    (book, meta), grown = peak_memory_of(lambda: wb.open_workbook(data, catalogue, "big.xlsx"))
    try:
        contents = wb.read_contents(book, catalogue, meta.locale)
    finally:
        book.close()
    assert meta.assessment_id == 999_999 and meta.locale == "ar"
    assert contents.problems == []
    answers = [row for row in contents.rows if row.row.indicator_id is not None]
    assert len(answers) == len(list(catalogue.indicator_keys()))
    assert all(len(row.values[wb.NOTES]) == wb.CELL_LIMIT for row in answers)
    assert grown < 100 * MB


def test_a_sheet_with_too_much_markup_is_refused_before_parsing(world, client, filled):
    data = download_bytes(world, "coordinator", filled)
    with zipfile.ZipFile(BytesIO(data)) as original:
        sheet = original.read("xl/worksheets/sheet2.xml")
    cells = b"".join(b'<c r="A%d"/>' % n for n in range(100, 100 + package.MAX_PART_TAGS))
    stuffed = sheet.replace(b"</sheetData>", b'<row r="100">' + cells + b"</row></sheetData>")
    bad = rezip(data, {"xl/worksheets/sheet2.xml": stuffed})
    before = snapshot(client, filled)
    response = upload(world, "coordinator", filled, bad)
    assert response.status_code == 422, response.text
    assert (
        f"part 'xl/worksheets/sheet2.xml' holds more than {package.MAX_PART_TAGS} XML tags"
        in response.json()["error"]["message"]
    )
    assert snapshot(client, filled) == before


def test_sheets_and_rows_outside_the_layout_are_not_read(world, client, filled):
    book = load_workbook(BytesIO(download_bytes(world, "coordinator", filled)))
    ws = book[POLICY]
    ws[f"D{row_of(ws, KEY)}"] = "2 - Developing"
    ws.cell(row=ws.max_row + 40, column=4, value="=1/0")  # far below the last indicator
    ws.cell(row=2, column=30, value="=NOW()")  # far right of the table
    scratch = book.create_sheet("Scratch")
    scratch["A1"] = "=SUM(B1:B9)"
    response = upload(world, "coordinator", filled, to_bytes(book))
    assert response.status_code == 201, response.text
    preview = response.json()
    assert [change["key"] for change in preview["changes"]] == [KEY]
    assert preview["problems"] == []


def rezip(data: bytes, replace: dict[str, bytes]) -> bytes:
    out = BytesIO()
    with (
        zipfile.ZipFile(BytesIO(data)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for entry in source.infolist():
            target.writestr(entry.filename, replace.get(entry.filename, source.read(entry)))
    return out.getvalue()


# ---------------------------------------------------------------- JSON documents


def document(**extra) -> dict:
    return {"format": exchange.FORMAT, "format_version": exchange.FORMAT_VERSION, **extra}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            json.dumps(document(answers=[{}] * (exchange.MAX_ITEMS + 1))).encode(),
            f"more than {exchange.MAX_ITEMS} values",
        ),
        (
            json.dumps(document(comments=[])).encode().replace(b"[]", b"[" * 100 + b"]" * 100),
            "nests values more than 16 levels deep",
        ),
        (b" " * (exchange.MAX_DOCUMENT_BYTES + 1), "larger than the 20 MB accepted"),
    ],
    ids=["many values", "deep nesting", "too large"],
)
def test_json_documents_are_bounded_before_parsing(text, expected):
    def parse():
        try:
            exchange.parse_document(text)
        except Invalid as error:
            return error.message
        return None

    message, grown = peak_memory_of(parse)
    assert message is not None and expected in message
    # No object was built for the values: the text itself is all the memory used.
    assert grown < len(text) * 3 + 10 * MB


def test_brackets_and_commas_inside_strings_do_not_count():
    notes = "[{" * 100 + "," * (exchange.MAX_ITEMS + 1)
    with pytest.raises(Invalid) as refused:
        exchange.parse_document(json.dumps(document(exported_by=notes)))
    # Read past the shape checks: refused for what the format says, not for its shape.
    assert "does not follow format version 1" in refused.value.message


def test_a_bounded_json_import_changes_nothing(world, client):
    text = json.dumps(document(answers=[[]] * (exchange.MAX_ITEMS + 1))).encode()
    response = world.client.post(
        "/api/v1/assessments/import",
        content=text,
        headers=world.headers("secretariat") | {"content-type": "application/json"},
    )
    assert response.status_code == 422, response.text
    assert "values, far more than an assessment export" in response.json()["error"]["message"]
