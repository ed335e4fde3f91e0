"""The alliance view, sharing, position and peer pages, driven as a browser without JavaScript.

The module builds its own database per backend (the shared test database must not see
countries turned into members), with a crafted membership: one region large enough to
publish, one too small, and levels chosen so that ordering rows by level would differ from
ordering them by name.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.comparisons import service as comparisons
from app.comparisons.models import PeerConsent, SharingSettings
from app.core.config import Settings
from app.countries.models import Country
from benchmarks.comparisons import Seed, seed
from tests.membership import BACKENDS, membership_client, users

PASSWORD = "a long enough password"
CYCLE = "2031"
ECA = "Europe and Central Asia"
LAC = "Latin America and the Caribbean"
SSA = "Sub-Saharan Africa"
ALLIANCE_PAGES = (
    "/alliance",
    f"/alliance?cycle={CYCLE}&region={ECA}&status=validated&order=region",
    "/alliance?order=score",
    "/alliance/heatmap",
    f"/alliance/heatmap?cycle={CYCLE}&order=region",
    "/alliance/distributions",
    f"/alliance/distributions?cycle={CYCLE}&region={SSA}",
    "/alliance/trends",
    "/alliance/aggregates",
    f"/alliance/aggregates?cycle={CYCLE}",
)

# code: (every capability's level, status, counted in aggregates)
MEMBERS = {
    # Europe and Central Asia: six counted, and Åland Islands as a draft
    "ITA": (4, "validated", True),
    "DEU": (1, "submitted", True),
    "FRA": (3, "validated", True),
    "ESP": (0, "validated", True),
    "PRT": (2, "validated", True),
    "NLD": (2, "validated", True),
    "ALA": (4, "draft", True),
    # Latin America: five counted, withheld all the same so that Sub-Saharan Africa
    # cannot be worked out by subtraction
    "BRA": (2, "validated", True),
    "ARG": (1, "validated", True),
    "CHL": (3, "validated", True),
    "COL": (0, "submitted", True),
    "MEX": (2, "validated", True),
    # Sub-Saharan Africa: two counted, too few to publish
    "KEN": (4, "submitted", True),
    "NGA": (3, "validated", True),
    # a member that keeps its results with the secretariat
    "GHA": (1, "validated", False),
}

# The confidentiality threshold the test applications run with (the setting's default).
MIN_GROUP = Settings().aggregate.min_group


@dataclass
class World:
    app: object
    users: dict[str, str] = field(default_factory=dict)  # who: e-mail address
    ids: dict[str, int] = field(default_factory=dict)  # country code: assessment id
    clients: dict[str, TestClient] = field(default_factory=dict)

    def client(self, who: str) -> TestClient:
        if who not in self.clients:
            self.clients[who] = login(self.app, self.users[who])
        return self.clients[who]

    def events(self, action: str) -> list[AuditEvent]:
        with self.app.state.sessionmaker() as session:
            return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))

    def sharing_row(self, code: str) -> SharingSettings | None:
        with self.app.state.sessionmaker() as session:
            country = session.scalar(select(Country).where(Country.code == code))
            return session.get(SharingSettings, country.id)

    def consents(self) -> set[tuple[str, str]]:
        with self.app.state.sessionmaker() as session:
            codes = dict(session.execute(select(Country.id, Country.code)).all())
            rows = session.execute(select(PeerConsent.country_id, PeerConsent.peer_id)).all()
            return {(codes[owner], codes[peer]) for owner, peer in rows}


def login(app, email: str) -> TestClient:
    client = TestClient(app)
    page = client.get("/login?next=/")
    token = re.search(r'name="login_csrf" value="([^"]+)"', page.text).group(1)
    answer = client.post(
        "/login",
        data={"email": email, "password": PASSWORD, "login_csrf": token, "next": "/"},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    return client


def csrf(client: TestClient) -> str:
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', client.get("/").text).group(1)


def text_of(page: str) -> str:
    """The visible text of a page, tags removed, entities decoded, spaces collapsed."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def main_of(page: str) -> str:
    return re.search(r"<main\b.*?</main>", page, flags=re.S).group(0)


@pytest.fixture(scope="module", params=BACKENDS)
def world(request, make_migrated_database):
    with membership_client(make_migrated_database, request.param) as client:
        found = World(client.app)
        seeds = [
            Seed(code, CYCLE, status=status, levels=level, include_in_aggregates=choice, days_ago=i)
            for i, (code, (level, status, choice)) in enumerate(MEMBERS.items())
        ]
        with client.app.state.sessionmaker.begin() as session:
            found.ids = {code: value for (code, _), value in seed(session, seeds).items()}
            people = {
                "secretariat": ("secretariat", None),
                "admin": ("admin", None),
                "fra": ("coordinator", "FRA"),
                "fra_viewer": ("viewer", "FRA"),
                "fra_contributor": ("contributor", "FRA"),
                "deu": ("coordinator", "DEU"),
                "ita": ("coordinator", "ITA"),
                "ken": ("coordinator", "KEN"),
                "gha": ("coordinator", "GHA"),
            }
            found.users = users(session, people, PASSWORD)
        yield found


# ---------------------------------------------------------------- the alliance view


def test_navigation_shows_members_to_the_alliance_and_sharing_to_countries(world):
    for who in ("secretariat", "admin"):
        page = world.client(who).get("/").text
        assert 'href="/alliance"' in page and 'href="/sharing"' not in page
    for who in ("fra", "fra_viewer", "fra_contributor"):
        page = world.client(who).get("/").text
        assert 'href="/sharing"' in page and 'href="/alliance"' not in page


@pytest.mark.parametrize("who", ["fra", "fra_viewer", "fra_contributor", "ken"])
def test_country_users_get_not_found_on_every_alliance_page_and_none_of_the_data(world, who):
    client = world.client(who)
    others = [
        "Germany",
        "Italy",
        "Spain",
        "Portugal",
        "Netherlands",
        "Nigeria",
        "Ghana",
        "Åland",
    ]
    for path in ALLIANCE_PAGES:
        answer = client.get(path)
        assert answer.status_code == 404, path
        assert "Page not found" in answer.text
        for leaked in [*others, CYCLE, "Heatmap", "Anonymised aggregates", "Suppressed"]:
            assert leaked not in answer.text, (path, leaked)


def _member_rows(page: str) -> list[str]:
    """The country names of the members table, top to bottom."""
    table = page.split('id="members-heading"')[1].split('id="queue-heading"')[0]
    return re.findall(r'<th scope="row" data-label="Country">(?:<a [^>]*>)?([^<]+)', table)


def test_members_page_shows_status_and_progress_in_name_order_without_scores(world):
    page = world.client("secretariat").get("/alliance")
    assert page.status_code == 200
    text = text_of(main_of(page.text))
    rows = _member_rows(page.text)
    assert len(rows) == len(MEMBERS)
    assert rows == sorted(rows, key=comparisons.name_key)
    assert rows[0] == "Åland Islands"  # accents ignored: Å sorts with A
    assert "Draft" in text and "Submitted" in text and "Validated" in text
    assert "Median" not in text and "score" not in text.lower()
    # counts by status, each a link that filters the table
    link = f"/alliance?cycle={CYCLE}&amp;region=&amp;income_group=&amp;order=name&amp;status="
    assert f'href="{link}submitted"' in page.text
    # the review queue: the two submissions, each linking to its assessment
    queue = page.text.split('id="queue-heading"')[1]
    assert f'href="/assessments/{world.ids["DEU"]}"' in queue
    assert f'href="/assessments/{world.ids["COL"]}"' in queue
    assert f'href="/assessments/{world.ids["KEN"]}"' in queue
    assert f'href="/assessments/{world.ids["FRA"]}"' not in queue

    filtered = world.client("secretariat").get(f"/alliance?region={SSA}&status=submitted")
    assert _member_rows(filtered.text) == ["Kenya"]


def test_members_page_refuses_a_score_order(world):
    answer = world.client("secretariat").get("/alliance?order=score")
    assert answer.status_code == 422
    assert "Kenya" not in answer.text


def test_heatmap_rows_come_in_name_order_even_when_levels_would_differ(world):
    page = world.client("secretariat").get(f"/alliance/heatmap?cycle={CYCLE}&region={ECA}")
    assert page.status_code == 200
    rows = re.findall(r'class="heatmap__country">\s*<a href="[^"]+">([^<]+)</a>', page.text)
    assert rows == [
        "Åland Islands",
        "France",
        "Germany",
        "Italy",
        "Netherlands",
        "Portugal",
        "Spain",
    ]
    by_level = sorted(rows, key=lambda name: -MEMBERS[_code(name)][0])
    assert rows != by_level
    # each cell shows its level as text and as a shade
    assert '<td class="lvl lvl-4 heatmap__first">4</td>' in page.text
    assert '<td class="lvl lvl-0' in page.text
    assert "Draft" in text_of(page.text)  # Åland's draft is marked as such
    assert world.events("alliance.heatmap_viewed")


def test_heatmap_in_region_order_groups_rows_by_region(world):
    page = world.client("secretariat").get(f"/alliance/heatmap?cycle={CYCLE}&order=region")
    rows = re.findall(r'class="heatmap__country">\s*<a href="[^"]+">([^<]+)</a>', page.text)
    assert (
        rows.index("Spain") < rows.index("Argentina") < rows.index("Ghana") < rows.index("Nigeria")
    )
    groups = re.findall(r'<tr class="heatmap__group"><th [^>]*><span>([^<]+)', page.text)
    assert groups == [ECA, LAC, SSA]


def test_distributions_and_trends_show_counts(world):
    client = world.client("secretariat")
    page = client.get(f"/alliance/distributions?cycle={CYCLE}")
    assert page.status_code == 200
    # fourteen members signed off (Åland's draft is not counted)
    assert "14 members counted in cycle 2031." in text_of(page.text)
    assert "<svg" in page.text
    assert "Level 4, Mature: 2 members" in text_of(page.text)  # Italy and Kenya
    trends = client.get("/alliance/trends")
    assert trends.status_code == 200
    assert "Median overall score" in trends.text
    assert '<circle class="trend__point"' in trends.text


def _code(name: str) -> str:
    return {
        "Åland Islands": "ALA",
        "France": "FRA",
        "Germany": "DEU",
        "Italy": "ITA",
        "Netherlands": "NLD",
        "Portugal": "PRT",
        "Spain": "ESP",
    }[name]


def _group_blocks(page: str) -> dict[str, str]:
    """Each region's and income group's collapsible table, by the group's name."""
    blocks = {}
    for block in re.findall(r'<details class="group">.*?</details>', page, flags=re.S):
        name = re.search(r"<summary>([^<·]+)", block).group(1).strip()
        blocks[name] = block
    return blocks


def test_aggregates_never_show_a_number_for_a_withheld_group(world):
    page = world.client("secretariat").get(f"/alliance/aggregates?cycle={CYCLE}")
    assert page.status_code == 200
    withheld = f"Suppressed (fewer than {MIN_GROUP} countries)"
    blocks = _group_blocks(page.text)
    assert withheld in blocks[SSA]  # two countries: below any threshold
    assert withheld in blocks[LAC]  # five, withheld to protect Sub-Saharan Africa
    for name, block in blocks.items():
        if withheld in block:
            rest = text_of(block).replace(withheld, "")
            assert not re.search(r"\d", rest), (name, rest)
    if MIN_GROUP <= 6:  # the six counted in Europe and Central Asia are shown
        assert withheld not in blocks[ECA]
        assert re.search(r'<td class="num">6</td>', blocks[ECA])
    # the membership counts everyone who opted in with a signed-off assessment, not Ghana
    membership = page.text.split('id="membership-heading"')[1].split('id="regions-heading"')[0]
    assert '<td class="num">13</td>' in membership
    # the downloads are the API's exports, which take the session cookie
    assert f'href="/api/v1/alliance/aggregates.csv?cycle={CYCLE}"' in page.text
    assert f'href="/api/v1/alliance/aggregates.xlsx?cycle={CYCLE}"' in page.text
    exported = world.client("secretariat").get(f"/api/v1/alliance/aggregates.csv?cycle={CYCLE}")
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")


# ---------------------------------------------------------------- sharing settings


def test_the_coordinator_changes_sharing_and_a_viewer_cannot(world):
    viewer = world.client("fra_viewer")
    page = viewer.get("/sharing")
    assert page.status_code == 200
    assert "Only your national coordinator can change this." in text_of(page.text)
    assert 'name="include_in_aggregates"' not in page.text
    refused = viewer.post(
        "/sharing/aggregates", data={"csrf_token": csrf(viewer), "include_in_aggregates": "no"}
    )
    assert refused.status_code == 403 and "You cannot do this" in refused.text
    assert world.sharing_row("FRA").include_in_aggregates is True

    coordinator = world.client("fra")
    page = coordinator.get("/sharing")
    assert 'name="include_in_aggregates" value="yes" checked' in page.text
    assert f"at least {MIN_GROUP} countries" in text_of(page.text)
    before = len(world.events("sharing.aggregates_decided"))
    for choice, stored in (("no", False), ("yes", True)):
        saved = coordinator.post(
            "/sharing/aggregates",
            data={"csrf_token": csrf(coordinator), "include_in_aggregates": choice},
            follow_redirects=False,
        )
        assert saved.status_code == 303 and saved.headers["location"] == "/sharing?saved=1"
        assert world.sharing_row("FRA").include_in_aggregates is stored
    assert len(world.events("sharing.aggregates_decided")) == before + 2
    wrong = coordinator.post(
        "/sharing/aggregates", data={"csrf_token": csrf(coordinator), "include_in_aggregates": "x"}
    )
    assert wrong.status_code == 422 and "Choose yes or no." in text_of(wrong.text)


def test_alliance_staff_have_no_sharing_page(world):
    assert world.client("secretariat").get("/sharing").status_code == 404


def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(world):
    coordinator = world.client("ita")
    before = world.consents()
    for token in (None, "forged"):
        data = {"include_in_aggregates": "no", "country_code": "FRA"}
        if token:
            data["csrf_token"] = token
        for path in ("/sharing/aggregates", "/sharing/peers", "/sharing/peers/FRA/withdraw"):
            answer = coordinator.post(path, data=data)
            assert answer.status_code == 403, path
            assert "You cannot do this" in answer.text
    assert world.sharing_row("ITA").include_in_aggregates is True
    assert world.consents() == before


# ---------------------------------------------------------------- peers


def test_peer_page_needs_mutual_consent_and_then_shows_both_countries(world):
    fra, deu = world.client("fra"), world.client("deu")
    missing = main_of(fra.get("/no/such/page").text)
    one_way = fra.post(
        "/sharing/peers",
        data={"csrf_token": csrf(fra), "country_code": "DEU"},
        follow_redirects=False,
    )
    assert one_way.status_code == 303
    assert ("FRA", "DEU") in world.consents()
    for client, code in ((fra, "DEU"), (deu, "FRA"), (fra, "ZZZ"), (fra, "FRA")):
        refused = client.get(f"/peers/{code}")
        assert refused.status_code == 404
        assert main_of(refused.text) == missing  # the same page as for a missing address
        assert "Germany" not in main_of(refused.text)

    # Germany sees the offer on its sharing page and answers it
    offer = deu.get("/sharing").text
    assert "France" in offer and "Agree to compare" in offer
    deu.post("/sharing/peers", data={"csrf_token": csrf(deu), "country_code": "FRA"})
    sharing = fra.get("/sharing").text
    assert "Active" in sharing and 'href="/peers/DEU"' in sharing

    page = fra.get("/peers/DEU")
    assert page.status_code == 200
    text = text_of(page.text)
    assert "Comparison with Germany" in text and "France" in text
    assert "3 Established" in text and "1 Building" in text  # France 3, Germany 1
    assert world.events("peers.compared")
    # a third country still sees nothing
    assert world.client("ita").get("/peers/FRA").status_code == 404

    withdrawn = fra.post(
        "/sharing/peers/DEU/withdraw", data={"csrf_token": csrf(fra)}, follow_redirects=False
    )
    assert withdrawn.status_code == 303
    assert fra.get("/peers/DEU").status_code == 404
    assert deu.get("/peers/FRA").status_code == 404


def test_only_the_coordinator_gives_consent_and_only_to_a_member(world):
    viewer = world.client("fra_viewer")
    refused = viewer.post(
        "/sharing/peers", data={"csrf_token": csrf(viewer), "country_code": "ITA"}
    )
    assert refused.status_code == 403
    assert ("FRA", "ITA") not in world.consents()
    fra = world.client("fra")
    page = fra.get("/sharing").text
    options = re.findall(r'<option value="([A-Z]{3})">', page)
    assert "ITA" in options and "FRA" not in options and "USA" not in options
    wrong = fra.post("/sharing/peers", data={"csrf_token": csrf(fra), "country_code": "USA"})
    assert wrong.status_code == 422
    assert "Choose a member country from the list." in text_of(wrong.text)


# ---------------------------------------------------------------- a country's position


def test_position_shows_own_levels_beside_published_and_withheld_figures(world):
    ken = world.client("ken")
    url = f"/assessments/{world.ids['KEN']}/position"
    overview = ken.get(f"/assessments/{world.ids['KEN']}").text
    assert f'href="{url}"' in overview
    page = ken.get(url)
    assert page.status_code == 200
    text = text_of(page.text)
    assert "Kenya" in text and SSA in text
    withheld = f"Suppressed (fewer than {MIN_GROUP} countries)"
    assert withheld in text  # its region holds two countries
    assert "13 countries" in text  # the membership is published
    for other in ("Nigeria", "Germany", "France"):
        assert other not in text
    # another country's user cannot see it
    assert world.client("fra").get(url).status_code == 404
