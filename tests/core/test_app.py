"""The application starts on a migrated database and reports its health."""

import pytest
from fastapi.testclient import TestClient

import app as app_package
from app.catalogue.loader import load_catalogue
from app.core import migrate
from app.core.config import PROJECT_ROOT, Settings
from app.main import DatabaseNotReady, create_app


def test_healthz_reports_version_and_catalogue_hash(database):
    expected = load_catalogue(PROJECT_ROOT / "capabilities")
    with TestClient(create_app(Settings(database_url=database.url))) as client:
        body = client.get("/healthz").json()
    assert body["status"] == "ok"
    assert body["version"] == app_package.__version__
    assert body["catalogue"] == {
        "id": "gsr",
        "version": expected.catalogue.version,
        "hash": expected.content_hash,
    }
    assert body["database"] == database.backend


def test_catalogue_api_serves_the_stored_versions(database):
    with TestClient(create_app(Settings(database_url=database.url))) as client:
        current = client.get("/api/v1/catalogue").json()
        versions = client.get("/api/v1/catalogue/versions").json()
        assert client.get("/api/v1/catalogue/versions/999999").status_code == 404
    assert current["catalogue"]["areas"][1]["id"] == "criminal-justice"
    assert current["content_hash"] in {v["content_hash"] for v in versions}


def test_start_is_refused_on_an_unmigrated_database(make_database):
    database = make_database("sqlite")
    unready = create_app(Settings(database_url=database.url))
    with pytest.raises(DatabaseNotReady, match="gsr db upgrade"), TestClient(unready):
        pass
    migrate.upgrade(database.url)
    with TestClient(create_app(Settings(database_url=database.url))) as client:
        assert client.get("/healthz").status_code == 200


def test_confidential_answers_are_not_cached_framed_or_referred(app_client):
    response = app_client.get("/api/v1/assessments")
    assert response.headers["cache-control"] == "private, no-store"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


def test_api_explorer_needs_no_cdn(app_client):
    page = app_client.get("/docs").text
    assert "cdn." not in page and "https://" not in page.split("<body>")[0]
    script = page.split('src="')[1].split('"')[0]
    assert app_client.get(script).status_code == 200
