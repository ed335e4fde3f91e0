"""Who may see and do what: every cross-country attempt is a 404 holding none of the data."""

import pytest


@pytest.fixture
def setup(world, app_client):
    created = world.post(
        "coordinator", "/api/v1/assessments", {"country_code": "XAA", "cycle": f"A{world.tag}"}
    ).json()
    catalogue = app_client.app.state.catalogue.catalogue
    capability = catalogue.capability("legislation")
    indicator = capability.indicators[0].id
    world.put(
        "coordinator",
        f"/api/v1/assessments/{created['id']}/answers/legislation/{indicator}",
        {
            "version": 0,
            "response": "level",
            "level": 1,
            "evidence_notes": f"secret-evidence-{world.tag}",
        },
    )
    return created, indicator


def test_another_country_gets_404_everywhere_and_no_data(world, setup):
    assessment, indicator = setup
    base = f"/api/v1/assessments/{assessment['id']}"
    calls = [
        ("get", base, None),
        ("get", f"{base}/answers", None),
        (
            "put",
            f"{base}/answers/legislation/{indicator}",
            {"version": 1, "response": "level", "level": 4},
        ),
        ("get", f"{base}/answers/legislation/{indicator}/history", None),
        ("get", f"{base}/targets", None),
        ("put", f"{base}/targets/legislation", {"level": 3}),
        ("get", f"{base}/assignments", None),
        ("post", f"{base}/assignments", {"area_id": "policy", "user_id": world.ids["contributor"]}),
        ("delete", f"{base}/assignments/1", None),
        ("get", f"{base}/comments", None),
        ("post", f"{base}/comments", {"capability_id": "legislation", "body": "hello"}),
        ("post", f"{base}/submit", {"name": "X Y", "position": "Minister", "date": "2026-01-01"}),
        ("post", f"{base}/return", {"comments": {"legislation": "no"}}),
        ("post", f"{base}/validate", None),
        ("get", f"{base}/audit", None),
    ]
    for who in ("other_coordinator", "other_contributor"):
        for method, path, body in calls:
            kwargs = {"json": body} if body is not None else {}
            response = world.client.request(method, path, headers=world.headers(who), **kwargs)
            assert response.status_code == 404, (who, method, path, response.text)
            assert f"A{world.tag}" not in response.text
            assert "secret-evidence" not in response.text
            assert "Arvenia" not in response.text
    listed = world.get("other_coordinator", "/api/v1/assessments?per_page=200").json()
    assert all(item["country_code"] == "XAB" for item in listed["items"])
    # Nothing changed.
    answers = world.get("coordinator", f"{base}/answers").json()
    assert answers[0]["level"] == 1 and answers[0]["version"] == 1


def test_cannot_start_an_assessment_for_another_country(world):
    response = world.post(
        "other_coordinator",
        "/api/v1/assessments",
        {"country_code": "XAA", "cycle": f"B{world.tag}"},
    )
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "country_code"


def test_contributor_edits_only_assigned_areas(world, setup):
    assessment, _ = setup
    base = f"/api/v1/assessments/{assessment['id']}"
    body = {"version": 0, "response": "unknown"}
    assert (
        world.put("contributor", f"{base}/answers/dedicated-officers/training", body).status_code
        == 403
    )
    assigned = world.post(
        "coordinator",
        f"{base}/assignments",
        {"area_id": "criminal-justice", "user_id": world.ids["contributor"]},
    )
    assert assigned.status_code == 201
    assert (
        world.put("contributor", f"{base}/answers/dedicated-officers/training", body).status_code
        == 200
    )
    assert (
        world.put(
            "contributor",
            f"{base}/answers/leadership/"
            + world.client.app.state.catalogue.catalogue.capability("leadership").indicators[0].id,
            body,
        ).status_code
        == 403
    )
    # Others read everything; viewers change nothing.
    assert world.get("contributor2", f"{base}/answers").status_code == 200
    assert (
        world.put(
            "viewer",
            f"{base}/answers/dedicated-officers/training",
            {"version": 1, "response": "level", "level": 2},
        ).status_code
        == 403
    )
    # Only the coordinator sets targets and assigns areas.
    assert world.put("contributor", f"{base}/targets/legislation", {"level": 3}).status_code == 403
    assert world.put("coordinator", f"{base}/targets/legislation", {"level": 3}).status_code == 200
    assert world.get("viewer", f"{base}/targets").json() == {"legislation": 3}


def test_secretariat_sees_all_but_does_not_answer(world, setup):
    assessment, indicator = setup
    base = f"/api/v1/assessments/{assessment['id']}"
    assert world.get("secretariat", base).status_code == 200
    response = world.put(
        "secretariat",
        f"{base}/answers/legislation/{indicator}",
        {"version": 1, "response": "level", "level": 4},
    )
    assert response.status_code == 403


def test_user_management_is_for_administrators(world):
    assert world.get("secretariat", "/api/v1/users").status_code == 403
    created = world.post(
        "admin",
        "/api/v1/users",
        {
            "email": f"new-{world.tag}@example.org",
            "full_name": "New Person",
            "role": "contributor",
            "country_code": "XAA",
            "password": "long enough pw",
        },
    )
    assert created.status_code == 201, created.text
    assert created.json()["country_code"] == "XAA"
    bad = world.post(
        "admin",
        "/api/v1/users",
        {"email": f"x-{world.tag}@example.org", "full_name": "X", "role": "contributor"},
    )
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "country_code"
    changed = world.client.patch(
        f"/api/v1/users/{created.json()['id']}",
        json={"is_active": False},
        headers=world.headers("admin"),
    )
    assert changed.json()["is_active"] is False


def test_api_tokens_are_shown_once_and_revocable(world):
    issued = world.post("viewer", "/api/v1/tokens", {"name": "laptop"})
    assert issued.status_code == 201
    secret = issued.json()["token"]
    headers = {"Authorization": f"Bearer {secret}"}
    assert world.client.get("/api/v1/me", headers=headers).json()["role"] == "viewer"
    listed = world.get("viewer", "/api/v1/tokens").json()
    assert all("token" not in item for item in listed)
    world.delete("viewer", f"/api/v1/tokens/{issued.json()['id']}")
    assert world.client.get("/api/v1/me", headers=headers).status_code == 401
    assert (
        world.delete("other_coordinator", f"/api/v1/tokens/{issued.json()['id']}").status_code
        == 404
    )


def test_unauthenticated_calls_are_refused(app_client):
    response = app_client.get("/api/v1/assessments")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
