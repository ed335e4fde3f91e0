"""The API and the workbook page read uploads with one size-limited reader."""

from __future__ import annotations

import pytest

from app.portability import service
from tests.portability.conftest import XLSX, download_bytes, snapshot
from tests.web.test_web_pages import csrf, login, make_user, new_assessment

BOUNDARY = "gsr-test-boundary"


def multipart(token: str | None, data: bytes, *, extra_fields: int = 0) -> bytes:
    parts = []
    if token is not None:
        parts.append(f'Content-Disposition: form-data; name="csrf_token"\r\n\r\n{token}')
    parts += [
        f'Content-Disposition: form-data; name="note{n}"\r\n\r\nx' for n in range(extra_fields)
    ]
    body = b"".join(f"--{BOUNDARY}\r\n{part}\r\n".encode() for part in parts)
    body += (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; '
        f'filename="filled.xlsx"\r\nContent-Type: {XLSX}\r\n\r\n'
    ).encode()
    return body + data + f"\r\n--{BOUNDARY}--\r\n".encode()


def in_chunks(body: bytes, size: int = 16 * 1024):
    """The body as a stream: sent without a declared length."""
    return iter([body[i : i + size] for i in range(0, len(body), size)])


@pytest.fixture
def page_user(app_client):
    email = make_user(app_client.app, "coordinator")
    assessment_id = new_assessment(app_client.app, email)
    client = login(app_client.app, email)
    return client, csrf(client), assessment_id


def post_form(client, url: str, body, headers=None):
    return client.post(
        url,
        content=body,
        headers={"content-type": f"multipart/form-data; boundary={BOUNDARY}", **(headers or {})},
        follow_redirects=False,
    )


def test_the_page_and_the_api_stop_reading_at_the_same_limit(
    world, client, new_assessment, page_user, monkeypatch
):
    page_client, token, page_assessment = page_user
    api_assessment = new_assessment("R")
    workbook = download_bytes(world, "coordinator", api_assessment)
    monkeypatch.setattr(service, "MAX_UPLOAD_BYTES", 1000)
    body = multipart(token, workbook + b"\0" * 200_000)
    before = (snapshot(client, page_assessment), snapshot(client, api_assessment))

    page = post_form(page_client, f"/assessments/{page_assessment}/workbook", in_chunks(body))
    api = post_form(
        world.client,
        f"/api/v1/assessments/{api_assessment}/workbook",
        in_chunks(body),
        world.headers("coordinator"),
    )

    assert page.status_code == 413
    assert "The file is larger than the 0 MB accepted." in page.text
    assert api.status_code == 413
    assert "the file is larger than the 0 MB accepted" in api.json()["error"]["message"]
    assert (snapshot(client, page_assessment), snapshot(client, api_assessment)) == before


def test_the_page_takes_its_token_and_file_from_the_shared_reader(client, page_user):
    page_client, token, assessment_id = page_user
    sent = post_form(
        page_client, f"/assessments/{assessment_id}/workbook", multipart(token, b"not a workbook")
    )
    # The token was read, so the file was too, and refused for what it is.
    assert sent.status_code == 422
    assert "This file is not an Excel workbook (.xlsx)" in sent.text
    assert snapshot(client, assessment_id)["imports"] == 0

    without_token = post_form(
        page_client, f"/assessments/{assessment_id}/workbook", multipart(None, b"PK\x03\x04")
    )
    assert without_token.status_code == 403


def test_a_form_with_too_many_fields_is_refused_by_both(world, client, new_assessment, page_user):
    page_client, token, page_assessment = page_user
    api_assessment = new_assessment("S")
    body = multipart(token, b"PK\x03\x04", extra_fields=10)

    page = post_form(page_client, f"/assessments/{page_assessment}/workbook", body)
    api = post_form(
        world.client,
        f"/api/v1/assessments/{api_assessment}/workbook",
        body,
        world.headers("coordinator"),
    )

    assert page.status_code == 403  # unreadable, token included: refused as a forged form
    assert api.status_code == 422
    assert "the upload could not be read" in api.json()["error"]["message"]
    assert snapshot(client, page_assessment)["imports"] == 0
    assert snapshot(client, api_assessment)["imports"] == 0
