"""Query counts of the alliance view do not grow with the number of countries."""

from __future__ import annotations

import random

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, select

from app.comparisons.models import PeerConsent
from app.countries.models import Country
from benchmarks.comparisons import (
    QueryCounter,
    api_token,
    membership,
    real_country_codes,
    seed,
)
from tests.membership import BACKENDS, membership_client
from tests.reporting.report_helpers import quiet_jobs

CYCLES = ("2040", "2041")


@pytest.fixture(scope="module", params=BACKENDS)
def client(request, make_migrated_database):
    with membership_client(make_migrated_database, request.param) as client:
        yield client


def _grow(client: TestClient, codes: list[str], rng: random.Random) -> None:
    capabilities = [c.id for c in client.app.state.catalogue.catalogue.capabilities()]
    with client.app.state.sessionmaker.begin() as session:
        seed(session, membership(codes, CYCLES, capabilities, rng=rng))


def _counts(client: TestClient, calls: dict[str, tuple[str, str]]) -> dict[str, int]:
    counts = {}
    for name, (token, url) in calls.items():
        # Background jobs (the start-up sweep, say) use the same engine: none runs meanwhile.
        quiet_jobs(client.app)
        with QueryCounter(client.app.state.engine) as counter:
            response = client.get(url, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, (name, response.text)
        counts[name] = counter.count
    return counts


def test_query_counts_are_the_same_for_3_and_for_12_countries(client):
    rng = random.Random(7)
    with client.app.state.sessionmaker.begin() as session:
        codes = real_country_codes(session, 12)
        secretariat = api_token(session)
        coordinator = api_token(session, "coordinator", codes[0])
    _grow(client, codes[:3], rng)
    with client.app.state.sessionmaker.begin() as session:
        ids = dict(
            session.execute(select(Country.code, Country.id).where(Country.code.in_(codes))).all()
        )
        session.execute(
            insert(PeerConsent),
            [
                {"country_id": ids[codes[0]], "peer_id": ids[codes[1]]},
                {"country_id": ids[codes[1]], "peer_id": ids[codes[0]]},
            ],
        )
    own = client.get(
        "/api/v1/assessments?per_page=1", headers={"Authorization": f"Bearer {coordinator}"}
    ).json()["items"][0]["id"]
    calls = {
        "members": (secretariat, "/api/v1/alliance/members"),
        "members of a region": (secretariat, "/api/v1/alliance/members?order=region"),
        "review queue": (secretariat, "/api/v1/alliance/review-queue"),
        "heatmap": (secretariat, "/api/v1/alliance/heatmap"),
        "distributions": (secretariat, "/api/v1/alliance/distributions"),
        "trends": (secretariat, "/api/v1/alliance/trends"),
        "aggregates": (secretariat, "/api/v1/alliance/aggregates"),
        "aggregates.csv": (secretariat, "/api/v1/alliance/aggregates.csv"),
        "aggregates.xlsx": (secretariat, "/api/v1/alliance/aggregates.xlsx"),
        "position": (coordinator, f"/api/v1/assessments/{own}/position"),
        "peer comparison": (coordinator, f"/api/v1/peers/{codes[1]}/comparison"),
        "sharing": (coordinator, "/api/v1/sharing"),
    }
    _counts(client, calls)  # each token's first use is recorded once, outside the counts
    small = _counts(client, calls)
    rows = len(
        client.get(
            "/api/v1/alliance/heatmap", headers={"Authorization": f"Bearer {secretariat}"}
        ).json()["rows"]
    )
    assert rows == 3

    _grow(client, codes[3:], rng)
    large = _counts(client, calls)
    heatmap = client.get(
        "/api/v1/alliance/heatmap", headers={"Authorization": f"Bearer {secretariat}"}
    ).json()
    assert len(heatmap["rows"]) == 12  # the data really did grow

    assert large == small
    # and stays small: a query per section, plus one to authenticate
    assert max(small.values()) <= 9, small
