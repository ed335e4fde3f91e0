"""Workbooks: the layout officials see, and a filled workbook coming back as a preview."""

from __future__ import annotations

import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from openpyxl.worksheet.datavalidation import DataValidation

from app.portability import workbook as wb
from tests.portability.conftest import (
    download,
    download_bytes,
    history_of,
    put_answer,
    row_of,
    snapshot,
    to_bytes,
    upload,
)

POLICY = "Policy and legislation"
JUSTICE = "Criminal justice"
A = "leadership.national-strategy"
B = "leadership.accountable-lead"
C = "leadership.coordination"
D = "leadership.dedicated-budget"
E = "threat-assessment.national-threat-assessment"
J = "dedicated-officers.specialist-unit"  # criminal justice area


def validations_of(ws) -> dict[str, DataValidation]:
    found = {}
    for validation in ws.data_validations.dataValidation:
        for cell_range in validation.sqref.ranges:
            found[cell_range.coord] = validation
    return found


def test_workbook_layout(world, client, new_assessment):
    assessment_id = new_assessment("L")
    put_answer(
        world,
        "coordinator",
        assessment_id,
        A,
        level=2,
        justification="Adopted in 2024",
        evidence_links=["https://example.org/plan"],
        confidence="documented",
    )
    world.put(
        "coordinator", f"/api/v1/assessments/{assessment_id}/targets/leadership", {"level": 3}
    )
    book = download(world, "coordinator", assessment_id)
    catalogue = client.app.state.catalogue.catalogue

    assert book.sheetnames[0] == "Read me"
    assert book.sheetnames[1:-1] == [area.title.get("en") for area in catalogue.areas]
    assert book.sheetnames[-1] == wb.DATA_SHEET
    assert book[wb.DATA_SHEET].sheet_state == "veryHidden"
    assert book.security.lockStructure
    readme_text = "\n".join(str(c.value) for c in book["Read me"]["A"] if c.value)
    assert "How to fill in this workbook" in readme_text
    assert "Not applicable" in readme_text and "confidential" in readme_text

    meta = {
        key: value
        for kind, key, value, _ in book[wb.DATA_SHEET].iter_rows(min_row=2, values_only=True)
        if kind == "setting"
    }
    assert meta["format"] == "gsr-assess/workbook" and meta["format_version"] == 1
    assert meta["assessment_id"] == assessment_id
    assert (meta["country_code"], meta["cycle"]) == ("XAA", f"L{world.tag}")
    assert meta["catalogue_version"] == catalogue.version
    assert meta["catalogue_hash"] == client.app.state.catalogue.content_hash
    assert meta["exported_at"].startswith("20")
    versions = {
        key: value
        for kind, key, value, _ in book[wb.DATA_SHEET].iter_rows(min_row=2, values_only=True)
        if kind == "answer"
    }
    assert len(versions) == len(catalogue.indicator_keys())
    assert versions[A] == 1 and versions[B] == 0

    ws = book[POLICY]
    assert ws.freeze_panes == "A2"
    assert ws.protection.sheet is True
    assert [ws.cell(1, column).value for column in range(1, 10)] == list(wb.HEADERS.values())
    assert ws.column_dimensions["C"].width >= 60
    row = row_of(ws, A)
    assert ws[f"D{row}"].value == "2 - Developing"
    assert ws[f"E{row}"].value == "Adopted in 2024"
    assert ws[f"G{row}"].value == "https://example.org/plan"
    assert ws[f"H{row}"].value == "Documented"
    descriptors = ws[f"C{row}"]
    assert descriptors.value.startswith("0 - Not in place: ")
    assert "4 - Mature: " in descriptors.value
    assert descriptors.alignment.wrap_text and descriptors.protection.locked
    assert ws[f"A{row}"].protection.locked and ws[f"B{row}"].protection.locked
    for column in "DEFGH":
        assert ws[f"{column}{row}"].protection.locked is False
    capability_row = row_of(ws, "leadership")
    assert ws[f"I{capability_row}"].value == "3 - Established"
    assert ws[f"I{capability_row}"].protection.locked is False
    assert ws[f"D{capability_row}"].protection.locked

    validations = validations_of(ws)
    answers_list = validations[f"D{row}"]
    assert answers_list.type == "list"
    assert answers_list.formula1 == (
        '"0 - Not in place,1 - Building,2 - Developing,3 - Established,4 - Mature,'
        'Not applicable,Unknown"'
    )
    assert validations[f"H{row}"].formula1 == '"Self-reported,Documented,Verified"'
    assert validations[f"I{capability_row}"].formula1.startswith('"0 - Not in place,')


def fill_in(ws, key: str, answer: str, **columns: str) -> None:
    row = row_of(ws, key)
    ws[f"D{row}"] = answer
    for column, value in columns.items():
        ws[f"{column}{row}"] = value


def test_round_trip_applies_exactly_the_workbook_changes(world, client, new_assessment):
    assessment_id = new_assessment("R")
    put_answer(world, "coordinator", assessment_id, A, level=1)
    put_answer(world, "coordinator", assessment_id, B, level=2, evidence_notes="Decree 12")
    book = download(world, "coordinator", assessment_id)
    ws = book[POLICY]
    fill_in(ws, A, "3 - Established", F="Cabinet decision 2025/7", H="Verified")
    fill_in(
        ws,
        C,
        "2 - Developing",
        E="Committee meets quarterly",
        G="https://example.org/minutes\nhttps://example.org/terms",
    )
    fill_in(ws, D, "Not applicable", E="Funded entirely from the general budget")
    fill_in(ws, E, "Unknown")
    ws[f"I{row_of(ws, 'leadership')}"] = "4 - Mature"
    before = snapshot(client, assessment_id)

    response = upload(world, "coordinator", assessment_id, to_bytes(book))
    assert response.status_code == 201, response.text
    preview = response.json()
    assert preview["problems"] == [] and preview["conflicts"] == []
    changes = {change["key"]: change for change in preview["changes"]}
    assert set(changes) == {A, C, D, E, "target:leadership"}
    assert changes[A]["cell"] == f"{POLICY}!D{row_of(ws, A)}"
    assert {f["field"]: (f["old"], f["new"]) for f in changes[A]["fields"]} == {
        "level": (1, 3),
        "evidence_notes": ("", "Cabinet decision 2025/7"),
        "confidence": (None, "verified"),
    }
    assert changes[C]["old"] is None
    assert changes[C]["new"]["evidence_links"] == [
        "https://example.org/minutes",
        "https://example.org/terms",
    ]
    assert changes["target:leadership"]["fields"] == [{"field": "level", "old": None, "new": 4}]
    # Nothing is saved before the user applies; the preview is kept for the decision.
    assert snapshot(client, assessment_id) == before | {"imports": before["imports"] + 1}

    base = f"/api/v1/assessments/{assessment_id}/imports/{preview['import_id']}"
    applied = world.post("coordinator", f"{base}/apply", {})
    assert applied.status_code == 200, applied.text
    assert applied.json()["status"] == "applied"

    after = snapshot(client, assessment_id)
    answers = {key: (version, content) for key, (version, content, _) in after["answers"].items()}
    assert set(answers) == {A, B, C, D, E}
    assert answers[A] == (
        2,
        {
            "response": "level",
            "level": 3,
            "justification": "",
            "evidence_notes": "Cabinet decision 2025/7",
            "evidence_links": [],
            "confidence": "verified",
        },
    )
    assert answers[B] == before["answers"][B][:2]
    assert answers[C][1]["justification"] == "Committee meets quarterly"
    assert answers[D][1]["response"] == "not_applicable"
    assert answers[D][1]["justification"] == "Funded entirely from the general budget"
    assert answers[E][1] == {
        "response": "unknown",
        "level": None,
        "justification": "",
        "evidence_notes": "",
        "evidence_links": [],
        "confidence": None,
    }
    assert after["targets"] == {"leadership": (4, 1)}
    assert after["history"] == before["history"] + 4
    assert [c.source for c in history_of(client, assessment_id, A)] == ["api", "workbook"]
    assert [c.source for c in history_of(client, assessment_id, C)] == ["workbook"]

    again = world.post("coordinator", f"{base}/apply", {})
    assert again.status_code == 409 and "already applied" in again.json()["error"]["message"]
    log = world.get("coordinator", f"/api/v1/assessments/{assessment_id}/audit").json()
    actions = [event["action"] for event in log]
    assert "assessment.workbook_applied" in actions
    assert "assessment.workbook_uploaded" in actions
    assert "assessment.exported" in actions

    # A workbook uploaded again unchanged has nothing left to change.
    fresh = download_bytes(world, "coordinator", assessment_id)
    unchanged = upload(world, "coordinator", assessment_id, fresh).json()
    assert (unchanged["changes"], unchanged["conflicts"], unchanged["problems"]) == ([], [], [])


def test_answers_changed_online_come_back_as_conflicts(world, client, new_assessment):
    assessment_id = new_assessment("C")
    put_answer(world, "coordinator", assessment_id, A, level=1)
    put_answer(world, "coordinator", assessment_id, B, level=1)
    put_answer(world, "coordinator", assessment_id, C, level=1)
    book = download(world, "coordinator", assessment_id)
    # Meanwhile, online: A and C change; the workbook changes A and B but leaves C alone.
    put_answer(world, "coordinator", assessment_id, A, version=1, level=2, justification="online")
    put_answer(world, "coordinator", assessment_id, C, version=1, level=4)
    ws = book[POLICY]
    fill_in(ws, A, "3 - Established")
    fill_in(ws, B, "3 - Established")

    preview = upload(world, "coordinator", assessment_id, to_bytes(book)).json()
    assert [c["key"] for c in preview["changes"]] == [B]
    assert [c["key"] for c in preview["conflicts"]] == [A]
    conflict = preview["conflicts"][0]
    assert (conflict["exported_version"], conflict["current_version"]) == (1, 2)
    assert {f["field"]: (f["current"], f["workbook"]) for f in conflict["fields"]} == {
        "level": (2, 3),
        "justification": ("online", ""),
    }
    before = snapshot(client, assessment_id)
    base = f"/api/v1/assessments/{assessment_id}/imports/{preview['import_id']}"
    assert world.post("coordinator", f"{base}/apply").status_code == 200
    after = snapshot(client, assessment_id)
    # The online answers stand; only B came from the workbook.
    assert after["answers"][A] == before["answers"][A]
    assert after["answers"][C] == before["answers"][C]
    assert after["answers"][B][0] == 2 and after["answers"][B][1]["level"] == 3

    # Uploaded again, the user takes the workbook's value for A explicitly.
    preview = upload(world, "coordinator", assessment_id, to_bytes(book)).json()
    assert [c["key"] for c in preview["conflicts"]] == [A] and preview["changes"] == []
    base = f"/api/v1/assessments/{assessment_id}/imports/{preview['import_id']}"
    unknown = world.post("coordinator", f"{base}/apply", {"take_workbook_for": ["nope.nope"]})
    assert unknown.status_code == 422 and "nope.nope" in unknown.json()["error"]["message"]
    taken = world.post("coordinator", f"{base}/apply", {"take_workbook_for": [A]})
    assert taken.status_code == 200, taken.text
    assert taken.json()["decision"] == {"taken_from_workbook": [A], "kept_online": []}
    version, content, _ = snapshot(client, assessment_id)["answers"][A]
    assert (version, content["level"], content["justification"]) == (3, 3, "")
    assert [c.source for c in history_of(client, assessment_id, A)] == ["api", "api", "workbook"]


def test_apply_is_all_or_nothing(world, client, new_assessment):
    assessment_id = new_assessment("N")
    put_answer(world, "coordinator", assessment_id, B, level=1)
    book = download(world, "coordinator", assessment_id)
    ws = book[POLICY]
    fill_in(ws, A, "2 - Developing")
    fill_in(ws, B, "3 - Established")
    ws[f"I{row_of(ws, 'leadership')}"] = "3 - Established"
    preview = upload(world, "coordinator", assessment_id, to_bytes(book)).json()
    assert len(preview["changes"]) == 3
    # B changes online after the preview: applying must save nothing at all, not even A.
    put_answer(world, "coordinator", assessment_id, B, version=1, level=4)
    before = snapshot(client, assessment_id)
    base = f"/api/v1/assessments/{assessment_id}/imports/{preview['import_id']}"
    refused = world.post("coordinator", f"{base}/apply")
    assert refused.status_code == 409
    assert "nothing was saved" in refused.json()["error"]["message"]
    assert snapshot(client, assessment_id) == before
    assert world.get("coordinator", base).json()["status"] == "pending"

    cancelled = world.post("coordinator", f"{base}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert world.post("coordinator", f"{base}/apply").status_code == 409
    assert snapshot(client, assessment_id)["answers"] == before["answers"]


def test_problems_name_the_cell_and_the_reason(world, client, new_assessment):
    assessment_id = new_assessment("P")
    put_answer(world, "coordinator", assessment_id, E, level=2)
    book = download(world, "coordinator", assessment_id)
    ws = book[POLICY]
    fill_in(ws, A, "7 - Perfect")
    fill_in(ws, B, "Not applicable")  # no justification
    fill_in(ws, C, "2 - Developing", G="ftp://files.example.org/plan.pdf")
    fill_in(ws, D, "1 - Building", H="Quite sure")
    row_e = row_of(ws, E)
    ws[f"D{row_e}"] = None  # removing an answer
    row_q = row_of(ws, "threat-assessment.cross-agency-data")
    ws[f"B{row_q}"] = "A friendlier question"  # a protected cell
    ws[f"D{row_q}"] = "3 - Established"
    fill_in(ws, "threat-assessment.evidence-use", "2 - Developing")  # valid
    row = {key: row_of(ws, key) for key in (A, B, C, D)}

    response = upload(world, "coordinator", assessment_id, to_bytes(book))
    assert response.status_code == 201, response.text
    preview = response.json()
    problems = {p["cell"]: p["reason"] for p in preview["problems"]}
    assert "is not an answer on the list" in problems[f"{POLICY}!D{row[A]}"]
    assert "'7 - Perfect'" in problems[f"{POLICY}!D{row[A]}"]
    assert "needs a justification" in problems[f"{POLICY}!E{row[B]}"]
    assert "http" in problems[f"{POLICY}!G{row[C]}"]
    assert "not a confidence on the list" in problems[f"{POLICY}!H{row[D]}"]
    assert "cannot be taken back" in problems[f"{POLICY}!D{row_e}"]
    assert "protected cell was changed" in problems[f"{POLICY}!B{row_q}"]
    assert len(problems) == 6
    assert [c["key"] for c in preview["changes"]] == ["threat-assessment.evidence-use"]


def test_contributors_import_only_their_areas_and_no_targets(world, client, new_assessment):
    assessment_id = new_assessment("K")
    assigned = world.post(
        "coordinator",
        f"/api/v1/assessments/{assessment_id}/assignments",
        {"area_id": "policy", "user_id": world.ids["contributor"]},
    )
    assert assigned.status_code == 201
    book = download(world, "contributor", assessment_id)
    readme = "\n".join(str(cell.value) for cell in book["Read me"]["A"] if cell.value)
    assert "you can change the answers in: Policy and legislation." in readme
    assert "You can also set targets" not in readme
    fill_in(book[POLICY], A, "2 - Developing")
    book[POLICY][f"I{row_of(book[POLICY], 'leadership')}"] = "4 - Mature"
    fill_in(book[JUSTICE], J, "3 - Established")
    preview = upload(world, "contributor", assessment_id, to_bytes(book)).json()
    assert [c["key"] for c in preview["changes"]] == [A]
    problems = {p["cell"]: p["reason"] for p in preview["problems"]}
    assert (
        "only the coordinator can set targets"
        in problems[f"{POLICY}!I{row_of(book[POLICY], 'leadership')}"]
    )
    assert "not assigned to you" in problems[f"{JUSTICE}!D{row_of(book[JUSTICE], J)}"]

    # Viewers and other countries cannot upload; other people's uploads are invisible.
    data = to_bytes(book)
    assert upload(world, "viewer", assessment_id, data).status_code == 403
    assert upload(world, "other_coordinator", assessment_id, data).status_code == 404
    base = f"/api/v1/assessments/{assessment_id}/imports/{preview['import_id']}"
    assert world.get("other_coordinator", base).status_code == 404
    assert world.post("coordinator", f"{base}/apply").status_code == 404
    assert world.post("contributor", f"{base}/apply").status_code == 200
    assert snapshot(client, assessment_id)["answers"][A][1]["level"] == 2


def test_other_country_cannot_download(world, client, new_assessment):
    assessment_id = new_assessment("O")
    response = world.get("other_coordinator", f"/api/v1/assessments/{assessment_id}/workbook.xlsx")
    assert response.status_code == 404
    assert f"O{world.tag}" not in response.text


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed")
def test_a_workbook_saved_by_libreoffice_reads_back_cleanly(
    world, client, new_assessment, tmp_path
):
    assessment_id = new_assessment("S")
    put_answer(world, "coordinator", assessment_id, A, level=1, evidence_notes="Line one\nTwo")
    book = download(world, "coordinator", assessment_id)
    fill_in(book[POLICY], B, "3 - Established", E="Set by decree")
    source = tmp_path / "filled.xlsx"
    source.write_bytes(to_bytes(book))
    out = tmp_path / "resaved"
    subprocess.run(
        [
            "soffice",
            f"-env:UserInstallation=file://{tmp_path / 'profile'}",
            "--headless",
            "--convert-to",
            "xlsx:Calc MS Excel 2007 XML",
            "--outdir",
            str(out),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    resaved = Path(out / "filled.xlsx").read_bytes()
    preview = upload(world, "coordinator", assessment_id, resaved).json()
    assert preview["problems"] == [] and preview["conflicts"] == []
    assert [(c["key"], c["new"]["level"]) for c in preview["changes"]] == [(B, 3)]


def test_two_applies_at_once_apply_once(world, client, new_assessment):
    assessment_id = new_assessment("T")
    put_answer(world, "coordinator", assessment_id, A, level=1)
    book = download(world, "coordinator", assessment_id)
    fill_in(book[POLICY], A, "2 - Developing")
    fill_in(book[POLICY], B, "3 - Established")
    preview = upload(world, "coordinator", assessment_id, to_bytes(book)).json()
    url = f"/api/v1/assessments/{assessment_id}/imports/{preview['import_id']}/apply"
    before = snapshot(client, assessment_id)
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda _: world.post("coordinator", url), range(2)))
    assert sorted(r.status_code for r in results) == [200, 409]
    after = snapshot(client, assessment_id)
    assert after["history"] == before["history"] + 2
    assert after["answers"][A][0] == 2 and after["answers"][B][0] == 1
