"""The alliance view, sharing, position and peers through the API, on a crafted membership.

The module builds its own database per backend (the shared test database must not see
countries turned into members). Levels are chosen so that figures can be checked by hand
and so that ordering rows by score would differ from ordering them by name.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, select, update

from app.assessments.models import Assessment
from app.audit.models import AuditEvent
from app.comparisons.models import PeerConsent
from app.countries.models import Country
from app.countries.service import INCOME_GROUPS
from benchmarks.comparisons import Seed, seed
from tests.membership import BACKENDS, CYCLE, MEMBERS, member_seeds, membership_client, tokens

PREVIOUS = "2030"
ECA = "Europe and Central Asia"
LAC = "Latin America and the Caribbean"
SSA = "Sub-Saharan Africa"


@dataclass
class Membership:
    client: TestClient
    tokens: dict[str, str] = field(default_factory=dict)
    ids: dict[tuple[str, str], int] = field(default_factory=dict)

    def get(self, who: str, url: str):
        return self.client.get(url, headers={"Authorization": f"Bearer {self.tokens[who]}"})

    def send(self, who: str, method: str, url: str, json=None):
        headers = {"Authorization": f"Bearer {self.tokens[who]}"}
        return self.client.request(method, url, json=json, headers=headers)

    def events(self, action: str) -> list[AuditEvent]:
        with self.client.app.state.sessionmaker() as session:
            return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


@pytest.fixture(scope="module", params=BACKENDS)
def world(request, make_migrated_database):
    with membership_client(make_migrated_database, request.param) as client:
        found = Membership(client)
        seeds = member_seeds(client)
        seeds += [
            Seed("FRA", PREVIOUS, levels=1, days_ago=400),
            Seed("DEU", PREVIOUS, levels=3, days_ago=400),
            Seed("ITA", PREVIOUS, status="draft", answered=0.5, days_ago=400),
            # a non-member that opted in: never counted, never listed
            Seed("USA", CYCLE, levels=4, include_in_aggregates=True),
        ]
        with client.app.state.sessionmaker.begin() as session:
            found.ids = seed(session, seeds)
            session.execute(update(Country).where(Country.code == "USA").values(is_member=False))
            # a member with nothing yet, for the sharing settings tests
            session.execute(update(Country).where(Country.code == "AUS").values(is_member=True))
            found.tokens = tokens(
                session,
                {
                    "secretariat": ("secretariat", None),
                    "admin": ("admin", None),
                    "fra": ("coordinator", "FRA"),
                    "fra_viewer": ("viewer", "FRA"),
                    "deu": ("coordinator", "DEU"),
                    "ita": ("coordinator", "ITA"),
                    "esp": ("coordinator", "ESP"),
                    "ken": ("coordinator", "KEN"),
                    "ken_contributor": ("contributor", "KEN"),
                    "usa": ("coordinator", "USA"),
                    "aus": ("coordinator", "AUS"),
                    "aus_viewer": ("viewer", "AUS"),
                    "aus_contributor": ("contributor", "AUS"),
                },
            )
            # USA and FRA consent to each other, as rows: FRA still may not see a non-member
            usa, fra = (
                session.scalar(select(Country.id).where(Country.code == code))
                for code in ("USA", "FRA")
            )
            session.execute(
                insert(PeerConsent),
                [{"country_id": usa, "peer_id": fra}, {"country_id": fra, "peer_id": usa}],
            )
        # FRA and DEU agree to compare; FRA offers KEN, which has not answered
        for who, peer in (("fra", "DEU"), ("deu", "FRA"), ("fra", "KEN")):
            response = found.send(who, "POST", f"/api/v1/sharing/peers/{peer}")
            assert response.status_code == 200, response.text
        yield found


def fra_assessment(world) -> int:
    return world.ids[("FRA", CYCLE)]


# ---------------------------------------------------------------- sharing settings


def test_sharing_defaults_to_secretariat_only(world):
    body = world.get("aus_viewer", "/api/v1/sharing").json()
    assert body["country_code"] == "AUS"
    assert body["include_in_aggregates"] is False
    assert body["updated_at"] is None
    assert body["can_change"] is False
    assert body["peers"] == []


def test_only_the_coordinator_changes_sharing_and_it_is_logged(world):
    for who in ("aus_viewer", "aus_contributor"):
        response = world.send(who, "PUT", "/api/v1/sharing", {"include_in_aggregates": True})
        assert response.status_code == 403, who
    assert world.get("aus", "/api/v1/sharing").json()["include_in_aggregates"] is False

    before = len(world.events("sharing.aggregates_decided"))
    response = world.send("aus", "PUT", "/api/v1/sharing", {"include_in_aggregates": True})
    assert response.status_code == 200
    assert response.json()["include_in_aggregates"] is True
    assert response.json()["updated_at"] is not None
    assert world.get("aus_viewer", "/api/v1/sharing").json()["include_in_aggregates"] is True
    response = world.send("aus", "PUT", "/api/v1/sharing", {"include_in_aggregates": False})
    assert response.json()["include_in_aggregates"] is False
    events = world.events("sharing.aggregates_decided")[before:]
    assert [(e.details["from"], e.details["to"]) for e in events] == [(False, True), (True, False)]
    assert all(e.country_id is not None and e.actor_id is not None for e in events)


def test_sharing_input_is_validated(world):
    for body in ({}, {"include_in_aggregates": "yes"}, {"include_in_aggregates": True, "x": 1}):
        assert world.send("aus", "PUT", "/api/v1/sharing", body).status_code == 422


def test_alliance_staff_have_no_sharing_settings(world):
    assert world.get("secretariat", "/api/v1/sharing").status_code == 404
    response = world.send("secretariat", "PUT", "/api/v1/sharing", {"include_in_aggregates": True})
    assert response.status_code == 404


def test_peer_consent_needs_a_member_other_than_oneself(world):
    assert world.send("aus", "POST", "/api/v1/sharing/peers/ZZZ").status_code == 404
    assert world.send("aus", "POST", "/api/v1/sharing/peers/USA").status_code == 404
    assert world.send("aus", "POST", "/api/v1/sharing/peers/AUS").status_code == 422
    assert world.send("aus_viewer", "POST", "/api/v1/sharing/peers/FRA").status_code == 403
    # a non-member cannot offer anything either
    assert world.send("usa", "POST", "/api/v1/sharing/peers/FRA").status_code == 403


def test_consent_shows_on_both_sides_and_mutual_only_when_both_gave_it(world):
    fra = {p["country_code"]: p for p in world.get("fra", "/api/v1/sharing").json()["peers"]}
    assert fra["DEU"] == {
        "country_code": "DEU",
        "country_name": "Germany",
        "consent_given": True,
        "consent_received": True,
        "mutual": True,
    }
    assert fra["KEN"]["consent_given"] and not fra["KEN"]["mutual"]
    assert "USA" not in fra  # not a member: not listed, whatever rows exist
    ken = {p["country_code"]: p for p in world.get("ken", "/api/v1/sharing").json()["peers"]}
    assert ken["FRA"]["consent_received"] and not ken["FRA"]["consent_given"]


def test_consent_can_be_given_twice_and_withdrawn(world):
    assert world.send("ita", "POST", "/api/v1/sharing/peers/esp").status_code == 200
    assert world.send("ita", "POST", "/api/v1/sharing/peers/ESP").status_code == 200
    assert world.send("esp", "POST", "/api/v1/sharing/peers/ITA").status_code == 200
    assert world.get("ita", "/api/v1/peers/ESP/comparison").status_code == 200
    given = [e for e in world.events("sharing.peer_consent_given") if e.target_id == "ESP"]
    assert len(given) == 1

    response = world.send("ita", "DELETE", "/api/v1/sharing/peers/ESP")
    assert response.status_code == 200
    assert response.json()["peers"][0]["consent_given"] is False
    assert world.get("ita", "/api/v1/peers/ESP/comparison").status_code == 404
    assert world.get("esp", "/api/v1/peers/ITA/comparison").status_code == 404
    assert world.events("sharing.peer_consent_withdrawn")[-1].target_id == "ESP"
    assert world.send("ita", "DELETE", "/api/v1/sharing/peers/ESP").status_code == 200


# ---------------------------------------------------------------- country isolation


ALLIANCE_CALLS = (
    "/api/v1/alliance/members",
    "/api/v1/alliance/members?order=score&region=nowhere",
    f"/api/v1/alliance/members?cycle={CYCLE}&status=validated",
    "/api/v1/alliance/review-queue",
    "/api/v1/alliance/heatmap",
    f"/api/v1/alliance/heatmap?cycle={CYCLE}&order=region",
    "/api/v1/alliance/distributions",
    "/api/v1/alliance/trends",
    "/api/v1/alliance/aggregates",
    "/api/v1/alliance/aggregates.csv",
    "/api/v1/alliance/aggregates.xlsx",
)
COUNTRY_USERS = ("fra", "fra_viewer", "ken", "ken_contributor", "usa", "aus")


def test_country_users_get_404_on_every_alliance_endpoint(world):
    for who in COUNTRY_USERS:
        for url in ALLIANCE_CALLS:
            response = world.get(who, url)
            assert response.status_code == 404, (who, url, response.text)
            assert response.json() == {
                "error": {"code": "not_found", "message": "not found", "fields": []}
            }


def test_no_endpoint_shows_a_country_another_countrys_levels_without_mutual_consent(world):
    fra_id = fra_assessment(world)
    for who, own in (("ken", "KEN"), ("fra_viewer", "FRA"), ("usa", "USA"), ("aus", "AUS")):
        for code in [*MEMBERS, "USA", "AUS"]:
            if code == own or (own == "FRA" and code == "DEU"):
                continue
            response = world.get(who, f"/api/v1/peers/{code}/comparison")
            assert response.status_code == 404, (who, code)
            assert response.json()["error"]["message"] == "country not found"
        for (code, _), assessment_id in world.ids.items():
            if code == own:
                continue
            response = world.get(who, f"/api/v1/assessments/{assessment_id}/position")
            assert response.status_code == 404, (who, code)
    # a position holds the caller's own levels and anonymous figures, no other country
    text = world.get("fra", f"/api/v1/assessments/{fra_id}/position").text
    for code in MEMBERS:
        if code != "FRA":
            assert f'"{code}"' not in text
    assert "Germany" not in text and "Kenya" not in text


def test_mutual_consent_shows_both_sides_levels(world):
    body = world.get("fra", "/api/v1/peers/deu/comparison").json()
    columns = [c["capability_id"] for c in body["columns"]]
    legislation = columns.index("legislation")
    assert body["own"]["country_code"] == "FRA" and body["peer"]["country_code"] == "DEU"
    assert body["own"]["levels"][legislation] == 0
    assert body["peer"]["levels"][legislation] == 1
    assert set(body["peer"]["levels"]) == {1, 2}
    # the latest signed-off cycle by default, or the one asked for
    assert body["own"]["cycle"] == CYCLE
    earlier = world.get("deu", f"/api/v1/peers/FRA/comparison?cycle={PREVIOUS}").json()
    assert earlier["own"]["levels"][legislation] == 3  # DEU 2030: everything at 3
    assert earlier["peer"]["levels"][legislation] == 1
    event = world.events("peers.compared")[-1]
    assert event.target_id == "FRA" and event.details == {"cycle": PREVIOUS}


def test_non_members_are_never_compared_even_with_consent_rows(world):
    assert world.get("fra", "/api/v1/peers/USA/comparison").status_code == 404
    assert world.get("usa", "/api/v1/peers/FRA/comparison").status_code == 404
    assert world.get("secretariat", "/api/v1/peers/FRA/comparison").status_code == 404


# ---------------------------------------------------------------- the members dashboard


def test_members_dashboard_lists_every_member_in_name_order(world):
    body = world.get("secretariat", "/api/v1/alliance/members").json()
    assert body["cycle"] == CYCLE and body["cycles"] == [CYCLE, PREVIOUS]
    codes = [m["country_code"] for m in body["members"]]
    assert sorted(codes) == sorted([*MEMBERS, "AUS"])  # USA is not a member
    names = [m["country_name"] for m in body["members"]]
    assert names == sorted(names, key=str.casefold)
    assert body["counts_by_status"] == {
        "not_started": 1,
        "draft": 1,
        "submitted": 2,
        "returned": 0,
        "validated": 13,
    }
    by_code = {m["country_code"]: m for m in body["members"]}
    peru = by_code["PER"]
    assert peru["status"] == "draft" and peru["indicators"] == 96 and peru["answered"] == 48
    assert peru["completeness"] == 0.5
    assert by_code["AUS"]["status"] == "not_started" and by_code["AUS"]["assessment_id"] is None
    france = by_code["FRA"]
    assert france["completeness"] == 1.0 and france["validated_at"] is not None
    assert france["days_since_activity"] == 0
    assert by_code["DEU"]["days_since_activity"] == 1  # seeded a day earlier
    assert "score" not in str(body) and "overall" not in str(body)


def test_members_dashboard_filters_and_orders_by_region(world):
    body = world.get("secretariat", f"/api/v1/alliance/members?region={SSA}").json()
    assert [m["country_code"] for m in body["members"]] == ["GHA", "KEN", "NGA"]
    body = world.get(
        "secretariat", "/api/v1/alliance/members?income_group=Upper-middle income&status=validated"
    ).json()
    assert [m["country_code"] for m in body["members"]] == ["ARG", "BRA", "COL", "MEX"]
    body = world.get("secretariat", "/api/v1/alliance/members?order=region").json()
    keys = [(m["region"], m["country_name"]) for m in body["members"]]
    assert keys == sorted(keys)
    earlier = world.get("secretariat", f"/api/v1/alliance/members?cycle={PREVIOUS}").json()
    assert earlier["counts_by_status"]["validated"] == 2
    assert earlier["counts_by_status"]["not_started"] == 14


def test_members_dashboard_refuses_a_score_order_and_unknown_filters(world):
    for query in ("order=score", "order=overall", "region=Atlantis", "status=lost"):
        response = world.get("secretariat", f"/api/v1/alliance/members?{query}")
        assert response.status_code == 422, query


def test_review_queue_holds_submissions_oldest_first(world):
    queue = world.get("admin", "/api/v1/alliance/review-queue").json()
    assert [(i["country_code"], i["cycle"]) for i in queue] == [("KEN", CYCLE), ("DEU", CYCLE)]
    assert queue[0]["days_waiting"] == 11 and queue[1]["days_waiting"] == 1


# ---------------------------------------------------------------- comparisons for the secretariat


def test_heatmap_rows_follow_names_not_scores(world):
    body = world.get("secretariat", f"/api/v1/alliance/heatmap?region={ECA}").json()
    rows = body["rows"]
    names = [r["country_name"] for r in rows]
    assert names == ["France", "Germany", "Italy", "Netherlands", "Portugal", "Spain"]
    # by level the order would be quite different: Spain, France, ..., Portugal
    leadership = [c["capability_id"] for c in body["columns"]].index("leadership")
    by_level = [r["country_name"] for r in sorted(rows, key=lambda r: -r["levels"][leadership])]
    assert by_level != names
    legislation = [c["capability_id"] for c in body["columns"]].index("legislation")
    assert [r["levels"][legislation] for r in rows] == [0, 1, 2, 4, 3, 2]
    assert len(body["columns"]) == 26 and body["max_level"] == 4
    assert body["level_names"][0] == "Not in place"
    assert world.events("alliance.heatmap_viewed")


def test_heatmap_in_region_order_and_never_by_score(world):
    body = world.get("secretariat", "/api/v1/alliance/heatmap?order=region").json()
    keys = [(r["region"], r["country_name"]) for r in body["rows"]]
    assert keys == sorted(keys)
    assert {r["country_code"] for r in body["rows"]} == set(MEMBERS)  # AUS has none, USA no member
    provisional = {r["country_code"] for r in body["rows"] if r["provisional"]}
    assert provisional == {"PER"}
    response = world.get("secretariat", "/api/v1/alliance/heatmap?order=score")
    assert response.status_code == 422


def test_distributions_count_signed_off_members_per_level(world):
    body = world.get("secretariat", "/api/v1/alliance/distributions").json()
    # 15 signed off members (PER is a draft; GHA and JPN count here: this is internal)
    assert body["countries"] == 15
    legislation = next(c for c in body["capabilities"] if c["capability_id"] == "legislation")
    # 0: FRA MEX / 1: DEU BRA ARG / 2: ITA ESP KEN / 3: PRT COL NGA / 4: NLD CHL GHA JPN
    assert legislation["distribution"] == [2, 3, 3, 3, 4]
    assert legislation["no_level"] == 0
    africa = world.get("secretariat", f"/api/v1/alliance/distributions?region={SSA}").json()
    assert africa["countries"] == 3


def test_trends_across_cycles(world):
    body = world.get("secretariat", "/api/v1/alliance/trends").json()
    assert [c["cycle"] for c in body["cycles"]] == [PREVIOUS, CYCLE]
    earlier, latest = body["cycles"]
    # 2030: FRA everything at 1 (25.0), DEU everything at 3 (75.0), ITA a draft
    assert earlier["members"] == 17
    assert earlier["counts_by_status"] == {
        "not_started": 14,
        "draft": 1,
        "submitted": 0,
        "returned": 0,
        "validated": 2,
    }
    assert (earlier["counted"], earlier["mean_overall"], earlier["median_overall"]) == (2, 50, 50)
    assert latest["counted"] == 15 and latest["counts_by_status"]["not_started"] == 1
    europe = world.get("secretariat", f"/api/v1/alliance/trends?region={ECA}").json()
    assert europe["cycles"][0]["members"] == 6


# ---------------------------------------------------------------- anonymised aggregates


def _cell(body, partition, group, kind, measure):
    found = next(g for g in body["groups"] if g["partition"] == partition and g["group"] == group)
    return next(c for c in found["cells"] if c["kind"] == kind and c["measure_id"] == measure)


WITHHELD = (("region", LAC), ("region", SSA), ("income_group", "Upper-middle income"))


def test_aggregates_equal_hand_computation(world):
    body = world.get("secretariat", "/api/v1/alliance/aggregates").json()
    assert body["cycle"] == CYCLE and body["min_group"] == 5
    assert body["statuses_counted"] == ["submitted", "validated"]
    everyone = _cell(body, "membership", "All contributing members", "capability", "legislation")
    # 13 counted (GHA opted out, PER a draft, JPN never chose, USA no member):
    # 0,0,1,1,1,2,2,2,3,3,3,4,4
    assert everyone == {
        "kind": "capability",
        "measure_id": "legislation",
        "suppressed": False,
        "countries": 13,
        "median": 2.0,
        "lower_quartile": 1.0,
        "upper_quartile": 3.0,
        "distribution": [2, 3, 3, 3, 2],
    }
    europe = _cell(body, "region", ECA, "area", "policy")
    # policy = (2 leadership + threat + 2 legislation + cooperation) / 6:
    # FRA 2, DEU 5/3, ITA 4/3, ESP 10/3, PRT 1, NLD 8/3
    assert (europe["countries"], europe["median"]) == (6, 1.83)
    assert (europe["lower_quartile"], europe["upper_quartile"]) == (1.42, 2.5)
    assert europe["distribution"] == [0, 3, 2, 1, 0]
    high = _cell(body, "income_group", "High income", "capability", "legislation")
    assert (high["countries"], high["median"], high["lower_quartile"]) == (7, 2.0, 1.5)
    assert high["distribution"] == [1, 1, 2, 1, 2]


def test_small_groups_and_their_complements_are_withheld_everywhere(world):
    body = world.get("secretariat", "/api/v1/alliance/aggregates").json()
    withheld = [g for g in body["groups"] if any(c["suppressed"] for c in g["cells"])]
    # Africa (2) is below k, Latin America (5) is withheld so Africa cannot be subtracted
    # out; upper-middle (4) and lower-middle (2) income are both below k; empty groups too.
    assert {(g["partition"], g["group"]) for g in withheld} == {
        ("region", LAC),
        ("region", SSA),
        ("region", "East Asia and Pacific"),
        ("region", "Middle East and North Africa"),
        ("region", "North America"),
        ("region", "South Asia"),
        ("income_group", "Low income"),
        ("income_group", "Lower-middle income"),
        ("income_group", "Upper-middle income"),
        ("income_group", "Not classified"),
    }
    for group in withheld:
        for cell in group["cells"]:
            assert cell["suppressed"]
            assert [cell[key] for key in ("countries", "median", "distribution")] == [None] * 3
            assert cell["lower_quartile"] is None and cell["upper_quartile"] is None

    rows = list(csv.DictReader(io.StringIO(_csv(world).decode("utf-8-sig"))))
    workbook = openpyxl.load_workbook(io.BytesIO(_xlsx(world)))
    sheet = list(workbook["Aggregates"].iter_rows(values_only=True))
    assert len(rows) == len(sheet) - 1 == 13 * (7 + 26)  # 13 groups × 33 measures
    for partition, group in WITHHELD:
        mine = [r for r in rows if r["partition"] == partition and r["group"] == group]
        assert mine and all(
            r["countries"] == r["median"] == r["level_0_not_in_place"] == "" for r in mine
        )
        assert all(r["note"].startswith("withheld") for r in mine)
        cells = [r for r in sheet[1:] if r[1] == partition and r[2] == group]
        assert cells and all(r[7:-1] == (None,) * (len(r) - 8) for r in cells)


def _csv(world) -> bytes:
    response = world.get("secretariat", "/api/v1/alliance/aggregates.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="gsr-aggregates-2031.csv"' in response.headers["content-disposition"]
    assert response.headers["cache-control"] == "no-store"
    return response.content


def _xlsx(world) -> bytes:
    response = world.get("secretariat", "/api/v1/alliance/aggregates.xlsx")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    return response.content


def test_exports_carry_the_same_figures_as_the_api_and_are_logged(world):
    before = len(world.events("aggregates.exported"))
    rows = list(csv.DictReader(io.StringIO(_csv(world).decode("utf-8-sig"))))
    legislation = next(
        r
        for r in rows
        if r["partition"] == "region" and r["group"] == ECA and r["measure_id"] == "legislation"
    )
    assert legislation["countries"] == "6"
    assert (legislation["median"], legislation["lower_quartile"]) == ("2.0", "1.25")
    assert legislation["upper_quartile"] == "2.75"
    counts = [
        legislation[f"level_{n}_{name}"]
        for n, name in enumerate(
            ("not_in_place", "building", "developing", "established", "mature")
        )
    ]
    assert counts == ["1", "1", "2", "1", "1"]
    workbook = openpyxl.load_workbook(io.BytesIO(_xlsx(world)))
    header, *table = list(workbook["Aggregates"].iter_rows(values_only=True))
    assert list(header) == list(rows[0].keys())
    found = next(r for r in table if r[1] == "region" and r[2] == ECA and r[4] == "legislation")
    assert found[7:16] == (6, 2, 1.25, 2.75, 1, 1, 2, 1, 1)
    about = " ".join(str(r[0]) for r in workbook["About"].iter_rows(values_only=True))
    assert "fewer than 5 countries" in about
    events = world.events("aggregates.exported")[before:]
    assert [e.details["format"] for e in events] == ["csv", "xlsx"]
    assert world.get("secretariat", "/api/v1/alliance/aggregates.pdf").status_code == 404


def test_opting_out_removes_a_country_from_every_figure(world):
    base = world.get("secretariat", "/api/v1/alliance/aggregates").json()
    assert (
        _cell(base, "membership", "All contributing members", "capability", "legislation")[
            "countries"
        ]
        == 13
    )
    try:
        response = world.send("fra", "PUT", "/api/v1/sharing", {"include_in_aggregates": False})
        assert response.status_code == 200
        body = world.get("secretariat", "/api/v1/alliance/aggregates").json()
        everyone = _cell(
            body, "membership", "All contributing members", "capability", "legislation"
        )
        assert everyone["countries"] == 12 and everyone["distribution"] == [1, 3, 3, 3, 2]
        high = _cell(body, "income_group", "High income", "capability", "legislation")
        assert high["countries"] == 6 and high["distribution"] == [0, 1, 2, 1, 2]
        # Europe (5) and Latin America (5) now tie as the complement of Africa (2): the
        # region listed first, Europe, is withheld with it
        assert _cell(body, "region", ECA, "capability", "legislation")["suppressed"]
        assert not _cell(body, "region", LAC, "capability", "legislation")["suppressed"]
    finally:
        world.send("fra", "PUT", "/api/v1/sharing", {"include_in_aggregates": True})


# ---------------------------------------------------------------- a country's position


def test_position_shows_own_levels_beside_published_aggregates(world):
    body = world.get("fra_viewer", f"/api/v1/assessments/{fra_assessment(world)}/position").json()
    assert (body["country_code"], body["region"], body["cycle"]) == ("FRA", ECA, CYCLE)
    rows = {(r["kind"], r["measure_id"]): r for r in body["rows"]}
    legislation = rows[("capability", "legislation")]
    assert legislation["own"] == 0
    assert legislation["region"]["countries"] == 6 and legislation["region"]["median"] == 2.0
    assert legislation["membership"]["countries"] == 13
    policy = rows[("area", "policy")]
    assert policy["own"] == 2.0 and policy["region"]["median"] == 1.83
    assert len(body["rows"]) == 7 + 26


def test_position_withholds_what_every_other_view_withholds(world):
    body = world.get("ken", f"/api/v1/assessments/{world.ids[('KEN', CYCLE)]}/position").json()
    assert body["region"] == SSA
    for row in body["rows"]:
        assert row["region"]["suppressed"] and row["region"]["countries"] is None
        assert not row["membership"]["suppressed"]
    # the secretariat sees the same cells for the same assessment
    same = world.get("secretariat", f"/api/v1/assessments/{world.ids[('KEN', CYCLE)]}/position")
    assert same.json()["rows"] == body["rows"]
    # Latin America is withheld as the complement of Africa, for its own members too
    brazil = world.ids[("BRA", CYCLE)]
    rows = world.get("secretariat", f"/api/v1/assessments/{brazil}/position").json()["rows"]
    assert all(r["region"]["suppressed"] for r in rows)


def test_membership_brief_context_is_the_withheld_tables(world):
    from app.comparisons import service

    with world.client.app.state.sessionmaker() as session:
        brief = service.membership_brief_context(session, CYCLE, k=5)
    assert brief.cycle == CYCLE and brief.min_group == 5
    assert brief.membership.cell(service.Measure("capability", "legislation")).countries == 13
    regions = {g.group: g for g in brief.regions}
    assert all(c.suppressed for c in regions[SSA].cells)
    assert all(c.suppressed for c in regions[LAC].cells)
    assert not any(c.suppressed for c in regions[ECA].cells)
    assert [g.group for g in brief.income_groups] == list(INCOME_GROUPS)
    assert len(brief.measures) == 33 and brief.level_names[-1] == "Mature"


def test_assessment_of_a_draft_country_reads_its_own_provisional_position(world):
    response = world.get("secretariat", f"/api/v1/assessments/{world.ids[('PER', CYCLE)]}/position")
    body = response.json()
    assert body["provisional"] is True and body["status"] == "draft"
    with world.client.app.state.sessionmaker() as session:
        stored = session.get(Assessment, world.ids[("PER", CYCLE)])
        assert stored.status == "draft"
