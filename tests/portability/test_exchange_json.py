"""A whole assessment moves to another installation as JSON and arrives identical."""

from __future__ import annotations

import copy
import json
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.assessments.models import ActionItem, Answer, AnswerChange, Assessment
from app.core import migrate
from app.core.config import Settings
from app.main import create_app
from tests.api_world import make_world
from tests.conftest import seed_demo_countries
from tests.portability.conftest import download, put_answer, row_of, to_bytes, upload

A = "leadership.national-strategy"
B = "legislation.material-offences"
C = "crisis-response.referral-pathway"


@pytest.fixture(scope="module")
def here(app_client):
    """This installation's users, shared by the tests of this module."""
    return make_world(app_client)


@pytest.fixture(scope="module")
def source(here):
    """An assessment with history from several sources, targets, action items, comments."""
    world, client = here, here.client
    created = world.post(
        "coordinator", "/api/v1/assessments", {"country_code": "XAA", "cycle": f"J{world.tag}"}
    )
    assert created.status_code == 201, created.text
    assessment_id = created.json()["id"]
    base = f"/api/v1/assessments/{assessment_id}"
    put_answer(world, "coordinator", assessment_id, A, level=1)
    put_answer(world, "coordinator", assessment_id, A, version=1, level=2, confidence="verified")
    put_answer(
        world,
        "coordinator",
        assessment_id,
        B,
        response="not_applicable",
        level=None,
        justification="Covered by the general penal code",
        evidence_links=["https://example.org/code"],
    )
    book = download(world, "coordinator", assessment_id)
    ws = book["Victim support and empowerment"]
    ws[f"D{row_of(ws, C)}"] = "3 - Established"
    ws[f"F{row_of(ws, C)}"] = "Referral protocol 2025"
    preview = upload(world, "coordinator", assessment_id, to_bytes(book)).json()
    applied = world.post("coordinator", f"{base}/imports/{preview['import_id']}/apply")
    assert applied.status_code == 200, applied.text
    world.put("coordinator", f"{base}/targets/leadership", {"level": 3})
    world.put("coordinator", f"{base}/targets/leadership", {"level": 4})
    world.put("coordinator", f"{base}/targets/legislation", {"level": 2})
    for body in (
        {"capability_id": "leadership", "body": "Ask the cabinet office for the decree."},
        {"capability_id": "legislation", "indicator_id": "material-offences", "body": "Check."},
    ):
        assert world.post("contributor", f"{base}/comments", body).status_code == 201
    with client.app.state.sessionmaker.begin() as session:
        session.add_all(
            [
                ActionItem(
                    assessment_id=assessment_id,
                    origin="catalogue",
                    capability_id="leadership",
                    step_level=3,
                    action_index=0,
                    title="Cost the national action plan",
                    detail="With the ministry of finance",
                    lead_sector="finance",
                    owner_agency="Ministry of Finance",
                    horizon="short",
                    due_date=date(2027, 3, 31),
                    status="in_progress",
                    notes="Draft with the cabinet",
                    position=1,
                    edited_by_user=True,
                    version=3,
                    cost_amount=2_500_000,
                    cost_currency="KES",
                    funding_source="National budget, 2027 vote",
                ),
                ActionItem(
                    assessment_id=assessment_id,
                    origin="manual",
                    title="Publish the first progress report",
                    horizon="long",
                    position=2,
                ),
            ]
        )
    return assessment_id


@pytest.fixture(scope="module")
def other_installation(database, make_database):
    """A second installation: a fresh database of the same backend, its own users."""
    fresh = make_database(database.backend)
    migrate.upgrade(fresh.url)
    seed_demo_countries(fresh.url)
    application = create_app(Settings(database_url=fresh.url))
    with TestClient(application) as client:
        yield make_world(client)


def export(world, who: str, assessment_id: int):
    return world.get(who, f"/api/v1/assessments/{assessment_id}/export.json")


def test_json_export_import_round_trip(here, source, other_installation):
    world, there = here, other_installation
    response = export(world, "coordinator", source)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    assert "attachment" in response.headers["content-disposition"]
    document = response.json()
    assert (document["format"], document["format_version"]) == ("gsr-assess/assessment", 1)
    assert [a["capability_id"] + "." + a["indicator_id"] for a in document["answers"]] == [A, B, C]
    sources = {
        a["indicator_id"]: [(h["version"], h["source"]) for h in a["history"]]
        for a in document["answers"]
    }
    assert sources == {
        "national-strategy": [(1, "api"), (2, "api")],
        "material-offences": [(1, "api")],
        "referral-pathway": [(1, "workbook")],
    }
    assert document["answers"][0]["history"][0]["changed_by"] == f"Coordinator {world.tag}"
    assert document["comments"][0]["author"] == f"Contributor {world.tag}"
    costs = [
        (i["cost_amount"], i["cost_currency"], i["funding_source"])
        for i in document["action_items"]
    ]
    assert costs == [(2_500_000, "KES", "National budget, 2027 vote"), (None, None, "")]

    assert there.post("coordinator", "/api/v1/assessments/import", document).status_code == 403
    imported = there.post("admin", "/api/v1/assessments/import", document)
    assert imported.status_code == 201, imported.text
    new_id = imported.json()["id"]
    assert imported.json()["cycle"] == document["assessment"]["cycle"]

    again = export(there, "admin", new_id).json()
    for part in ("catalogue", "assessment", "answers", "targets", "action_items", "comments"):
        assert again[part] == document[part], part

    # In the database: versions and timestamps kept; the history says it came by import.
    original = {h["changed_at"] for a in document["answers"] for h in a["history"]}
    with there.client.app.state.sessionmaker() as session:
        changes = session.execute(
            select(AnswerChange, Answer.indicator_id)
            .join(Answer, Answer.id == AnswerChange.answer_id)
            .where(Answer.assessment_id == new_id)
        ).all()
        assert {change.source for change, _ in changes} == {"import"}
        assert {change.changed_by_id for change, _ in changes} == {None}
        assert len(changes) == 4
        stamps = {change.changed_at.isoformat().replace("+00:00", "Z") for change, _ in changes}
        assert stamps == original
        versions = {
            a.indicator_id: a.version
            for a in session.scalars(select(Answer).where(Answer.assessment_id == new_id))
        }
        assert versions == {"national-strategy": 2, "material-offences": 1, "referral-pathway": 1}
    assert there.get("admin", f"/api/v1/assessments/{new_id}/targets").json() == {
        "leadership": 4,
        "legislation": 2,
    }
    log = there.get("admin", f"/api/v1/assessments/{new_id}/audit").json()
    assert [event["action"] for event in log][-1] == "assessment.imported"

    refused = there.post("admin", "/api/v1/assessments/import", document)
    assert refused.status_code == 409
    assert "already has an assessment for cycle" in refused.json()["error"]["message"]

    # The same file as a form upload, for another cycle, by the secretariat.
    renamed = copy.deepcopy(document)
    renamed["assessment"]["cycle"] = "Z" + document["assessment"]["cycle"][1:]
    uploaded = there.client.post(
        "/api/v1/assessments/import",
        files={"file": ("assessment.json", json.dumps(renamed).encode(), "application/json")},
        headers=there.headers("secretariat"),
    )
    assert uploaded.status_code == 201, uploaded.text


def test_export_is_for_the_coordinator_and_the_alliance(here, source):
    world = here
    assert export(world, "secretariat", source).status_code == 200
    assert export(world, "contributor", source).status_code == 403
    assert export(world, "viewer", source).status_code == 403
    hidden = export(world, "other_coordinator", source)
    assert hidden.status_code == 404 and "Arvenia" not in hidden.text


def count_assessments(installation) -> int:
    with installation.client.app.state.sessionmaker() as session:
        return session.scalar(select(func.count()).select_from(Assessment))


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda d: d["catalogue"].update(content_hash="sha256:" + "0" * 64),
            "is stored here with other content",
        ),
        (
            lambda d: d["catalogue"].update(version="1999.1", content_hash="sha256:" + "1" * 64),
            "which this installation does not have",
        ),
        (lambda d: d.update(format_version=2), "format version 2 is not supported"),
        (lambda d: d.update(format="something/else"), "not a gsr-assess assessment export"),
        (
            lambda d: d["answers"][0].update(indicator_id="no-such-indicator"),
            "not an indicator of the catalogue",
        ),
        (lambda d: d["answers"][0].update(level=12), "answers.0.level"),
        (
            lambda d: d["answers"][1].update(justification=""),
            "explain why this indicator does not apply",
        ),
        (lambda d: d["targets"][0].update(capability_id="nowhere"), "unknown capability"),
        (lambda d: d["assessment"].update(country_code="QQQ"), "unknown country code"),
    ],
)
def test_bad_documents_are_refused(here, source, other_installation, change, expected):
    document = export(here, "coordinator", source).json()
    document["assessment"]["cycle"] = f"Bad{here.tag}"
    change(document)
    before = count_assessments(other_installation)
    response = other_installation.post("admin", "/api/v1/assessments/import", document)
    assert response.status_code == 422, response.text
    assert expected in response.json()["error"]["message"]
    assert count_assessments(other_installation) == before


def test_not_json_is_refused(other_installation):
    response = other_installation.client.post(
        "/api/v1/assessments/import",
        content=b"{not json",
        headers=other_installation.headers("admin") | {"content-type": "application/json"},
    )
    assert response.status_code == 422
    assert "not valid JSON" in response.json()["error"]["message"]


def test_an_action_cost_without_its_currency_is_refused(here, source, other_installation):
    world, there = here, other_installation
    document = export(world, "coordinator", source).json()
    document["assessment"]["cycle"] = "C" + document["assessment"]["cycle"][1:]
    before = count_assessments(there)
    for change, where in (
        ({"cost_currency": None}, "cost_currency"),
        ({"cost_currency": "XYZ"}, "cost_currency"),
        ({"cost_amount": -5}, "cost_amount"),
    ):
        broken = copy.deepcopy(document)
        broken["action_items"][0].update(change)
        refused = there.post("admin", "/api/v1/assessments/import", broken)
        assert refused.status_code == 422, refused.text
        assert where in refused.json()["error"]["message"]
    assert count_assessments(there) == before
