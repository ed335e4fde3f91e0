"""The results page in a real browser (Debian's chromium), at desktop and phone width, as a
coordinator, a contributor and alliance staff: the API's figures on screen, no sideways
scrolling, no serious accessibility fault (axe-core), and figures that follow a saved answer."""

from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path

import pytest

from app.accounts import service as accounts
from app.assessments import service as assessments
from app.assessments.models import Answer
from app.assessments.schemas import AnswerInput, AssessmentCreate, SignOff
from app.reporting import sample
from app.scoring import display_score
from tests.e2e.test_browser_questionnaire import (  # noqa: F401 (fixtures)
    browser,
    log_in,
    make_user,
    no_horizontal_scroll,
    server,
)

axe_package = pytest.importorskip("axe_playwright_python", reason="axe-core is not installed")
AXE = (Path(axe_package.__file__).parent / "axe.min.js").read_text(encoding="utf-8")
pytestmark = pytest.mark.e2e
WIDTHS = (1280, 390)
SHOTS = Path("/tmp")


@pytest.fixture(scope="module")
def country(server):  # noqa: F811
    """XAA's people and two cycles: the first validated, the second answered with targets."""
    people = {
        "coordinator": make_user(server, "coordinator"),
        "contributor": make_user(server, "contributor"),
        "secretariat": make_user(server, "secretariat", country=None),
    }
    catalogue = server["app"].state.catalogue.catalogue
    tag = uuid.uuid4().hex[:6]
    with server["app"].state.sessionmaker.begin() as session:
        coordinator = accounts.find_user(session, people["coordinator"])
        secretariat = accounts.find_user(session, people["secretariat"])
        ids = []
        for cycle, shift in ((f"A{tag}", -1), (f"B{tag}", 0)):
            assessment = assessments.create_assessment(
                session,
                user=coordinator,
                data=AssessmentCreate(country_code="XAA", cycle=cycle),
                catalogue_version_id=server["app"].state.catalogue_version_id,
            )
            sample.answer_all(
                session,
                user=coordinator,
                assessment_id=assessment.id,
                catalogue=catalogue,
                how=sample.SampleAnswers(seed=assessment.id, shift=shift),
            )
            sample.set_targets(
                session,
                user=coordinator,
                assessment_id=assessment.id,
                catalogue=catalogue,
                step=2,
            )
            ids.append(assessment.id)
        signoff = SignOff(name="Amina Diallo", position="Coordinator", date=date.today())
        assessments.submit(session, user=coordinator, assessment_id=ids[0], signoff=signoff)
        assessments.validate(session, user=secretariat, assessment_id=ids[0])
        contributor = accounts.find_user(session, people["contributor"])
        assessments.assign_area(
            session,
            user=coordinator,
            assessment_id=ids[1],
            area_id=catalogue.areas[0].id,
            contributor_id=contributor.id,
        )
    return {"people": people, "assessment": ids[1], "previous": ids[0]}


def serious_violations(page) -> list[str]:
    """axe-core's critical and serious findings on the page as it stands."""
    page.evaluate(AXE)
    found = page.evaluate(
        """async () => {
            const result = await axe.run(document, {resultTypes: ["violations"]});
            return result.violations
                .filter(v => v.impact === "critical" || v.impact === "serious")
                .map(v => v.id + ": " + v.nodes.slice(0, 3).map(n => n.target.join(" ")));
        }"""
    )
    return list(found)


def api_results(page, server, assessment_id: int) -> dict:  # noqa: F811
    response = page.request.get(f"{server['url']}/api/v1/assessments/{assessment_id}/results")
    assert response.ok, response.text()
    return response.json()


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("role", ["coordinator", "contributor", "secretariat"])
def test_results_page_shows_the_api_figures_at_every_width(
    browser,  # noqa: F811
    server,  # noqa: F811
    country,
    role,
    width,
):
    context, page = log_in(browser, server, country["people"][role], width=width)
    try:
        assessment_id = country["assessment"]
        page.goto(f"{server['url']}/assessments/{assessment_id}")
        page.get_by_role("link", name="See the results").click()
        page.wait_for_url(f"{server['url']}/assessments/{assessment_id}/results")
        data = api_results(page, server, assessment_id)

        overall = page.locator('[data-figure="overall"]')
        assert overall.inner_text() == display_score(data["overall"])
        for area in data["areas"]:
            row = page.locator(f'tr[data-area="{area["id"]}"]')
            assert row.locator("[data-score]").inner_text() == display_score(area["score"])
            for capability in area["capabilities"]:
                line = page.locator(f'tr[data-level][data-capability="{capability["id"]}"]')
                assert line.get_attribute("data-level") == (
                    "" if capability["level"] is None else str(capability["level"])
                )
        ranks = page.locator("[data-gap-rank]")
        assert ranks.count() == len(data["gaps"])
        first = page.locator('li[data-gap-rank="1"]')
        assert data["gaps"][0]["title"] in first.inner_text()
        assert data["gaps"][0]["steps"][0]["actions"][0]["title"] in first.inner_text()
        change = page.get_by_role("heading", name=f"Change since cycle {data['change']['cycle']}")
        assert change.is_visible()

        # The charts are named for assistive technology and fit the screen.
        assert page.get_by_role("img", name="Area scores").is_visible()
        heat = page.get_by_role("region", name="Capability heat table")
        assert heat.get_by_role("img", name="Capability heat table").count() == 1
        assert no_horizontal_scroll(page), "the page scrolls sideways"
        assert serious_violations(page) == []
        page.screenshot(path=str(SHOTS / f"results-{role}-{width}.png"), full_page=True)
    finally:
        context.close()


def test_open_results_follow_a_saved_answer(browser, server, country):  # noqa: F811
    people, assessment_id = country["people"], country["assessment"]
    context, page = log_in(browser, server, people["coordinator"], width=WIDTHS[1])
    try:
        page.goto(f"{server['url']}/assessments/{assessment_id}/results")
        before = api_results(page, server, assessment_id)
        version = page.locator("#results").get_attribute("data-version")
        assert version == before["version"]

        # Someone else lowers every indicator of the first gap's capability to level 0.
        target = before["gaps"][0]["capability_id"]
        catalogue = server["app"].state.catalogue.catalogue
        with server["app"].state.sessionmaker.begin() as session:
            coordinator = accounts.find_user(session, people["coordinator"])
            for indicator in catalogue.capability(target).indicators:
                current = (
                    session.query(Answer)
                    .filter_by(
                        assessment_id=assessment_id,
                        capability_id=target,
                        indicator_id=indicator.id,
                    )
                    .one()
                )
                assessments.save_answer(
                    session,
                    user=coordinator,
                    assessment_id=assessment_id,
                    capability_id=target,
                    indicator_id=indicator.id,
                    data=AnswerInput(version=current.version, response="level", level=0),
                )
        after = api_results(page, server, assessment_id)
        assert after["overall"] != before["overall"]

        # Coming back to the page checks at once (polling does too, every few seconds).
        page.evaluate("window.dispatchEvent(new Event('focus'))")
        page.wait_for_function(
            "v => document.getElementById('results').dataset.version === v",
            arg=after["version"],
            timeout=15_000,
        )
        assert page.locator('[data-figure="overall"]').inner_text() == display_score(
            after["overall"]
        )
        row = page.locator(f'tr[data-level][data-capability="{target}"]')
        assert row.get_attribute("data-level") == "0"
        assert "Results updated at" in page.locator("#results-live").inner_text()
        assert serious_violations(page) == []
    finally:
        context.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_overview_targets_and_review_rows_read_well(browser, server, country, width):  # noqa: F811
    people, assessment_id = country["people"], country["assessment"]
    context, page = log_in(browser, server, people["coordinator"], width=width)
    try:
        page.goto(f"{server['url']}/assessments/{assessment_id}")
        data = api_results(page, server, assessment_id)
        first = data["areas"][0]["capabilities"][0]
        row = page.locator(f'.targets-table tr[data-capability="{first["id"]}"]')
        assert f"{first['level']} {first['level_name']}" in row.inner_text()
        assert row.locator("[data-gap]").get_attribute("data-gap") == str(first["gap"])
        assert no_horizontal_scroll(page)
        assert serious_violations(page) == []
        page.screenshot(path=str(SHOTS / f"overview-coordinator-{width}.png"), full_page=True)
    finally:
        context.close()


def test_review_rows_show_level_and_target_beside_each_comment_box(
    browser,  # noqa: F811
    server,  # noqa: F811
    country,
):
    people = country["people"]
    catalogue = server["app"].state.catalogue.catalogue
    tag = uuid.uuid4().hex[:6]
    with server["app"].state.sessionmaker.begin() as session:
        coordinator = accounts.find_user(session, people["coordinator"])
        created = assessments.create_assessment(
            session,
            user=coordinator,
            data=AssessmentCreate(country_code="XAA", cycle=f"C{tag}"),
            catalogue_version_id=server["app"].state.catalogue_version_id,
        ).id
        sample.answer_all(
            session,
            user=coordinator,
            assessment_id=created,
            catalogue=catalogue,
            how=sample.SampleAnswers(seed=created, shift=0),
        )
        sample.set_targets(
            session, user=coordinator, assessment_id=created, catalogue=catalogue, step=1
        )
        assessments.submit(
            session,
            user=coordinator,
            assessment_id=created,
            signoff=SignOff(name="Amina Diallo", position="Coordinator", date=date.today()),
        )
    for width in WIDTHS:
        context, page = log_in(browser, server, people["secretariat"], width=width)
        try:
            page.goto(f"{server['url']}/assessments/{created}")
            data = api_results(page, server, created)
            capability = data["areas"][0]["capabilities"][0]
            box = page.get_by_label(capability["title"], exact=True)
            assert box.get_attribute("aria-describedby") == f"review-{capability['id']}-standing"
            hint = page.locator(f"#review-{capability['id']}-standing")
            words = hint.inner_text()
            assert f"Level {capability['level']} · {capability['level_name']}" in words
            assert f"Target: Level {capability['target']} · {capability['target_name']}" in words
            hint_box, text_box = hint.bounding_box(), box.bounding_box()
            assert 0 <= text_box["y"] - (hint_box["y"] + hint_box["height"]) < 40
            assert no_horizontal_scroll(page)
            assert serious_violations(page) == []
            page.screenshot(path=str(SHOTS / f"review-secretariat-{width}.png"), full_page=True)
        finally:
            context.close()
