"""The action plan: drafted from gaps, edited by the coordinator, redrafted keeping edits."""

import pytest


@pytest.fixture
def planned(world, app_client):
    """An assessment with leadership at level 1 (target 3) and legislation at 2 (target 3)."""
    catalogue = app_client.app.state.catalogue.catalogue
    created = world.post(
        "coordinator", "/api/v1/assessments", {"country_code": "XAA", "cycle": f"AP{world.tag}"}
    ).json()
    base = f"/api/v1/assessments/{created['id']}"
    for capability_id, level in (("leadership", 1), ("legislation", 2)):
        for indicator in catalogue.capability(capability_id).indicators:
            response = world.put(
                "coordinator",
                f"{base}/answers/{capability_id}/{indicator.id}",
                {"version": 0, "response": "level", "level": level},
            )
            assert response.status_code == 200
        world.put("coordinator", f"{base}/targets/{capability_id}", {"level": 3})
    return base, catalogue


def steps_of(items):
    return [(i["capability_id"], i["step_level"]) for i in items]


def test_draft_follows_gaps_steps_and_dependencies(world, planned):
    base, catalogue = planned
    drafted = world.post("coordinator", f"{base}/action-plan/draft")
    assert drafted.status_code == 200, drafted.text
    items = drafted.json()["items"]
    expected_leadership = sum(len(catalogue.capability("leadership").steps[s]) for s in (2, 3))
    expected_legislation = len(catalogue.capability("legislation").steps[3])
    assert len(items) == expected_leadership + expected_legislation
    # Legislation depends on leadership, so every leadership step comes first.
    capabilities = [i["capability_id"] for i in items]
    assert capabilities.index("legislation") > max(
        k for k, c in enumerate(capabilities) if c == "leadership"
    )
    assert {s for c, s in steps_of(items) if c == "leadership"} == {2, 3}
    first = catalogue.capability("leadership").steps[2][0]
    assert items[0]["title"] == first.title.get() and items[0]["horizon"] == first.horizon
    assert drafted.json()["progress"]["planned"] == len(items)


def test_redraft_keeps_the_coordinators_edits(world, planned, app_client):
    base, catalogue = planned
    items = world.post("coordinator", f"{base}/action-plan/draft").json()["items"]
    leadership = [i for i in items if i["capability_id"] == "leadership"]
    edited = world.client.patch(
        f"{base}/action-plan/items/{leadership[0]['id']}",
        json={
            "version": 1,
            "owner_agency": "Cabinet Office",
            "due_date": "2027-06-30",
            "status": "in_progress",
            "notes": "Budget line agreed.",
        },
        headers=world.headers("coordinator"),
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["version"] == 2 and edited.json()["edited_by_user"] is True
    manual = world.post(
        "coordinator",
        f"{base}/action-plan/items",
        {"title": "Brief the parliamentary committee", "horizon": "short"},
    )
    assert manual.status_code == 201

    # Leadership reaches its target: its untouched drafts go, the edited one stays.
    for indicator in catalogue.capability("leadership").indicators:
        world.put(
            "coordinator",
            f"{base}/answers/leadership/{indicator.id}",
            {"version": 1, "response": "level", "level": 3},
        )
    redrafted = world.post("coordinator", f"{base}/action-plan/draft").json()["items"]
    kept = next(i for i in redrafted if i["id"] == leadership[0]["id"])
    assert (kept["owner_agency"], kept["status"], kept["notes"]) == (
        "Cabinet Office",
        "in_progress",
        "Budget line agreed.",
    )
    assert [i for i in redrafted if i["capability_id"] == "leadership"] == [kept]
    assert redrafted[-1]["title"] == "Brief the parliamentary committee"
    assert {i["capability_id"] for i in redrafted if i["origin"] == "catalogue"} == {
        "leadership",
        "legislation",
    }


def test_stale_edits_are_refused_and_access_is_checked(world, planned):
    base, _ = planned
    items = world.post("coordinator", f"{base}/action-plan/draft").json()["items"]
    url = f"{base}/action-plan/items/{items[0]['id']}"
    ok = world.client.patch(
        url, json={"version": 1, "status": "done"}, headers=world.headers("coordinator")
    )
    assert ok.status_code == 200
    stale = world.client.patch(
        url, json={"version": 1, "status": "dropped"}, headers=world.headers("coordinator")
    )
    assert stale.status_code == 409 and stale.json()["error"]["current_version"] == 2
    assert (
        world.client.patch(
            url, json={"version": 2, "status": "dropped"}, headers=world.headers("contributor")
        ).status_code
        == 403
    )
    for who in ("other_coordinator", "other_contributor"):
        assert world.get(who, f"{base}/action-plan").status_code == 404
        assert (
            world.client.patch(
                url, json={"version": 2, "status": "dropped"}, headers=world.headers(who)
            ).status_code
            == 404
        )
    assert world.get("viewer", f"{base}/action-plan").json()["progress"]["done"] == 1
    assert world.delete("coordinator", url).status_code == 403  # drafted: drop, not delete
    bad = world.post(
        "coordinator", f"{base}/action-plan/items", {"title": "X", "lead_sector": "astrology"}
    )
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "lead_sector"


def test_an_edit_cannot_empty_a_field_with_null_through_the_api(world, planned):
    base, _ = planned
    item = world.post("coordinator", f"{base}/action-plan/draft").json()["items"][0]
    url = f"{base}/action-plan/items/{item['id']}"
    for field in ("status", "owner_agency", "notes", "title", "horizon"):
        refused = world.client.patch(
            url, json={"version": 1, field: None}, headers=world.headers("coordinator")
        )
        assert refused.status_code == 422, (field, refused.text)
        assert refused.json()["error"]["fields"][0]["field"] == field
    kept = world.get("coordinator", f"{base}/action-plan").json()["items"][0]
    assert (kept["status"], kept["title"], kept["version"]) == ("planned", item["title"], 1)
    # The due date may be cleared.
    cleared = world.client.patch(
        url, json={"version": 1, "due_date": None}, headers=world.headers("coordinator")
    )
    assert cleared.status_code == 200 and cleared.json()["due_date"] is None


def test_sending_the_current_values_changes_nothing(world, planned):
    base, _ = planned
    item = world.post("coordinator", f"{base}/action-plan/draft").json()["items"][0]
    same = world.client.patch(
        f"{base}/action-plan/items/{item['id']}",
        json={
            "version": 1,
            "owner_agency": item["owner_agency"],
            "status": item["status"],
            "notes": item["notes"],
            "title": item["title"],
        },
        headers=world.headers("coordinator"),
    )
    assert same.status_code == 200, same.text
    assert (same.json()["version"], same.json()["edited_by_user"]) == (1, False)
    # A redraft may still refresh it, as an untouched draft.
    changed = world.client.patch(
        f"{base}/action-plan/items/{item['id']}",
        json={"version": 1, "status": item["status"], "notes": "Agreed with finance."},
        headers=world.headers("coordinator"),
    )
    assert (changed.json()["version"], changed.json()["edited_by_user"]) == (2, True)
