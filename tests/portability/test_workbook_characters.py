"""Answers holding characters XML cannot hold still export to a workbook that reads back."""

from __future__ import annotations

from datetime import UTC, datetime
from io import BytesIO

from openpyxl import load_workbook
from sqlalchemy import select

from app.assessments.models import Answer
from app.portability import workbook as wb
from tests.portability.conftest import (
    download_bytes,
    history_of,
    put_answer,
    row_of,
    snapshot,
    to_bytes,
    upload,
)

KEY = "leadership.national-strategy"
OTHER = "leadership.coordination"
POLICY = "Policy and legislation"
# A bell, a vertical tab, NUL, the two non-characters and a lone surrogate.
UNHOLDABLE = "\x07\x0b\x00\ufffe\uffff\ud800"


def workbook_of(catalogue, content_hash: str, answers: dict) -> bytes:
    return wb.build_workbook(
        wb.WorkbookData(
            assessment_id=7,
            country_code="XAA",
            country_name="Arvenia\x01",
            cycle="2026",
            status="in_progress",
            catalogue=catalogue,
            catalogue_hash=content_hash,
            answers=answers,
            targets={},
            editable_areas=frozenset(area.id for area in catalogue.areas),
            is_coordinator=True,
            exported_at=datetime.now(UTC),
            exported_by_id=1,
        )
    )


def test_unholdable_characters_are_replaced_and_the_workbook_reads_back(client):
    loaded = client.app.state.catalogue
    catalogue = loaded.catalogue
    content = {
        "response": "level",
        "level": 2,
        "justification": f"Decree{UNHOLDABLE}",
        "evidence_notes": f"Line one\tand\r\nline two{UNHOLDABLE}end",
        "evidence_links": [f"https://example.org/a{UNHOLDABLE}", "https://example.org/b"],
        "confidence": "documented",
    }
    clean = {"response": "unknown", "level": None, "evidence_notes": "Nothing odd"}
    data = workbook_of(catalogue, loaded.content_hash, {KEY: (content, 3), OTHER: (clean, 1)})

    # Other programs read it: openpyxl in full, as Excel would.
    book = load_workbook(BytesIO(data))
    ws = book[POLICY]
    row = row_of(ws, KEY)
    replaced = "\ufffd" * len(UNHOLDABLE)
    assert ws[f"E{row}"].value == f"Decree{replaced}"
    # Tab and line breaks are kept; a CR LF is written as the line feed XML reads back.
    assert ws[f"F{row}"].value == f"Line one\tand\nline two{replaced}end"
    assert ws[f"G{row}"].value == f"https://example.org/a{replaced}\nhttps://example.org/b"
    readme = "\n".join(str(c.value) for (c,) in book[wb.README_SHEET].iter_rows() if c.value)
    assert "Characters a workbook cannot hold" in readme
    assert f"{POLICY}!E{row}, {POLICY}!F{row}, {POLICY}!G{row}." in readme
    assert f"{POLICY}!F{row_of(ws, OTHER)}" not in readme
    assert "Country: Arvenia\ufffd (XAA)" in readme

    # And this application reads it back: no problem, and the row counts as untouched.
    read, meta = wb.open_workbook(data, catalogue)
    try:
        contents = wb.read_contents(read, catalogue, meta.locale)
    finally:
        read.close()
    assert contents.problems == []
    (found,) = [r for r in contents.rows if r.row.key == KEY]
    parsed = wb.parse_answer(found, catalogue, meta.locale)
    assert parsed.kind == "answer"
    assert parsed.content == wb.comparable(content)


def test_a_clean_workbook_says_nothing_about_characters(client):
    loaded = client.app.state.catalogue
    answers = {KEY: ({"response": "level", "level": 1, "evidence_notes": "Fine"}, 1)}
    book = load_workbook(BytesIO(workbook_of(loaded.catalogue, loaded.content_hash, answers)))
    readme = " ".join(str(c.value) for (c,) in book[wb.README_SHEET].iter_rows() if c.value)
    assert "cannot hold" not in readme


def store_odd_notes(client, assessment_id: int, key: str, notes: str) -> None:
    """Rows stored before the form refused such characters: written straight to the table."""
    capability_id, indicator_id = key.split(".")
    with client.app.state.sessionmaker.begin() as session:
        answer = session.scalar(
            select(Answer).where(
                Answer.assessment_id == assessment_id,
                Answer.capability_id == capability_id,
                Answer.indicator_id == indicator_id,
            )
        )
        answer.evidence_notes = notes
        answer.justification = f"Old{notes}"


def test_stored_unholdable_characters_survive_a_round_trip(world, client, new_assessment):
    assessment_id = new_assessment("C")
    put_answer(world, "coordinator", assessment_id, KEY, level=1)
    notes = "Budget line \x07 and \uffff here\r\ntyped in the web form"
    store_odd_notes(client, assessment_id, KEY, notes)
    data = download_bytes(world, "coordinator", assessment_id)

    # Uploaded as downloaded: it reads, and nothing changes.
    response = upload(world, "coordinator", assessment_id, data)
    assert response.status_code == 201, response.text
    preview = response.json()
    assert (preview["changes"], preview["conflicts"], preview["problems"]) == ([], [], [])

    # A new level in that row is saved; the notes left as they were keep their characters.
    book = load_workbook(BytesIO(data))
    ws = book[POLICY]
    ws[f"D{row_of(ws, KEY)}"] = "3 - Established"
    response = upload(world, "coordinator", assessment_id, to_bytes(book))
    assert response.status_code == 201, response.text
    (change,) = response.json()["changes"]
    assert [field["field"] for field in change["fields"]] == ["level"]
    applied = world.post(
        "coordinator",
        f"/api/v1/assessments/{assessment_id}/imports/{response.json()['import_id']}/apply",
    )
    assert applied.status_code == 200, applied.text
    version, content, _ = snapshot(client, assessment_id)["answers"][KEY]
    assert (version, content["level"]) == (2, 3)
    assert content["evidence_notes"] == notes
    assert content["justification"] == f"Old{notes}"
    assert history_of(client, assessment_id, KEY)[-1].source == "workbook"
