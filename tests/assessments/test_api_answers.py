"""Answers over the API: versions, conflicts, history, validation of hostile input."""

from concurrent.futures import ThreadPoolExecutor

import pytest

CAP, IND = "legislation", None  # indicator id resolved from the catalogue


@pytest.fixture
def assessment(world):
    response = world.post(
        "coordinator", "/api/v1/assessments", {"country_code": "XAA", "cycle": f"T{world.tag}"}
    )
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
def indicator(app_client):
    capability = app_client.app.state.catalogue.catalogue.capability(CAP)
    return capability.indicators[0].id


def url(assessment, indicator, capability=CAP):
    return f"/api/v1/assessments/{assessment['id']}/answers/{capability}/{indicator}"


def answer(version=0, **fields):
    return {"version": version, "response": "level", "level": 2, **fields}


def test_save_then_read_back(world, assessment, indicator):
    saved = world.put(
        "coordinator",
        url(assessment, indicator),
        answer(
            evidence_notes="Penal code s.12",
            confidence="documented",
            evidence_links=["https://example.org/law"],
        ),
    )
    assert saved.status_code == 200, saved.text
    body = saved.json()
    assert (body["version"], body["level"], body["confidence"]) == (1, 2, "documented")
    listed = world.get("viewer", f"/api/v1/assessments/{assessment['id']}/answers").json()
    assert [(a["indicator_id"], a["level"]) for a in listed] == [(indicator, 2)]
    detail = world.get("coordinator", f"/api/v1/assessments/{assessment['id']}").json()
    assert detail["assessment"]["progress"]["answered"] == 1


def test_two_clients_from_the_same_version_one_wins(world, assessment, indicator):
    world.put("coordinator", url(assessment, indicator), answer(level=1))
    first = world.put("coordinator", url(assessment, indicator), answer(version=1, level=3))
    second = world.put("coordinator", url(assessment, indicator), answer(version=1, level=4))
    assert first.status_code == 200
    assert second.status_code == 409
    assert second.json()["error"]["current"]["level"] == 3
    assert second.json()["error"]["current"]["version"] == 2
    history = world.get("coordinator", url(assessment, indicator) + "/history").json()
    assert [h["version"] for h in history] == [2, 1]
    assert history[0]["old_value"]["level"] == 1 and history[0]["new_value"]["level"] == 3


def test_concurrent_first_saves_never_both_win(world, assessment, indicator):
    def save(level):
        return world.put("coordinator", url(assessment, indicator), answer(level=level))

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(save, [1, 4]))
    codes = sorted(r.status_code for r in results)
    assert codes == [200, 409]
    history = world.get("coordinator", url(assessment, indicator) + "/history").json()
    assert len(history) == 1


def test_retrying_the_same_save_is_harmless(world, assessment, indicator):
    first = world.put("coordinator", url(assessment, indicator), answer(level=2))
    again = world.put("coordinator", url(assessment, indicator), answer(level=2))
    assert again.status_code == 200 and again.json()["version"] == first.json()["version"] == 1
    history = world.get("coordinator", url(assessment, indicator) + "/history").json()
    assert len(history) == 1


def test_not_applicable_needs_a_justification(world, assessment, indicator):
    refused = world.put(
        "coordinator", url(assessment, indicator), {"version": 0, "response": "not_applicable"}
    )
    assert refused.status_code == 422
    assert refused.json()["error"]["fields"][0]["field"] == "justification"
    ok = world.put(
        "coordinator",
        url(assessment, indicator),
        {"version": 0, "response": "not_applicable", "justification": "No ISPs.", "level": 3},
    )
    assert ok.status_code == 200 and ok.json()["level"] is None


@pytest.mark.parametrize(
    "fields, field",
    [
        ({"evidence_links": ["javascript:alert(1)"]}, "evidence_links"),
        ({"evidence_links": ["file:///etc/passwd"]}, "evidence_links"),
        ({"level": 7}, "level"),
        ({"confidence": "certain"}, "confidence"),
        ({"evidence_notes": "x" * 100_001}, "evidence_notes"),
        ({"response": "maybe"}, "response"),
    ],
)
def test_bad_input_names_the_field_and_changes_nothing(world, assessment, indicator, fields, field):
    response = world.put("coordinator", url(assessment, indicator), answer(**fields))
    assert response.status_code == 422, response.text
    assert field in {f["field"] for f in response.json()["error"]["fields"]} | {
        response.json()["error"].get("field")
    }
    assert world.get("coordinator", f"/api/v1/assessments/{assessment['id']}/answers").json() == []


def test_hostile_text_is_stored_exactly(world, assessment, indicator):
    notes = "<script>alert('x')</script> قانون العقوبات 刑法 " + "z" * 100_000
    saved = world.put(
        "coordinator", url(assessment, indicator), answer(evidence_notes=notes[:100_000])
    )
    assert saved.status_code == 200
    stored = world.get("coordinator", f"/api/v1/assessments/{assessment['id']}/answers").json()
    assert stored[0]["evidence_notes"] == notes[:100_000]


@pytest.mark.parametrize(
    "capability, indicator_id", [("no-such", "x"), (CAP, "no-such"), ("../../etc", "passwd")]
)
def test_unknown_ids_are_not_found(world, assessment, capability, indicator_id):
    response = world.put("coordinator", url(assessment, indicator_id, capability), answer())
    assert response.status_code == 404


def test_malformed_assessment_id_is_a_clear_error(world):
    response = world.get("coordinator", "/api/v1/assessments/abc")
    assert response.status_code == 422
    assert response.json()["error"]["fields"][0]["field"] == "assessment_id"
