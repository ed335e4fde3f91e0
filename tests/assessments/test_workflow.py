"""Draft -> submitted -> returned -> submitted -> validated, with sign-off and audit."""

from datetime import date

from app.accounts import service as accounts
from app.assessments import service
from app.assessments.schemas import AnswerInput

SIGNOFF = {"name": "Amina Diallo", "position": "Permanent Secretary", "date": "2026-11-20"}


def fill_all(app_client, world, assessment_id, *, skip=0):
    """Answer every indicator through the service, leaving the last `skip` unanswered."""
    catalogue = app_client.app.state.catalogue.catalogue
    keys = catalogue.indicator_keys()
    with app_client.app.state.sessionmaker.begin() as session:
        user = accounts.get_user(session, world.ids["coordinator"])
        for capability_id, indicator_id in keys[: len(keys) - skip]:
            service.save_answer(
                session,
                user=user,
                assessment_id=assessment_id,
                capability_id=capability_id,
                indicator_id=indicator_id,
                data=AnswerInput(version=0, response="level", level=2),
            )
    return keys


def test_full_workflow(world, app_client):
    created = world.post(
        "coordinator", "/api/v1/assessments", {"country_code": "XAA", "cycle": f"W{world.tag}"}
    ).json()
    base = f"/api/v1/assessments/{created['id']}"
    keys = fill_all(app_client, world, created["id"], skip=2)

    refused = world.post("coordinator", f"{base}/submit", SIGNOFF)
    assert refused.status_code == 422
    missing = refused.json()["error"]["missing"]
    assert missing == [f"{c}.{i}" for c, i in keys[-2:]]

    for capability_id, indicator_id in keys[-2:]:
        world.put(
            "coordinator",
            f"{base}/answers/{capability_id}/{indicator_id}",
            {"version": 0, "response": "unknown"},
        )
    assert world.post("contributor", f"{base}/submit", SIGNOFF).status_code == 403
    submitted = world.post("coordinator", f"{base}/submit", SIGNOFF)
    assert submitted.status_code == 200, submitted.text
    assert submitted.json()["status"] == "submitted"
    assert submitted.json()["signoff_name"] == "Amina Diallo"

    # Read-only once submitted.
    capability_id, indicator_id = keys[0]
    locked = world.put(
        "coordinator",
        f"{base}/answers/{capability_id}/{indicator_id}",
        {"version": 1, "response": "level", "level": 4},
    )
    assert locked.status_code == 403

    # Countries cannot validate or return their own submission.
    assert world.post("coordinator", f"{base}/validate").status_code == 404
    returned = world.post(
        "secretariat", f"{base}/return", {"comments": {"legislation": "Please attach the statute."}}
    )
    assert returned.json()["status"] == "returned"
    comments = world.get("coordinator", f"{base}/comments").json()
    assert comments[-1]["kind"] == "review" and "statute" in comments[-1]["body"]

    edited = world.put(
        "coordinator",
        f"{base}/answers/{capability_id}/{indicator_id}",
        {"version": 1, "response": "level", "level": 3},
    )
    assert edited.status_code == 200
    assert world.post("coordinator", f"{base}/submit", SIGNOFF).status_code == 200
    validated = world.post("secretariat", f"{base}/validate")
    assert validated.json()["status"] == "validated"
    assert (
        world.put(
            "coordinator",
            f"{base}/answers/{capability_id}/{indicator_id}",
            {"version": 2, "response": "level", "level": 4},
        ).status_code
        == 403
    )

    log = world.get("coordinator", f"{base}/audit").json()
    actions = [event["action"] for event in reversed(log)]
    assert actions == [
        "assessment.created",
        "assessment.submitted",
        "assessment.returned",
        "assessment.submitted",
        "assessment.validated",
    ]
    assert world.get("viewer", f"{base}/audit").status_code == 403


def test_future_signoff_date_is_refused(world, app_client):
    created = world.post(
        "coordinator", "/api/v1/assessments", {"country_code": "XAA", "cycle": f"F{world.tag}"}
    ).json()
    fill_all(app_client, world, created["id"])
    future = {**SIGNOFF, "date": date(date.today().year + 1, 1, 1).isoformat()}
    response = world.post("coordinator", f"/api/v1/assessments/{created['id']}/submit", future)
    assert response.status_code == 422 and response.json()["error"]["field"] == "date"


def test_new_cycle_starts_from_the_previous_one(world, app_client):
    first = world.post(
        "coordinator", "/api/v1/assessments", {"country_code": "XAA", "cycle": f"P1{world.tag}"}
    ).json()
    keys = fill_all(app_client, world, first["id"])
    world.put("coordinator", f"/api/v1/assessments/{first['id']}/targets/legislation", {"level": 4})
    second = world.post(
        "coordinator",
        "/api/v1/assessments",
        {"country_code": "XAA", "cycle": f"P2{world.tag}", "start_from_previous": True},
    )
    assert second.status_code == 201, second.text
    base = f"/api/v1/assessments/{second.json()['id']}"
    answers = world.get("coordinator", f"{base}/answers").json()
    assert len(answers) == len(keys) and all(a["carried_over"] for a in answers)
    assert world.get("coordinator", f"{base}/targets").json() == {"legislation": 4}
    refused = world.post("coordinator", f"{base}/submit", SIGNOFF)
    assert "carried over" in refused.json()["error"]["missing"][0]
    # Confirming = saving the same content; it clears the flag and is recorded.
    capability_id, indicator_id = keys[0]
    confirmed = world.put(
        "coordinator",
        f"{base}/answers/{capability_id}/{indicator_id}",
        {"version": 1, "response": "level", "level": 2},
    )
    assert confirmed.json()["carried_over"] is False and confirmed.json()["version"] == 2
    # Progress counts what was answered in this cycle: carried-over answers wait.
    progress = world.get("coordinator", base).json()["assessment"]["progress"]
    assert progress == {"answered": 1, "total": len(keys)}
    duplicate = world.post(
        "coordinator", "/api/v1/assessments", {"country_code": "XAA", "cycle": f"P2{world.tag}"}
    )
    assert duplicate.status_code == 422 and duplicate.json()["error"]["field"] == "cycle"
