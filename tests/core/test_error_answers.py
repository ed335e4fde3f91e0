"""One error shape for every refusal, whoever refuses; a proper page for browsers; and a
server error that says nothing of what was sent, with the usual security headers."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from app.assessments.models import Answer
from app.core.headers import CONTENT_SECURITY_POLICY
from app.portability import service

SECRET = "our prosecutors lack training in Lisbon-7431"


def assert_shape(answer, status: int, code: str) -> dict:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    error = answer.json()["error"]
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["fields"], list)
    return error


def test_unknown_addresses_and_methods_answer_in_the_error_shape(world):
    missing = world.get("coordinator", "/api/v1/no-such-thing")
    assert assert_shape(missing, 404, "not_found")["message"] == "Not Found"
    wrong_method = world.client.patch("/api/v1/catalogue", headers=world.headers("coordinator"))
    assert_shape(wrong_method, 405, "method_not_allowed")
    assert wrong_method.headers["allow"] == "GET"
    version = world.get("coordinator", "/api/v1/catalogue/versions/999999")
    assert assert_shape(version, 404, "not_found")["message"] == "catalogue version not found"


def test_an_unknown_page_is_still_a_page(world):
    answer = world.client.get("/no-such-page", headers=world.headers("coordinator"))
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("text/html")
    assert "Page not found" in answer.text


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/v1/assessments/9223372036854775808", "assessment_id"),
        ("/api/v1/assessments/2147483648/answers", "assessment_id"),  # PostgreSQL INTEGER
        ("/api/v1/assessments/1/imports/99999999999999999999999999", "import_id"),
        ("/api/v1/catalogue/versions/-9223372036854775809", "version_id"),
        ("/api/v1/assessments?page=9223372036854775808", "page"),
    ],
)
def test_ids_beyond_the_integer_columns_are_refused_naming_the_parameter(world, url, field):
    error = assert_shape(world.get("coordinator", url), 422, "invalid")
    assert [f["field"] for f in error["fields"]] == [field]


def test_a_service_refusal_names_the_field_the_client_sent(world):
    answer = world.post(
        "admin",
        "/api/v1/users",
        {"email": "nobody@example.org", "full_name": "No Body", "role": "viewer"},
    )
    error = assert_shape(answer, 422, "invalid")
    assert error["field"] == "country_code"
    assert error["fields"] == [{"field": "country_code", "reason": error["message"]}]


def test_an_upload_over_the_limit_answers_413_in_the_error_shape(world):
    # The body is refused as it arrives, before the assessment is even looked up.
    answer = world.client.post(
        "/api/v1/assessments/1/workbook",
        content=b"x" * (service.MAX_UPLOAD_BYTES + 70 * 1024),
        headers={**world.headers("coordinator"), "Content-Type": "application/octet-stream"},
    )
    assert "MB accepted" in assert_shape(answer, 413, "too_large")["message"]


def test_an_over_long_form_field_gets_a_page_with_the_reason(world):
    answer = world.client.post(
        "/account/tokens",
        data={"name": "x" * (1024 * 1024 + 10)},
        files={"attachment": ("note.txt", b"hello")},
        headers=world.headers("coordinator"),
    )
    assert answer.status_code == 400
    assert answer.headers["content-type"].startswith("text/html")
    assert "Some of what you sent could not be accepted" in answer.text
    assert "maximum size" in answer.text
    assert answer.headers["content-security-policy"] == CONTENT_SECURITY_POLICY


@pytest.fixture
def failing_routes(app_client):
    """Two addresses that fail as a bug would, with confidential text in the exception."""

    def fail() -> None:
        raise RuntimeError("could not save " + SECRET)

    app = app_client.app
    app.add_api_route("/api/v1/failing-for-tests", fail, include_in_schema=False)
    app.add_api_route("/failing-for-tests", fail, include_in_schema=False)
    yield
    app.router.routes[:] = [
        route
        for route in app.router.routes
        if "failing-for-tests" not in getattr(route, "path", "")
    ]


def _assert_safe_500(answer, caplog) -> None:
    assert answer.status_code == 500
    assert SECRET not in answer.text
    assert answer.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["cache-control"] == "private, no-store"
    logged = [record for record in caplog.records if record.name == "gsr.errors"]
    assert logged and "RuntimeError" in logged[-1].getMessage()
    assert SECRET not in caplog.text


def test_a_server_error_in_the_api_has_the_error_shape_and_echoes_nothing(
    world, failing_routes, caplog
):
    caplog.set_level(logging.INFO)
    answer = world.get("coordinator", "/api/v1/failing-for-tests")
    _assert_safe_500(answer, caplog)
    assert_shape(answer, 500, "internal")


def test_a_server_error_page_has_the_security_headers_and_echoes_nothing(
    world, failing_routes, caplog
):
    caplog.set_level(logging.INFO)
    answer = world.client.get("/failing-for-tests", headers=world.headers("coordinator"))
    _assert_safe_500(answer, caplog)
    assert answer.headers["content-type"].startswith("text/html")
    assert "Something went wrong" in answer.text


def _failed_insert(connection) -> str:
    """The message of an insert of confidential text that breaks a constraint."""
    with pytest.raises(IntegrityError) as failed:
        connection.execute(
            insert(Answer).values(
                assessment_id=2_000_000_000,  # no such assessment, and a level is missing
                capability_id="leadership",
                indicator_id="national-strategy",
                response="level",
                justification=SECRET,
                evidence_notes=SECRET,
                version=1,
            )
        )
    return str(failed.value)


def test_a_failed_statement_does_not_quote_its_parameters(engine):
    # The engine as every part of the application makes it.
    with engine.connect() as connection:
        message = _failed_insert(connection)
    assert "INSERT INTO answers" in message  # the statement is there, for debugging
    assert "parameters hidden" in message


def test_a_failed_statement_of_the_application_quotes_nothing_it_stored(app_client):
    # PostgreSQL's own message for a check constraint lists the failing row; the
    # application's engine keeps only the message's first line.
    with app_client.app.state.engine.connect() as connection:
        message = _failed_insert(connection)
    assert SECRET not in message
    assert "INSERT INTO answers" in message and "parameters hidden" in message
