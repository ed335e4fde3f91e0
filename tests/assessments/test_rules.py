"""Rules that the pages once kept to themselves, now refused by the service and the API."""

import pytest

from app.accounts import service as accounts
from app.assessments import service
from app.assessments.schemas import MAX_COMMENT
from app.core.errors import Invalid
from tests.assessments.test_workflow import SIGNOFF, fill_all


@pytest.fixture
def assessment(world):
    created = world.post(
        "coordinator", "/api/v1/assessments", {"country_code": "XAA", "cycle": f"R{world.tag}"}
    )
    assert created.status_code == 201, created.text
    return created.json()


def comments_of(world, base: str) -> list[dict]:
    return world.get("coordinator", f"{base}/comments").json()


def test_blank_and_overlong_comments_are_refused_through_the_api(world, assessment):
    base = f"/api/v1/assessments/{assessment['id']}"
    for body in ("   ", "\n\t", "x" * (MAX_COMMENT + 1)):
        refused = world.post(
            "contributor", f"{base}/comments", {"capability_id": "leadership", "body": body}
        )
        assert refused.status_code == 422, body
    longest = world.post(
        "contributor",
        f"{base}/comments",
        {"capability_id": "leadership", "body": "y" * MAX_COMMENT},
    )
    assert longest.status_code == 201
    assert [len(c["body"]) for c in comments_of(world, base)] == [MAX_COMMENT]


def test_the_service_refuses_an_overlong_comment_whoever_calls_it(world, app_client, assessment):
    with app_client.app.state.sessionmaker() as session:  # closed without a commit
        coordinator = accounts.get_user(session, world.ids["coordinator"])
        common = {
            "user": coordinator,
            "assessment_id": assessment["id"],
            "capability_id": "leadership",
            "indicator_id": None,
        }
        with pytest.raises(Invalid) as too_long:
            service.add_comment(session, body="z" * (MAX_COMMENT + 1), **common)
        assert (too_long.value.field, too_long.value.details["rule"]) == ("body", "too_long")
        with pytest.raises(Invalid) as empty:
            service.add_comment(session, body="  \n ", **common)
        assert empty.value.details["rule"] == "empty"
        kept = service.add_comment(session, body="  kept  ", **common)
        assert kept.body == "kept"


def test_review_comments_must_say_something_through_the_api(world, app_client, assessment):
    base = f"/api/v1/assessments/{assessment['id']}"
    fill_all(app_client, world, assessment["id"])
    assert world.post("coordinator", f"{base}/submit", SIGNOFF).status_code == 200
    blank = world.post("secretariat", f"{base}/return", {"comments": {"leadership": "   "}})
    assert blank.status_code == 422
    assert blank.json()["error"]["field"] == "comments"
    assert world.get("coordinator", base).json()["assessment"]["status"] == "submitted"
    assert [c for c in comments_of(world, base) if c["kind"] == "review"] == []
    returned = world.post(
        "secretariat", f"{base}/return", {"comments": {"leadership": "  Add the decree.  "}}
    )
    assert returned.status_code == 200 and returned.json()["status"] == "returned"
    assert [c["body"] for c in comments_of(world, base) if c["kind"] == "review"] == [
        "Add the decree."
    ]


def test_review_comments_are_checked_before_anything_is_written():
    assert service.review_comments({"a": " ok "}) == {"a": "ok"}
    for comments, rule in (({"a": "ok", "b": " "}, "empty"), ({"a": "x" * 5001}, "too_long")):
        with pytest.raises(Invalid) as refused:
            service.review_comments(comments)
        assert refused.value.details["rule"] == rule
    with pytest.raises(Invalid) as none:
        service.review_comments({})
    assert none.value.field == "comments"


def test_the_audit_log_is_read_by_the_coordinator_and_alliance_staff_only(world, assessment):
    url = f"/api/v1/assessments/{assessment['id']}/audit"
    for who in ("coordinator", "secretariat", "admin"):
        answer = world.get(who, url)
        assert answer.status_code == 200, who
        assert [event["action"] for event in answer.json()] == ["assessment.created"]
    for who in ("contributor", "viewer"):
        assert world.get(who, url).status_code == 403, who
    for who in ("other_coordinator", "other_contributor"):
        answer = world.get(who, url)
        assert answer.status_code == 404 and "assessment.created" not in answer.text
