"""Bad uploads get a clear error naming the problem, and change nothing at all."""

from __future__ import annotations

import zipfile
from io import BytesIO

import pytest
from openpyxl import Workbook, load_workbook

from app.portability import package, service
from app.portability import workbook as wb
from tests.portability.conftest import (
    download,
    download_bytes,
    put_answer,
    row_of,
    snapshot,
    to_bytes,
    upload,
)

KEY = "leadership.national-strategy"


def rezip(data: bytes, *, replace: dict[str, bytes] | None = None, add=()) -> bytes:
    """The package in data with some parts replaced and others added."""
    replace = replace or {}
    out = BytesIO()
    with (
        zipfile.ZipFile(BytesIO(data)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for entry in source.infolist():
            target.writestr(entry.filename, replace.get(entry.filename, source.read(entry)))
        for name, content in add:
            target.writestr(name, content)
    return out.getvalue()


def set_setting(data: bytes, key: str, value) -> bytes:
    book = load_workbook(BytesIO(data))
    for row in book[wb.DATA_SHEET].iter_rows(min_row=2):
        if row[0].value == "setting" and row[1].value == key:
            row[2].value = value
    return to_bytes(book)


def with_formula(data: bytes) -> bytes:
    book = load_workbook(BytesIO(data))
    ws = book["Policy and legislation"]
    ws[f"D{row_of(ws, KEY)}"] = '=IF(1=1,"3 - Established","0")'
    return to_bytes(book)


def xml_bomb(data: bytes) -> bytes:
    with zipfile.ZipFile(BytesIO(data)) as package:
        sheet = package.read("xl/worksheets/sheet2.xml")
    entities = '<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">' + "".join(
        f'<!ENTITY {n} "{("&" + p + ";") * 10}">'
        for p, n in zip("abcdefgh", "bcdefghi", strict=True)
    )
    declaration, separator, rest = sheet.partition(b"?>")
    head, body = (declaration + separator, rest) if separator else (b"", sheet)
    bomb = head + entities.encode() + b"]>" + body
    return rezip(data, replace={"xl/worksheets/sheet2.xml": bomb})


def zip_bomb(data: bytes) -> bytes:
    return rezip(data, add=[("xl/media/filler.bin", b"\0" * (package.MAX_UNPACKED_BYTES + 1))])


def many_parts(data: bytes) -> bytes:
    return rezip(data, add=[(f"xl/extra/part{i}.txt", b"x") for i in range(package.MAX_ENTRIES)])


def plain_workbook(_: bytes) -> bytes:
    book = Workbook()
    book.active["A1"] = "answers"
    return to_bytes(book)


def word_document(_: bytes) -> bytes:
    out = BytesIO()
    with zipfile.ZipFile(out, "w") as package:
        package.writestr("[Content_Types].xml", "<Types/>")
        package.writestr("word/document.xml", "<document/>")
    return out.getvalue()


BAD_FILES = {
    "text": (lambda data: b"capability,level\nleadership,3\n", "not an Excel workbook"),
    "empty": (lambda data: b"", "the file is empty"),
    "old excel": (
        lambda data: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600,
        "Excel 97-2003",
    ),
    "truncated": (lambda data: data[: len(data) // 2], "damaged or incomplete"),
    "corrupted": (
        lambda data: data[:2000] + bytes(b ^ 0x55 for b in data[2000:4000]) + data[4000:],
        "damaged",
    ),
    "other document": (word_document, "not an Excel workbook"),
    "not ours": (plain_workbook, "not downloaded from gsr-assess"),
    "other catalogue": (
        lambda data: set_setting(data, "catalogue_hash", "sha256:" + "0" * 64),
        "another catalogue",
    ),
    "newer layout": (
        lambda data: set_setting(data, "format_version", 2),
        "layout version 2",
    ),
    "formula": (with_formula, "formulas are not accepted"),
    "macros": (lambda data: rezip(data, add=[("xl/vbaProject.bin", b"\0" * 64)]), "macro"),
    "xml bomb": (xml_bomb, "DOCTYPE or ENTITY"),
    "zip bomb": (zip_bomb, "unpacks to more than"),
    "many parts": (many_parts, "parts, more than"),
}


@pytest.fixture
def filled(world, client, new_assessment):
    assessment_id = new_assessment("B")
    put_answer(world, "coordinator", assessment_id, KEY, level=1)
    world.put(
        "coordinator", f"/api/v1/assessments/{assessment_id}/targets/leadership", {"level": 2}
    )
    return assessment_id


@pytest.mark.parametrize("name", list(BAD_FILES))
def test_bad_file_is_refused_and_changes_nothing(world, client, filled, name):
    make, expected = BAD_FILES[name]
    data = make(download_bytes(world, "coordinator", filled))
    before = snapshot(client, filled)
    response = upload(world, "coordinator", filled, data)
    assert response.status_code == 422, response.text
    assert expected in response.json()["error"]["message"]
    assert snapshot(client, filled) == before


def test_macro_enabled_file_name_is_refused(world, client, filled):
    data = download_bytes(world, "coordinator", filled)
    before = snapshot(client, filled)
    response = upload(world, "coordinator", filled, data, name="answers.xlsm")
    assert response.status_code == 422
    assert "macro-enabled workbooks (.xlsm)" in response.json()["error"]["message"]
    assert snapshot(client, filled) == before


def test_formula_cells_are_listed(world, client, filled):
    response = upload(
        world, "coordinator", filled, with_formula(download_bytes(world, "coordinator", filled))
    )
    error = response.json()["error"]
    book = download(world, "coordinator", filled)
    assert error["cells"] == [
        f"Policy and legislation!D{row_of(book['Policy and legislation'], KEY)}"
    ]


def test_another_assessments_workbook_is_refused(world, client, filled, new_assessment):
    other = new_assessment("Y")
    data = download_bytes(world, "coordinator", other)
    before = snapshot(client, filled)
    response = upload(world, "coordinator", filled, data)
    assert response.status_code == 422
    message = response.json()["error"]["message"]
    assert "belongs to another assessment" in message and f"Y{world.tag}" in message
    assert snapshot(client, filled) == before


def test_oversized_upload_is_refused_while_reading(world, client, filled, monkeypatch):
    before = snapshot(client, filled)
    huge = b"PK\x03\x04" + b"\0" * service.MAX_UPLOAD_BYTES
    response = upload(world, "coordinator", filled, huge)
    assert response.status_code == 413
    assert "larger than the 5 MB accepted" in response.json()["error"]["message"]
    # Without a declared length too: the limit holds while the stream is read.
    monkeypatch.setattr(service, "MAX_UPLOAD_BYTES", 1000)
    response = world.client.post(
        f"/api/v1/assessments/{filled}/workbook",
        content=iter([b"PK\x03\x04" + b"\0" * 40_000] * 3),
        headers=world.headers("coordinator") | {"content-type": "application/octet-stream"},
    )
    assert response.status_code == 413
    assert snapshot(client, filled) == before


def test_a_raw_body_upload_works_too(world, client, filled):
    book = download(world, "coordinator", filled)
    ws = book["Policy and legislation"]
    ws[f"D{row_of(ws, KEY)}"] = "2 - Developing"
    response = world.client.post(
        f"/api/v1/assessments/{filled}/workbook?filename=mine.xlsx",
        content=to_bytes(book),
        headers=world.headers("coordinator") | {"content-type": wb_content_type()},
    )
    assert response.status_code == 201, response.text
    assert response.json()["file_name"] == "mine.xlsx"
    assert [c["key"] for c in response.json()["changes"]] == [KEY]


def wb_content_type() -> str:
    return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def test_read_only_assessment_refuses_uploads(world, client, new_assessment):
    assessment_id = new_assessment("Q")
    catalogue = client.app.state.catalogue.catalogue
    data = download_bytes(world, "coordinator", assessment_id)
    for capability_id, indicator_id in catalogue.indicator_keys():
        put_answer(world, "coordinator", assessment_id, f"{capability_id}.{indicator_id}", level=2)
    signoff = {"name": "Amina Diallo", "position": "Permanent Secretary", "date": "2026-01-05"}
    submitted = world.post("coordinator", f"/api/v1/assessments/{assessment_id}/submit", signoff)
    assert submitted.status_code == 200, submitted.text
    before = snapshot(client, assessment_id)
    response = upload(world, "coordinator", assessment_id, data)
    assert response.status_code == 403
    assert "submitted and read-only" in response.json()["error"]["message"]
    assert snapshot(client, assessment_id) == before
