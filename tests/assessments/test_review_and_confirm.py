"""Review marks and confirming carried-over answers in bulk, over the API."""

import pytest

CAP = "leadership"


@pytest.fixture
def catalogue(app_client):
    return app_client.app.state.catalogue.catalogue


def base(assessment_id: int) -> str:
    return f"/api/v1/assessments/{assessment_id}"


def start(world, cycle: str, *, from_previous: bool = False) -> int:
    response = world.post(
        "coordinator",
        "/api/v1/assessments",
        {"country_code": "XAA", "cycle": cycle, "start_from_previous": from_previous},
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


def revision(world, assessment_id: int) -> int:
    return world.get("coordinator", base(assessment_id)).json()["assessment"]["revision"]


@pytest.fixture
def carried(world, catalogue):
    """A second cycle started from a first in which every leadership indicator and the
    first legislation indicator were answered: those answers wait for confirmation."""
    first = start(world, f"A{world.tag}")
    keys = [(CAP, i.id) for i in catalogue.capability(CAP).indicators]
    keys.append(("legislation", catalogue.capability("legislation").indicators[0].id))
    for number, (capability_id, indicator_id) in enumerate(keys):
        saved = world.put(
            "coordinator",
            f"{base(first)}/answers/{capability_id}/{indicator_id}",
            {"version": 0, "response": "level", "level": number % 5, "justification": f"j{number}"},
        )
        assert saved.status_code == 200, saved.text
    return {"id": start(world, f"B{world.tag}", from_previous=True), "keys": keys}


# ---------------------------------------------------------------- review marks


def test_a_review_mark_is_seen_by_the_team_and_cleared_by_whoever_resolves_it(world, catalogue):
    assessment_id = start(world, f"F{world.tag}")
    indicator = catalogue.capability(CAP).indicators[0].id
    url = f"{base(assessment_id)}/review-flags/{CAP}/{indicator}"
    before = revision(world, assessment_id)

    marked = world.put("contributor", url, {"note": "  Check the budget figure  "})
    assert marked.status_code == 200, marked.text
    body = marked.json()
    assert body["note"] == "Check the budget figure"
    assert body["flagged_by"].startswith("Contributor ")
    # Marking again keeps the first mark (who and when), it does not stack or move it.
    again = world.put("coordinator", url, {"note": "other"})
    assert again.json() == body

    for who in ("viewer", "coordinator", "secretariat"):
        listed = world.get(who, f"{base(assessment_id)}/review-flags")
        assert [(f["indicator_id"], f["note"]) for f in listed.json()] == [
            (indicator, "Check the budget figure")
        ]
    assert world.get("other_coordinator", f"{base(assessment_id)}/review-flags").status_code == 404
    assert world.put("other_coordinator", url, {}).status_code == 404
    assert world.put("viewer", url, {}).status_code == 403
    assert world.delete("viewer", url).status_code == 403

    # Not an answer change: no revision, no answer, no progress.
    assert revision(world, assessment_id) == before
    assert world.get("coordinator", f"{base(assessment_id)}/answers").json() == []
    detail = world.get("coordinator", base(assessment_id)).json()
    assert detail["assessment"]["progress"]["answered"] == 0

    assert world.delete("coordinator", url).status_code == 204
    assert world.get("coordinator", f"{base(assessment_id)}/review-flags").json() == []
    assert world.delete("coordinator", url).status_code == 204  # clearing twice is harmless
    assert revision(world, assessment_id) == before
    log = world.get("coordinator", f"{base(assessment_id)}/audit").json()
    actions = [(e["action"], e["actor_id"]) for e in log]
    assert ("indicator.flagged_for_review", world.ids["contributor"]) in actions
    assert ("indicator.review_flag_cleared", world.ids["coordinator"]) in actions
    cleared = next(e for e in log if e["action"] == "indicator.review_flag_cleared")
    assert cleared["details"]["flagged_by"] == world.ids["contributor"]


def test_review_marks_refuse_bad_input(world, catalogue):
    assessment_id = start(world, f"G{world.tag}")
    indicator = catalogue.capability(CAP).indicators[0].id
    url = f"{base(assessment_id)}/review-flags/{CAP}/{indicator}"
    assert world.put("coordinator", url, {"note": "x" * 501}).status_code == 422
    assert world.put("coordinator", url, {"colour": "red"}).status_code == 422
    missing = f"{base(assessment_id)}/review-flags/{CAP}/no-such-indicator"
    assert world.put("coordinator", missing, {}).status_code == 404
    assert world.get("coordinator", f"{base(assessment_id)}/review-flags").json() == []


# ---------------------------------------------------------------- bulk confirmation


def test_confirming_a_capability_in_bulk_confirms_exactly_what_was_previewed(world, carried):
    assessment_id = carried["id"]
    preview = world.get("coordinator", f"{base(assessment_id)}/carried-over?capability_id={CAP}")
    assert preview.status_code == 200, preview.text
    items = preview.json()
    leadership = [k for k in carried["keys"] if k[0] == CAP]
    assert [(a["capability_id"], a["indicator_id"]) for a in items] == leadership
    assert all(a["carried_over"] and a["version"] == 1 for a in items)
    assert items[1]["level"] == 1 and items[1]["justification"] == "j1"
    before = revision(world, assessment_id)

    body = {
        "answers": [
            {"capability_id": a["capability_id"], "indicator_id": a["indicator_id"], "version": 1}
            for a in items
        ]
    }
    confirmed = world.post("coordinator", f"{base(assessment_id)}/carried-over/confirm", body)
    assert confirmed.status_code == 200, confirmed.text
    assert [(a["version"], a["carried_over"]) for a in confirmed.json()] == [(2, False)] * len(
        items
    )
    assert revision(world, assessment_id) == before + 1
    # The other capability's carried-over answer still waits.
    rest = world.get("coordinator", f"{base(assessment_id)}/carried-over").json()
    assert [a["capability_id"] for a in rest] == ["legislation"]
    detail = world.get("coordinator", base(assessment_id)).json()
    assert detail["assessment"]["progress"]["answered"] == len(items)
    # Historied as a single confirmation: same value before and after, by the confirmer.
    history = world.get(
        "coordinator", f"{base(assessment_id)}/answers/{CAP}/{items[1]['indicator_id']}/history"
    ).json()
    assert [h["version"] for h in history] == [2, 1]
    assert history[0]["old_value"] == history[0]["new_value"]
    assert history[0]["new_value"]["level"] == 1 and history[0]["source"] == "api"
    log = world.get("coordinator", f"{base(assessment_id)}/audit").json()
    event = next(e for e in log if e["action"] == "answers.confirmed")
    assert event["details"]["count"] == len(items)
    # Confirming again: they are no longer carried over, so nothing happens and 409 says so.
    again = world.post("coordinator", f"{base(assessment_id)}/carried-over/confirm", body)
    assert again.status_code == 409
    assert revision(world, assessment_id) == before + 1


def test_an_answer_changed_after_the_preview_stops_the_whole_confirmation(world, carried):
    assessment_id = carried["id"]
    items = world.get("coordinator", f"{base(assessment_id)}/carried-over?area_id=policy").json()
    assert len(items) == len(carried["keys"])  # leadership and legislation are both policy
    changed = items[2]
    saved = world.put(
        "coordinator",
        f"{base(assessment_id)}/answers/{changed['capability_id']}/{changed['indicator_id']}",
        {"version": 1, "response": "level", "level": 4},
    )
    assert saved.status_code == 200
    before = revision(world, assessment_id)
    body = {
        "answers": [
            {"capability_id": a["capability_id"], "indicator_id": a["indicator_id"], "version": 1}
            for a in items
        ]
    }
    refused = world.post("coordinator", f"{base(assessment_id)}/carried-over/confirm", body)
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["changed"] == [f"{changed['capability_id']}.{changed['indicator_id']}"]
    assert "nothing was confirmed" in error["message"]
    left = world.get("coordinator", f"{base(assessment_id)}/carried-over?area_id=policy").json()
    assert len(left) == len(items) - 1  # the one saved meanwhile; no other was confirmed
    assert revision(world, assessment_id) == before


def test_bulk_confirmation_follows_the_rules_of_single_saves(world, carried, catalogue):
    assessment_id = carried["id"]
    capability_id, indicator_id = carried["keys"][0]
    one = {
        "answers": [{"capability_id": capability_id, "indicator_id": indicator_id, "version": 1}]
    }
    confirm = f"{base(assessment_id)}/carried-over/confirm"
    # A contributor without the area may read the answers but not confirm them.
    assert world.post("contributor", confirm, one).status_code == 403
    assert (
        world.get("contributor", f"{base(assessment_id)}/carried-over?area_id=policy").status_code
        == 403
    )
    assert world.post("viewer", confirm, one).status_code == 403
    assert world.post("other_coordinator", confirm, one).status_code == 404
    assert world.post("coordinator", confirm, {"answers": []}).status_code == 422
    twice = {"answers": one["answers"] * 2}
    assert world.post("coordinator", confirm, twice).status_code == 422
    unknown = {"answers": [{"capability_id": CAP, "indicator_id": "nope", "version": 1}]}
    assert world.post("coordinator", confirm, unknown).status_code == 404
    assert (
        world.get("coordinator", f"{base(assessment_id)}/carried-over?area_id=nope").status_code
        == 404
    )
    assigned = world.post(
        "coordinator",
        f"{base(assessment_id)}/assignments",
        {"area_id": "policy", "user_id": world.ids["contributor"]},
    )
    assert assigned.status_code == 201
    done = world.post("contributor", confirm, one)
    assert done.status_code == 200, done.text
    assert done.json()[0]["updated_by"].startswith("Contributor ")
