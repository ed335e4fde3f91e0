"""The gap report's "Your position among members": the position API's figures, withheld where
it withholds them, explained, and rendered anew when other countries' counted answers change.

The module builds its own database per backend (the shared test database must not see
countries turned into members): Europe and Central Asia publishes, Sub-Saharan Africa is too
small, and an earlier cycle has too few countries for anything to be published.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from babel.numbers import format_decimal
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from app.assessments.models import Assessment
from app.audit.models import AuditEvent
from app.reporting.render import RenderStats, ReportRenderer
from app.scoring import display_score
from benchmarks.comparisons import Seed, seed
from tests.membership import BACKENDS, CYCLE, MEMBERS, member_seeds, membership_client, tokens
from tests.reporting.report_helpers import (
    empty_store,
    outline_titles,
    page_with,
    read_pdf,
    squash,
)

SMALL_CYCLE = "2030"
SECTION = "Your position among members"
WITHHELD = "Not published: fewer than 5 countries"
# The standard membership but for its members that are never counted.
POSITION_MEMBERS = {code: row for code, row in MEMBERS.items() if code not in ("PER", "JPN")}


@dataclass
class World:
    client: TestClient
    renderer: ReportRenderer
    tokens: dict[str, str] = field(default_factory=dict)
    ids: dict[tuple[str, str], int] = field(default_factory=dict)

    def get(self, who: str, url: str):
        return self.client.get(url, headers={"Authorization": f"Bearer {self.tokens[who]}"})

    def post(self, who: str, url: str, json: dict):
        headers = {"Authorization": f"Bearer {self.tokens[who]}"}
        return self.client.post(url, json=json, headers=headers)

    def gap(self, who: str, code: str, cycle: str = CYCLE):
        return self.get(who, f"/api/v1/assessments/{self.ids[(code, cycle)]}/reports/gap.pdf")

    def position(self, who: str, code: str, cycle: str = CYCLE) -> dict:
        answer = self.get(who, f"/api/v1/assessments/{self.ids[(code, cycle)]}/position")
        assert answer.status_code == 200, answer.text
        return answer.json()


@pytest.fixture(scope="module", params=BACKENDS)
def world(request, make_migrated_database, shared_renderer):
    with membership_client(
        make_migrated_database, request.param, renderer=shared_renderer
    ) as client:
        found = World(client, shared_renderer)
        seeds = [
            *member_seeds(client, POSITION_MEMBERS),
            Seed("FRA", SMALL_CYCLE, levels=1),
            Seed("DEU", SMALL_CYCLE, levels=3),
        ]
        with client.app.state.sessionmaker.begin() as session:
            found.ids = seed(session, seeds)
            # France's report compares with its previous cycle, so it has a change section.
            session.execute(
                update(Assessment)
                .where(Assessment.id == found.ids[("FRA", CYCLE)])
                .values(previous_id=found.ids[("FRA", SMALL_CYCLE)])
            )
            found.tokens = tokens(
                session,
                {
                    "secretariat": ("secretariat", None),
                    "fra": ("coordinator", "FRA"),
                    "ken": ("coordinator", "KEN"),
                },
            )
        yield found


@pytest.fixture
def fresh(world, tmp_path):
    """The module's world with an empty report cache and zeroed counts."""
    empty_store(world.client.app)
    world.renderer.stats = RenderStats()
    return world


def number(value) -> str:
    return format_decimal(value, locale="en_GB")


def on_100(level: float) -> str:
    """A value on the level scale (0 to 4) as the report writes it, on its 0-100 scale."""
    return display_score(level * 25)


def figures(cell: dict) -> str:
    """A group's three cells in the position table, as their text reads back."""
    if cell["suppressed"]:
        return "–"
    return (
        f"{on_100(cell['median'])} {on_100(cell['lower_quartile'])} to "
        f"{on_100(cell['upper_quartile'])} {number(cell['countries'])}"
    )


def shown_groups(body: dict) -> tuple[str, ...]:
    """The groups with a column in the table: those with any figure published."""
    return tuple(
        group
        for group in ("region", "membership")
        if any(not row[group]["suppressed"] for row in body["rows"])
    )


def expected_rows(world: World, body: dict) -> list[str]:
    """Every row of the position table as it should read, from the position API: the own
    score and the figures of the groups shown, all on the 0-100 scale. A row with no figure
    in any group shown is left out of the table (it is named in a sentence instead)."""
    groups = shown_groups(body)
    catalogue = world.client.app.state.catalogue.catalogue
    numbers, titles = {}, {}
    for area_number, area in enumerate(catalogue.areas, start=1):
        numbers[("area", area.id)] = str(area_number)
        titles[("area", area.id)] = area.title.get()
        for index, capability in enumerate(area.capabilities, start=1):
            numbers[("capability", capability.id)] = f"{area_number}.{index}"
            titles[("capability", capability.id)] = capability.title.get()
    rows = []
    for row in body["rows"]:
        key = (row["kind"], row["measure_id"])
        if all(row[group]["suppressed"] for group in groups):
            continue
        cells = " ".join(figures(row[group]) for group in groups)
        rows.append(f"{numbers[key]} {titles[key]} {on_100(row['own'])} {cells}")
    return rows


def section_text(pages: list[str]) -> str:
    """The position section's text: from its heading to the first area's section."""
    start = page_with(pages, "Your own scores beside the figures of your region")
    end = start
    while end < len(pages) and "Your position among members" in squash(pages[end]):
        end += 1  # the running head names the section on every page it covers
    return squash(" ".join(pages[start - 1 : end]))


def test_position_section_shows_the_position_api_figures(fresh):
    response = fresh.gap("fra", "FRA")
    assert response.status_code == 200, response.text
    reader, pages = read_pdf(response.content)
    body = fresh.position("fra", "FRA")
    assert body["region"] == "Europe and Central Asia"
    membership = [row["membership"] for row in body["rows"]]
    region = [row["region"] for row in body["rows"]]
    assert not any(cell["suppressed"] for cell in membership)
    assert not any(cell["suppressed"] for cell in region)

    text = section_text(pages)
    for row in expected_rows(fresh, body):
        assert row in text, row
    assert "anonymised aggregates of the member countries that chose to be included" in text
    assert "counting their submitted and validated assessments" in text
    assert "at least 5 countries count in them" in text
    assert "Europe and Central Asia" in text and "All contributing members" in text
    # The chart is there, with its legend.
    assert "Middle half of countries (lower to upper quartile)" in text
    assert "Your value" in text

    # Listed in the contents after the change since the previous cycle, and bookmarked.
    contents = squash(pages[1])
    change = f"Change since cycle {SMALL_CYCLE}"
    assert contents.index(change) < contents.index(SECTION) < contents.index("Results by area")
    assert page_with(pages, "Capabilities that moved", 2) < page_with(pages, SECTION, 2)
    assert SECTION in [squash(title) for title in outline_titles(reader)]
    # No other country is named in the section.
    for name in ("Germany", "Italy", "Spain", "Portugal", "Netherlands", "Kenya", "Brazil"):
        assert name not in text


def test_a_withheld_region_shows_no_figure(fresh):
    response = fresh.gap("ken", "KEN")
    assert response.status_code == 200, response.text
    _, pages = read_pdf(response.content)
    body = fresh.position("ken", "KEN")
    assert body["region"] == "Sub-Saharan Africa"
    assert all(row["region"]["suppressed"] for row in body["rows"])
    assert not any(row["membership"]["suppressed"] for row in body["rows"])
    text = section_text(pages)
    # The region gets no column at all: the table reads the own score and the membership.
    assert shown_groups(body) == ("membership",)
    for row in expected_rows(fresh, body):
        assert row in text, row
    assert WITHHELD not in text and " – " not in text
    assert "No figure is published for Sub-Saharan Africa in this cycle" in text
    assert text.count("Sub-Saharan Africa") <= 3  # the lead, the note and the chart text


def test_nothing_published_is_said_in_one_sentence(fresh):
    response = fresh.gap("fra", "FRA", SMALL_CYCLE)
    assert response.status_code == 200, response.text
    _, pages = read_pdf(response.content)
    body = fresh.position("fra", "FRA", SMALL_CYCLE)
    assert all(row["region"]["suppressed"] for row in body["rows"])
    assert all(row["membership"]["suppressed"] for row in body["rows"])
    page = page_with(pages, "Your own scores beside the figures of your region")
    text = squash(pages[page - 1])
    assert (
        f"No figures can be published for cycle {SMALL_CYCLE} yet: fewer than 5 member "
        "countries that chose to be included have submitted an assessment."
    ) in text
    assert "Middle half" not in text and WITHHELD not in text


def test_the_report_is_rendered_anew_when_another_countrys_counted_assessment_changes(fresh):
    first = fresh.gap("fra", "FRA")
    second = fresh.gap("fra", "FRA")
    assert second.content == first.content
    assert (fresh.renderer.stats.renders, fresh.renderer.stats.cache_hits) == (1, 1)
    before = fresh.position("fra", "FRA")

    # The secretariat returns Germany's submitted assessment: it leaves the figures, and
    # France's own assessment does not change at all.
    returned = fresh.post(
        "secretariat",
        f"/api/v1/assessments/{fresh.ids[('DEU', CYCLE)]}/return",
        {"comments": {"legislation": "Please attach the adopted text."}},
    )
    assert returned.status_code == 200, returned.text
    after = fresh.position("fra", "FRA")
    assert after["rows"] != before["rows"]
    assert after["rows"][0]["membership"]["countries"] == (
        before["rows"][0]["membership"]["countries"] - 1
    )

    third = fresh.gap("fra", "FRA")
    assert third.status_code == 200
    assert (fresh.renderer.stats.renders, fresh.renderer.stats.cache_hits) == (2, 1)
    text = section_text(read_pdf(third.content)[1])
    for row in expected_rows(fresh, after):
        assert row in text, row
    with fresh.client.app.state.sessionmaker() as session:
        flags = session.scalars(
            select(AuditEvent.details)
            .where(
                AuditEvent.action == "report.downloaded",
                AuditEvent.assessment_id == fresh.ids[("FRA", CYCLE)],
            )
            .order_by(AuditEvent.id)
        ).all()
    assert [details["from_cache"] for details in flags[-3:]] == [False, True, False]
