"""The results page, its JSON twin and the gap report PDF: the same figures, number by number;
levels and gaps on the overview, the targets table and the review rows; who may see them."""

from __future__ import annotations

import gzip
import html
import re
from datetime import date

import pytest

from app.accounts import service as accounts
from app.assessments import service as assessment_service
from app.assessments.schemas import AnswerInput, SignOff
from app.reporting import sample
from app.reporting.context import TOP_GAPS
from app.scoring import display_score
from tests.reporting.conftest import report_renderer, shared_renderer  # noqa: F401
from tests.reporting.report_helpers import make_worked, page_with, read_pdf, squash

# ---------------------------------------------------------------- helpers


@pytest.fixture(scope="module")
def worked(app_client, api_people):
    """Two cycles of XAA (the first validated), the second fully answered, with targets."""
    return make_worked(app_client, people=api_people)


@pytest.fixture(scope="module")
def renderer(report_renderer):  # noqa: F811
    """The shared renderer, with downloads waiting for their render (one request, one PDF)."""
    return report_renderer


def text(fragment: str) -> str:
    """What a piece of HTML reads as: tags dropped, entities decoded, spaces squashed."""
    return squash(html.unescape(re.sub(r"<[^>]+>", " ", fragment)))


def element(page: str, tag: str, attribute: str, value: str) -> str:
    """The first <tag> whose attribute is value, with all it holds (nested tags included)."""
    start = re.search(rf'<{tag}\b[^>]*\b{attribute}="{re.escape(value)}"', page)
    assert start, f"no <{tag} {attribute}={value!r}> on the page"
    depth = 0
    for found in re.finditer(rf"<(/?){tag}\b[^>]*>", page[start.start() :]):
        depth += -1 if found.group(1) else 1
        if depth == 0:
            return page[start.start() : start.start() + found.end()]
    raise AssertionError(f"<{tag} {attribute}={value!r}> is never closed")


def attributes(page: str, attribute: str) -> list[str]:
    return re.findall(rf'\b{attribute}="([^"]*)"', page)


def cell(row: str, attribute: str) -> str:
    """The text of the first cell of a row carrying attribute."""
    found = re.search(rf"<t[dh]\b[^>]*\b{attribute}\b[^>]*>(.*?)</t[dh]>", row, re.S)
    assert found, f"no cell with {attribute}"
    return text(found.group(1))


def level_words(level: int | None, name: str | None) -> str:
    """A level as the PDF writes it."""
    return "no level yet" if level is None else f"{level} {name}"


def to_go_words(capability: dict) -> str:
    if capability["status"] == "gap":
        gap = capability["gap"]
        return f"{gap} level" if gap == 1 else f"{gap} levels"
    if capability["status"] == "met":
        return "✓ met"
    return "–"


def score_words(value: float | None) -> str:
    return display_score(value)


# ---------------------------------------------------------------- the same figures everywhere


def test_results_page_states_every_figure_of_the_gap_report(worked, renderer, app_client):
    world = worked.world
    api = world.get("coordinator", f"{worked.base}/results")
    assert api.status_code == 200, api.text
    data = api.json()
    page_response = world.get("coordinator", f"/assessments/{worked.assessment_id}/results")
    assert page_response.status_code == 200, page_response.text
    page = page_response.text
    pdf = world.get("coordinator", f"{worked.base}/reports/gap.pdf")
    assert pdf.status_code == 200, pdf.text
    _, pages = read_pdf(pdf.content)
    everything = squash(" ".join(pages))
    summary = squash(pages[page_with(pages, "Key findings") - 1])

    # The JSON is the scoring API's: the same exact scores and the same ranked gaps.
    scored = world.get("coordinator", f"{worked.base}/score").json()
    assert data["overall"] == scored["score"]["overall"]
    assert [a["score"] for a in data["areas"]] == [a["score"] for a in scored["score"]["areas"]]
    assert [g["capability_id"] for g in data["gaps"]] == [
        g["capability_id"] for g in scored["gaps"]["gaps"]
    ]
    provenance = scored["score"]["provenance"]
    assert data["assessment"]["catalogue_hash"] == provenance["catalogue_hash"]

    # Overall score and completeness.
    overall = score_words(data["overall"])
    assert overall == f"{data['overall_rounded']:.1f}"
    assert text(element(page, "span", "data-figure", "overall")) == overall
    assert f"{overall} / 100" in summary
    done = data["completeness"]
    answered = f"{done['answered']} of {done['total']} indicators answered"
    assert answered in text(element(page, "p", "data-figure", "completeness"))
    assert answered in summary

    # Every key finding the PDF states, word for word.
    findings = re.findall(r'<li data-finding="([^"]+)">(.*?)</li>', page, re.S)
    assert [kind for kind, _ in findings] == [f["kind"] for f in data["findings"]]
    assert len(findings) >= 3
    for _, sentence in findings:
        assert text(sentence) in summary, text(sentence)

    # Area scores: page, API and PDF.
    for area in data["areas"]:
        row = element(page, "tr", "data-area", area["id"])
        shown = score_words(area["score"])
        assert cell(row, "data-score") == shown
        progress = f"{area['completeness']['answered']}/{area['completeness']['total']}"
        assert progress in text(row)
        assert f"{area['number']} {area['title']} {shown} {progress}" in summary
        assert ("Provisional" in text(row)) == area["marks"]["provisional"]

    # Each capability's level against its target: page, API and PDF (the capability pages).
    for area in data["areas"]:
        for capability in area["capabilities"]:
            row = element(page, "tr", "data-capability", capability["id"])
            attrs = dict(re.findall(r'data-(level|target|gap)="([^"]*)"', row.split(">")[0]))
            for name in ("level", "target", "gap"):
                expected = capability[name]
                assert attrs[name] == ("" if expected is None else str(expected)), name
            words = text(row)
            if capability["not_applicable"]:
                assert "Not applicable" in words
                level_pdf = "Not applicable"
            else:
                level_pdf = level_words(capability["level"], capability["level_name"])
                assert level_pdf in words
            target_pdf = (
                "none set"
                if capability["target"] is None
                else level_words(capability["target"], capability["target_name"])
            )
            assert target_pdf in words
            assert to_go_words(capability) in words
            facts = (
                f"{capability['number']} {capability['title']} Level {level_pdf} "
                f"Target {target_pdf} To go {to_go_words(capability)}"
            )
            assert facts in everything, facts

    # The ranked gaps, in order, each with its size and its first actions.
    ranks = [int(rank) for rank in attributes(page, "data-gap-rank")]
    assert ranks == [gap["rank"] for gap in data["gaps"]] == list(range(1, len(ranks) + 1))
    assert len(ranks) >= 3
    gaps_start = page_with(pages, "Priority gaps and how to close them")
    gap_text = squash(" ".join(pages[gaps_start - 1 :]))
    gap_order = [
        gap_text.find(
            f"{gap['rank']} {gap['title']}"
            if gap["rank"] <= TOP_GAPS  # the first gaps, with their actions; then a table
            else f"{gap['rank']} {gap['number']} {gap['title']}"
        )
        for gap in data["gaps"]
    ]
    assert -1 not in gap_order and gap_order == sorted(gap_order)
    for gap in data["gaps"]:
        top = gap["rank"] <= TOP_GAPS
        card = element(page, "li" if top else "tr", "data-gap-rank", str(gap["rank"]))
        assert f'data-capability="{gap["capability_id"]}"' in card
        words = text(card)
        size = f"{gap['size']} level to go" if gap["size"] == 1 else f"{gap['size']} levels to go"
        if top:
            assert gap["steps"] and size in words
            now = level_words(gap["current_level"], gap["current_name"])
            target = level_words(gap["target_level"], gap["target_name"])
            assert f"{now} → {target} {size}" in gap_text
            assert f"{now} → to {target} · {size}" in words
            first = gap["steps"][0]
            assert f"First: to reach {first['level']} {first['level_name']}" in words
            for action in first["actions"]:
                assert action["title"] in words
                assert action["title"] in gap_text
                assert f"Lead: {action['lead']}" in words
            for later in gap["steps"][1:]:
                for action in later["actions"]:
                    assert action["title"] in words and action["title"] in gap_text
        else:
            assert cell(card, "data-size") == str(gap["size"])

    # Strengths and targets met.
    assert attributes(page, "data-strength") == data["strengths"]
    assert attributes(page, "data-met") == data["met"]
    strengths = squash(pages[page_with(pages, "What the country can build on") - 1])
    for capability_id in data["strengths"]:
        view = next(c for a in data["areas"] for c in a["capabilities"] if c["id"] == capability_id)
        assert view["title"].split()[0] in strengths

    # The change since the previous (validated) cycle.
    change = data["change"]
    assert change is not None and change["status"] == "validated"
    assert change["cycle"] == worked.previous_cycle
    start = page_with(pages, f"Compared with cycle {worked.previous_cycle}")
    change_page = squash(" ".join(pages[start - 1 : start + 2]))
    for area, moved in zip(data["areas"], change["areas"], strict=True):
        row = element(page, "tr", "data-change-area", area["id"])
        before, now = score_words(moved["before"]), score_words(moved["now"])
        assert cell(row, "data-before") == before and cell(row, "data-now") == now
        assert f"{area['number']} {area['title']} {before} {now}" in change_page
    overall_row = element(page, "tr", "data-change-area", "")
    assert cell(overall_row, "data-before") == score_words(change["overall_before"])
    assert f"Overall {score_words(change['overall_before'])} {overall}" in change_page
    for kind in ("raised", "lowered"):
        shown = re.findall(
            rf'data-moved="{"up" if kind == "raised" else "down"}" data-capability="([^"]+)"',
            page,
        )
        assert shown == [row["capability_id"] for row in change[kind]]
    assert attributes(page, "data-unchanged") == [str(change["unchanged"])]
    assert f"{change['unchanged']} capabilities are at the same level as before" in change_page

    # The charts are the report's own SVG builders, inline and named for screen readers.
    assert page.count('<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img"') == 2
    assert 'aria-label="Area scores from 0 to 100. ' in page  # then each area's score
    assert 'aria-label="Capability heat table"' in page
    assert 'role="region" aria-label="Capability heat table" tabindex="0"' in page

    # Light: the page, compressed, stays well under 100 KB.
    assert len(gzip.compress(page.encode())) < 100_000


def test_results_follow_each_saved_answer_and_say_what_is_provisional(world, app_client):
    catalogue = app_client.app.state.catalogue.catalogue
    first = world.post(
        "coordinator", "/api/v1/assessments", {"country_code": "XAA", "cycle": f"P{world.tag}"}
    ).json()["id"]
    with app_client.app.state.sessionmaker.begin() as session:
        coordinator = accounts.get_user(session, world.ids["coordinator"])
        sample.answer_all(
            session,
            user=coordinator,
            assessment_id=first,
            catalogue=catalogue,
            how=sample.SampleAnswers(seed=first, shift=0),
        )
        sample.set_targets(
            session, user=coordinator, assessment_id=first, catalogue=catalogue, step=1
        )
    # The next cycle starts from this one: every answer carried over, waiting to be confirmed.
    created = world.post(
        "coordinator",
        "/api/v1/assessments",
        {"country_code": "XAA", "cycle": f"Q{world.tag}", "start_from_previous": True},
    )
    assert created.status_code == 201, created.text
    second = created.json()["id"]
    url = f"/api/v1/assessments/{second}/results"
    data = world.get("coordinator", url).json()
    total = carried = data["completeness"]["total"]
    assert data["marks"]["to_confirm"] == carried and data["provisional"] is True
    page = world.get("coordinator", f"/assessments/{second}/results").text
    assert f"{carried} carried over, to confirm" in text(page)
    # The previous cycle is a draft: it is never the baseline, here or in the data (an earlier
    # signed-off cycle of the country is, when there is one).
    if data["change"] is None:
        assert "The previous cycle is compared once it has been submitted or validated." in page
    else:
        assert data["change"]["cycle"] != f"P{world.tag}"
        assert data["change"]["status"] in {"submitted", "validated"}

    version = world.get("coordinator", f"/assessments/{second}/results/version").json()
    assert version["version"] == data["version"]

    # Confirm one capability's answers at the top level, one unknown: figures and marks move.
    capability = catalogue.areas[0].capabilities[0]
    indicators = capability.indicators
    base = f"/api/v1/assessments/{second}/answers/{capability.id}"
    answers = world.get("coordinator", f"/api/v1/assessments/{second}/answers").json()
    versions = {(a["capability_id"], a["indicator_id"]): a["version"] for a in answers}
    for index, indicator in enumerate(indicators):
        body = (
            {"response": "unknown"}
            if index == 0
            else {"response": "level", "level": catalogue.max_level}
        )
        body["version"] = versions[(capability.id, indicator.id)]
        saved = world.put("coordinator", f"{base}/{indicator.id}", body)
        assert saved.status_code == 200, saved.text
    after = world.get("coordinator", url).json()
    assert after["version"] != data["version"]
    moved = world.get("coordinator", f"/assessments/{second}/results/version").json()
    assert moved["version"] == after["version"]
    row = next(c for c in after["areas"][0]["capabilities"] if c["id"] == capability.id)
    assert row["marks"] == {
        "provisional": True,
        "unanswered": 0,
        "unknown": 1,
        "to_confirm": 0,
    }
    assert after["marks"]["to_confirm"] == carried - len(indicators)
    scored = world.get("coordinator", f"/api/v1/assessments/{second}/score").json()
    assert after["overall"] == scored["score"]["overall"]
    level = next(c for c in scored["score"]["capabilities"] if c["capability_id"] == capability.id)
    assert row["level"] == level["level"]
    page = world.get("coordinator", f"/assessments/{second}/results").text
    capability_row = element(page, "tr", "data-capability", capability.id)
    assert f'data-level="{level["level"]}"' in capability_row
    assert "1 unknown" in text(capability_row) and "Provisional" in text(capability_row)

    # An assessment with nothing answered says so, and has no score.
    empty = world.post(
        "other_coordinator",
        "/api/v1/assessments",
        {"country_code": "XAB", "cycle": f"E{world.tag}"},
    ).json()["id"]
    blank = world.get("other_coordinator", f"/api/v1/assessments/{empty}/results").json()
    assert blank["overall"] is None and blank["marks"]["unanswered"] == total
    assert [f["kind"] for f in blank["findings"]] == ["no_answers"]
    shown = world.get("other_coordinator", f"/assessments/{empty}/results").text
    assert text(element(shown, "span", "data-figure", "overall")) == "–"
    assert "No indicator has been answered yet" in shown
    assert "No targets have been set, so there are no gaps to rank." in shown


def test_results_are_seen_only_by_those_who_see_the_assessment(worked, world):
    urls = (
        f"/assessments/{worked.assessment_id}/results",
        f"/assessments/{worked.assessment_id}/results/version",
        f"/api/v1/assessments/{worked.assessment_id}/results",
    )
    for who in ("coordinator", "contributor", "viewer", "secretariat", "admin"):
        for url in urls:
            response = world.get(who, url)
            assert response.status_code == 200, (who, url, response.text)
    country = world.get("secretariat", urls[2]).json()["assessment"]["country_name"]
    for who in ("other_coordinator", "other_contributor"):
        for url in urls:
            response = world.get(who, url)
            assert response.status_code == 404, (who, url)
            assert country not in response.text
    missing = world.get("coordinator", "/api/v1/assessments/99999999/results")
    assert missing.status_code == 404
    anonymous = world.client.get(urls[2])
    assert anonymous.status_code == 401


# ---------------------------------------------------------------- the overview's rows


def test_overview_shows_levels_targets_and_gaps_beside_progress_and_review(world, app_client):
    catalogue = app_client.app.state.catalogue.catalogue
    created = world.post(
        "coordinator", "/api/v1/assessments", {"country_code": "XAA", "cycle": f"R{world.tag}"}
    ).json()["id"]
    with app_client.app.state.sessionmaker.begin() as session:
        coordinator = accounts.get_user(session, world.ids["coordinator"])
        sample.answer_all(
            session,
            user=coordinator,
            assessment_id=created,
            catalogue=catalogue,
            how=sample.SampleAnswers(seed=created, shift=0),
        )
    # Targets on the first capabilities only: one where it stands, the others above it.
    before = world.get("coordinator", f"/api/v1/assessments/{created}/results").json()
    levels = [c for area in before["areas"] for c in area["capabilities"] if c["level"]]
    for index, capability in enumerate(levels[:4]):
        level = capability["level"] if index == 0 else min(4, capability["level"] + index)
        saved = world.put(
            "coordinator",
            f"/api/v1/assessments/{created}/targets/{capability['id']}",
            {"level": level},
        )
        assert saved.status_code == 200, saved.text
    data = world.get("coordinator", f"/api/v1/assessments/{created}/results").json()
    assert data["version"] != before["version"]
    capabilities = [c for area in data["areas"] for c in area["capabilities"]]
    assert {c["status"] for c in capabilities} >= {"gap", "met", "no_target"}

    overview = world.get("coordinator", f"/assessments/{created}").text
    assert f'href="/assessments/{created}/results"' in overview
    targets = overview[overview.index('id="targets"') :]
    for capability in capabilities:
        level = "" if capability["level"] is None else str(capability["level"])
        gap = "" if capability["gap"] is None else str(capability["gap"])
        row = element(targets, "tr", "data-capability", capability["id"])
        assert f'data-level="{level}"' in row and f'data-gap="{gap}"' in row
        words = text(row)
        if capability["status"] == "gap":
            expected = "1 level" if capability["gap"] == 1 else f"{capability['gap']} levels"
            assert expected in words
        elif capability["status"] == "met":
            assert "met" in words
        if capability["level"] is not None and not capability["not_applicable"]:
            assert f"{capability['level']} {capability['level_name']}" in words
    # Each capability row of the area cards shows the current level beside its progress.
    cards = overview[overview.index('id="assignments"') : overview.index('id="targets"')]
    rows = re.findall(r'<li class="cap-row">(.*?)</li>', cards, re.S)
    assert len(rows) == len(capabilities)
    for row, capability in zip(rows, capabilities, strict=True):
        assert capability["title"] in text(row)
        if capability["level"] is not None:
            assert f'data-level="{capability["level"]}"' in row
            assert f"Current level: {capability['level']} {capability['level_name']}" in text(row)

    # Submitted, the secretariat's review rows show level and target beside each comment box.
    with app_client.app.state.sessionmaker.begin() as session:
        coordinator = accounts.get_user(session, world.ids["coordinator"])
        assessment_service.submit(
            session,
            user=coordinator,
            assessment_id=created,
            signoff=SignOff(name="Amina Diallo", position="Coordinator", date=date.today()),
        )
    review = world.get("secretariat", f"/assessments/{created}").text
    section = review[review.index('id="review"') :]
    for capability in capabilities:
        hint = element(section, "p", "id", f"review-{capability['id']}-standing")
        words = text(hint)
        if capability["not_applicable"]:
            assert "Not applicable" in words
        elif capability["level"] is not None:
            assert f"Level {capability['level']} · {capability['level_name']}" in words
        if capability["target"] is None:
            assert "Target: Not set" in words
        else:
            assert f"Target: Level {capability['target']} · {capability['target_name']}" in words
        assert f'aria-describedby="review-{capability["id"]}-standing"' in section
    # The coordinator's overview of a submitted assessment has no review form.
    assert 'id="review"' not in world.get("coordinator", f"/assessments/{created}").text


def test_saving_an_answer_moves_the_overview_level(world, app_client):
    catalogue = app_client.app.state.catalogue.catalogue
    created = world.post(
        "coordinator", "/api/v1/assessments", {"country_code": "XAA", "cycle": f"S{world.tag}"}
    ).json()["id"]
    capability = catalogue.areas[0].capabilities[0]
    with app_client.app.state.sessionmaker.begin() as session:
        coordinator = accounts.get_user(session, world.ids["coordinator"])
        for indicator in capability.indicators:
            assessment_service.save_answer(
                session,
                user=coordinator,
                assessment_id=created,
                capability_id=capability.id,
                indicator_id=indicator.id,
                data=AnswerInput(version=0, response="level", level=2),
            )
    overview = world.get("coordinator", f"/assessments/{created}").text
    row = re.findall(r'<li class="cap-row">(.*?)</li>', overview, re.S)[0]
    assert 'data-level="2"' in row and "(provisional)" not in row
    other = re.findall(r'<li class="cap-row">(.*?)</li>', overview, re.S)[1]
    assert 'data-level=""' in other and "no level yet" in text(other)
