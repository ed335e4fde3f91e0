"""The membership brief: the aggregates API's figures as a publishable PDF, with small groups
withheld, no country named, for the secretariat alone, cached until the figures change.

The module builds its own database per backend (the shared test database must not see
countries turned into members), with a crafted membership: Europe and Central Asia large
enough to publish, Latin America withheld to protect Sub-Saharan Africa, which is too small.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest
from babel.numbers import format_decimal
from fastapi.testclient import TestClient
from sqlalchemy import delete, select, update

from app.accounts import service as accounts
from app.assessments.models import Answer, Assessment
from app.audit.models import AuditEvent
from app.countries.models import Country
from app.reporting.render import RenderStats, ReportRenderer
from benchmarks.comparisons import Seed, seed
from tests.membership import (
    BACKENDS,
    CYCLE,
    MEMBERS,
    member_seeds,
    membership_client,
    tokens,
    users,
)
from tests.reporting.report_helpers import (
    download_report,
    empty_store,
    figure_alts,
    read_pdf,
    squash,
    stored_reports,
)

SMALL_CYCLE = "2030"
BRIEF = "/api/v1/alliance/membership-brief.pdf"
PASSWORD = "a long enough password"
WITHHELD = "Not published: fewer than 5 countries"


@dataclass
class World:
    client: TestClient
    renderer: ReportRenderer
    tokens: dict[str, str] = field(default_factory=dict)
    emails: dict[str, str] = field(default_factory=dict)
    ids: dict[tuple[str, str], int] = field(default_factory=dict)

    def get(self, who: str, url: str):
        return self.client.get(url, headers={"Authorization": f"Bearer {self.tokens[who]}"})

    def events(self, action: str) -> list[AuditEvent]:
        with self.client.app.state.sessionmaker() as session:
            query = select(AuditEvent).where(AuditEvent.action == action)
            return list(session.scalars(query.order_by(AuditEvent.id)))


@pytest.fixture(scope="module", params=BACKENDS)
def world(request, make_migrated_database, shared_renderer):
    with membership_client(
        make_migrated_database, request.param, renderer=shared_renderer
    ) as client:
        found = World(client, shared_renderer)
        # an earlier cycle with two countries counted: nothing can be published for it
        seeds = [
            *member_seeds(client),
            Seed("FRA", SMALL_CYCLE, levels=1),
            Seed("DEU", SMALL_CYCLE, levels=3),
        ]
        with client.app.state.sessionmaker.begin() as session:
            found.ids = seed(session, seeds)
            found.tokens = tokens(
                session,
                {
                    "secretariat": ("secretariat", None),
                    "admin": ("admin", None),
                    "fra": ("coordinator", "FRA"),
                    "fra_viewer": ("viewer", "FRA"),
                    "ken": ("coordinator", "KEN"),
                    "gha": ("coordinator", "GHA"),
                },
            )
            found.emails = users(session, {"secretariat": ("secretariat", None)}, PASSWORD)
        yield found


@pytest.fixture
def fresh(world, tmp_path):
    """The module's world with an empty report cache and zeroed counts."""
    empty_store(world.client.app)
    world.renderer.stats = RenderStats()
    return world


def number(value) -> str:
    return format_decimal(value, locale="en_GB")


def numbered(measures: list[dict]) -> dict[tuple[str, str], str]:
    """Each measure's number as the brief prints it: areas 1, 2...; capabilities 2.3."""
    numbers: dict[tuple[str, str], str] = {}
    areas: dict[str, int] = {}
    within: dict[str, int] = {}
    for info in measures:
        if info["kind"] == "area":
            areas[info["id"]] = len(areas) + 1
            numbers[("area", info["id"])] = str(areas[info["id"]])
        else:
            within[info["area_id"]] = within.get(info["area_id"], 0) + 1
            numbers[("capability", info["id"])] = (
                f"{areas[info['area_id']]}.{within[info['area_id']]}"
            )
    return numbers


def row_text(number_: str, title: str, cell: dict) -> str:
    """A table row of the brief as its text reads back."""
    if cell["suppressed"]:
        return f"{number_} {title} {WITHHELD}"
    figures = [
        cell["countries"],
        cell["median"],
        cell["lower_quartile"],
        cell["upper_quartile"],
        *cell["distribution"],
    ]
    return f"{number_} {title} " + " ".join(number(value) for value in figures)


def sections(reader, pages: list[str]) -> dict[str, str]:
    """The text under each bookmark, from its page to the page before the next bookmark."""
    marks: list[tuple[str, int]] = []

    def walk(items) -> None:
        for item in items:
            if isinstance(item, list):
                walk(item)
            else:
                marks.append((squash(item.title), reader.get_destination_page_number(item)))

    walk(reader.outline)
    found = {}
    for index, (title, page) in enumerate(marks):
        end = len(pages)
        for _, later in marks[index + 1 :]:
            if later > page:
                end = later
                break
        found.setdefault(title, squash(" ".join(pages[page:end])))
    return found


def test_country_users_get_404_and_no_brief(fresh):
    for who in ("fra", "fra_viewer", "ken", "gha"):
        for url in (
            BRIEF,
            f"{BRIEF}?cycle={CYCLE}",
            # refused before any parameter is read: not even a malformed one is a 422
            f"{BRIEF}?cycle={'x' * 99}&locale=not+a+language",
        ):
            answer = fresh.get(who, url)
            assert answer.status_code == 404, (who, url)
            assert answer.json() == {
                "error": {"code": "not_found", "message": "not found", "fields": []}
            }
    assert fresh.client.get(BRIEF).status_code == 401
    assert fresh.renderer.stats.renders == 0
    assert not stored_reports(fresh.client.app)
    country_users = set()
    with fresh.client.app.state.sessionmaker() as session:
        for who in ("fra", "fra_viewer", "ken", "gha"):
            user, _ = accounts.token_user(session, fresh.tokens[who])
            country_users.add(user.id)
    assert not [e for e in fresh.events("report.downloaded") if e.actor_id in country_users]


def test_the_brief_shows_the_aggregates_api_figures_and_withholds_the_same_cells(fresh):
    response = fresh.get("secretariat", f"{BRIEF}?cycle={CYCLE}")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["cache-control"] == "private, no-store"
    assert response.headers["content-disposition"] == (
        f'attachment; filename="membership-brief-{CYCLE}.pdf"'
    )
    aggregates = fresh.get("secretariat", f"/api/v1/alliance/aggregates?cycle={CYCLE}").json()
    reader, pages = read_pdf(response.content)
    text = squash(" ".join(pages))
    by_section = sections(reader, pages)
    numbers = numbered(aggregates["measures"])
    titles = {(info["kind"], info["id"]): info["title"] for info in aggregates["measures"]}

    # The cover: 13 countries counted (the opted-out, the draft, the undecided left out), k.
    cover = squash(pages[0])
    assert "Membership brief" in cover
    assert "Anonymised aggregates of 13 member countries that opted in" in cover
    assert f"Assessment cycle {CYCLE}" in cover
    assert "k = 5 countries" in cover
    assert reader.metadata.title == f"Membership brief: cycle {CYCLE}"

    groups = {(g["partition"], g["group"]): g for g in aggregates["groups"]}
    membership = groups[("membership", "All contributing members")]
    regions = [g for g in aggregates["groups"] if g["partition"] == "region"]
    incomes = [g for g in aggregates["groups"] if g["partition"] == "income_group"]

    def check(group: dict, section: str) -> None:
        for cell in group["cells"]:
            key = (cell["kind"], cell["measure_id"])
            expected = row_text(numbers[key], titles[key], cell)
            assert expected in section, (group["group"], expected)

    check(membership, by_section["Figures for the membership"])
    published = 0
    for group in regions + incomes:
        shown = [c for c in group["cells"] if not c["suppressed"]]
        if shown:
            published += 1
            check(group, by_section[group["group"]])
        else:
            # A group with nothing published has no table and no bookmark of its own.
            assert group["group"] not in by_section, group["group"]
    assert published >= 2  # Europe and Central Asia, and High income at least

    # The summary: the membership's area medians, as published.
    summary = by_section["Summary"]
    for cell in membership["cells"]:
        if cell["kind"] == "area":
            key = ("area", cell["measure_id"])
            lower, upper = number(cell["lower_quartile"]), number(cell["upper_quartile"])
            assert (
                f"{numbers[key]} {titles[key]} {cell['countries']} {number(cell['median'])} "
                f"{lower} to {upper}"
            ) in summary

    # The methodology explains who is counted, the threshold and the complementary rule,
    # and pins the catalogue.
    method = by_section["Methodology"]
    for phrase in (
        "chose to include it in anonymised figures",
        "at least 5 countries count in them",
        "the smallest published group is withheld as well",
        "sha256:",
    ):
        assert phrase in method.replace(" ", " "), phrase
    catalogue = fresh.client.app.state.catalogue.catalogue
    assert f"version {catalogue.version}" in method
    assert "Page 2 of" in text and "Anonymised aggregates: no country is named or ranked" in text

    # Audited, as the secretariat's download of this cycle.
    event = fresh.events("report.downloaded")[-1]
    assert event.details == {
        "report": "membership-brief",
        "cycle": CYCLE,
        "locale": "en",
        "from_cache": False,
    }


def test_no_small_group_has_a_figure_and_no_country_is_named(fresh):
    response = fresh.get("admin", f"{BRIEF}?cycle={CYCLE}")
    assert response.status_code == 200, response.text
    reader, pages = read_pdf(response.content)
    text = squash(" ".join(pages))
    aggregates = fresh.get("admin", f"/api/v1/alliance/aggregates?cycle={CYCLE}").json()
    withheld = [
        g["group"]
        for g in aggregates["groups"]
        if g["partition"] == "region" and all(c["suppressed"] for c in g["cells"])
    ]
    # Sub-Saharan Africa (2 countries), and Latin America (5) that would reveal it.
    assert {"Sub-Saharan Africa", "Latin America and the Caribbean"} <= set(withheld)
    for name in withheld:
        # Wherever a withheld region is named, no figure follows: only the note, or the
        # next name in the list of groups not published.
        assert name in text
        for found in re.finditer(re.escape(name), text):
            after = text[found.end() : found.end() + 40]
            assert not re.match(r"\s*(n\s*=|\d)", after), (name, after)
    assert "Not published for these regions" in text

    # No country's name, code or two-letter code appears anywhere, metadata included.
    with fresh.client.app.state.sessionmaker() as session:
        countries = session.execute(
            select(Country.name, Country.code, Country.alpha2).where(
                Country.code.in_([*MEMBERS, "USA"])
            )
        ).all()
    metadata = " ".join(str(value) for value in (reader.metadata or {}).values())
    for name, code, alpha2 in countries:
        for haystack in (text, metadata):
            assert name not in haystack, name
            assert not re.search(rf"\b{code}\b", haystack), code
            assert not re.search(rf"\b{alpha2}\b", haystack), alpha2


def test_a_cycle_with_too_few_countries_publishes_nothing(fresh):
    response = fresh.get("secretariat", f"{BRIEF}?cycle={SMALL_CYCLE}")
    assert response.status_code == 200, response.text
    _, pages = read_pdf(response.content)
    text = squash(" ".join(pages))
    assert "Fewer than 5: no figures can be published" in squash(pages[0])
    assert (
        "Fewer than 5 member countries that chose to be included have a submitted or "
        f"validated assessment for cycle {SMALL_CYCLE}, so no figures can be published yet."
    ) in text
    assert "n =" not in text and "member countries that opted in" in text
    # Two countries at levels 1 and 3 would give a median of 2 and quartiles of 1.5 and 2.5.
    assert "1.5" not in text and "2.5" not in text


def test_second_download_comes_from_the_cache_until_counted_figures_change(fresh):
    url = f"{BRIEF}?cycle={CYCLE}"
    first = fresh.get("secretariat", url)
    assert first.status_code == 200
    assert (fresh.renderer.stats.renders, fresh.renderer.stats.cache_hits) == (1, 0)
    second = fresh.get("admin", url)
    assert second.content == first.content
    assert (fresh.renderer.stats.renders, fresh.renderer.stats.cache_hits) == (1, 1)
    assert [e.details["from_cache"] for e in fresh.events("report.downloaded")[-2:]] == [
        False,
        True,
    ]
    before = fresh.get("secretariat", f"/api/v1/alliance/aggregates?cycle={CYCLE}").json()

    # A country that is not counted changes its answers: the figures, and the brief, stay.
    with fresh.client.app.state.sessionmaker.begin() as session:
        session.execute(
            update(Answer).where(Answer.assessment_id == fresh.ids[("GHA", CYCLE)]).values(level=0)
        )
    assert fresh.get("secretariat", url).content == first.content
    assert (fresh.renderer.stats.renders, fresh.renderer.stats.cache_hits) == (1, 2)

    # A counted country's assessment changes: new figures, a new render.
    with fresh.client.app.state.sessionmaker.begin() as session:
        session.execute(
            update(Answer).where(Answer.assessment_id == fresh.ids[("FRA", CYCLE)]).values(level=0)
        )
    after = fresh.get("secretariat", f"/api/v1/alliance/aggregates?cycle={CYCLE}").json()
    assert after["groups"] != before["groups"]
    third = fresh.get("secretariat", url)
    assert third.status_code == 200
    assert (fresh.renderer.stats.renders, fresh.renderer.stats.cache_hits) == (2, 2)
    assert third.content != first.content
    membership = next(g for g in after["groups"] if g["partition"] == "membership")
    area = next(c for c in membership["cells"] if c["kind"] == "area")
    numbers = numbered(after["measures"])
    title = next(i["title"] for i in after["measures"] if i["id"] == area["measure_id"])
    expected = row_text(numbers[("area", area["measure_id"])], title, area)
    assert expected in squash(" ".join(read_pdf(third.content)[1]))


def test_an_unknown_cycle_is_not_found_and_the_aggregates_page_links_the_brief(fresh):
    missing = fresh.get("secretariat", f"{BRIEF}?cycle=1999")
    assert missing.status_code == 404
    assert fresh.renderer.stats.renders == 0

    client = TestClient(fresh.client.app)
    page = client.get("/login?next=/")
    token = re.search(r'name="login_csrf" value="([^"]+)"', page.text).group(1)
    answer = client.post(
        "/login",
        data={
            "email": fresh.emails["secretariat"],
            "password": PASSWORD,
            "login_csrf": token,
            "next": "/",
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    page = client.get(f"/alliance/aggregates?cycle={CYCLE}")
    assert page.status_code == 200
    # The page's link is the pages' download route: the PDF, or a page while it is prepared.
    link = f"/alliance/membership-brief.pdf?cycle={CYCLE}"
    assert f'href="{link}"' in page.text
    assert "Download membership brief (PDF)" in page.text
    brief = download_report(client, link)
    assert brief.headers["content-type"] == "application/pdf"
    assert brief.content.startswith(b"%PDF")


def test_every_figure_of_the_brief_has_alternate_text(fresh):
    response = fresh.get("secretariat", f"{BRIEF}?cycle={CYCLE}")
    assert response.status_code == 200, response.text
    reader, _ = read_pdf(response.content)
    alts = figure_alts(reader)
    catalogue = fresh.client.app.state.catalogue.catalogue
    # The summary's range chart and one distribution chart per area.
    assert len(alts) == 1 + len(catalogue.areas), alts
    assert all(alt and alt.strip() for alt in alts), alts
    assert "Area medians of the membership" in alts


def test_by_default_the_brief_is_for_the_latest_cycle_with_published_figures(fresh):
    # A newer cycle holding only a draft, and after it one with too few countries counted.
    with fresh.client.app.state.sessionmaker.begin() as session:
        added = seed(session, [Seed("FRA", "2032", status="draft", levels=1)])
    try:
        response = fresh.get("secretariat", BRIEF)
        assert response.status_code == 200, response.text
        assert response.headers["content-disposition"] == (
            f'attachment; filename="membership-brief-{CYCLE}.pdf"'
        )
        _, pages = read_pdf(response.content)
        assert f"Assessment cycle {CYCLE}" in squash(pages[0])
        assert "Anonymised aggregates of 13 member countries that opted in" in squash(pages[0])
        # Asked for by name, the draft's cycle still has its brief, saying nothing is published.
        named = fresh.get("secretariat", f"{BRIEF}?cycle=2032")
        assert named.status_code == 200
        text = squash(" ".join(read_pdf(named.content)[1]))
        assert "no figures can be published yet" in text
        assert "Levels reached, area by area" in text and "n =" not in text
    finally:
        with fresh.client.app.state.sessionmaker.begin() as session:
            ids = list(added.values())
            session.execute(delete(Answer).where(Answer.assessment_id.in_(ids)))
            session.execute(delete(Assessment).where(Assessment.id.in_(ids)))
