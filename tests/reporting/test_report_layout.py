"""Report layout read back: a pathological unbroken word is segmented when the data is
built and the report still renders; evidence keeps its lines; links keep every character;
and the "what to fund first" page shows the plan's own costs, per currency."""

from __future__ import annotations

import re

import pytest
from markupsafe import Markup

from app.actionplan import funding
from app.reporting import words
from tests.reporting.report_helpers import make_worked, page_with, read_pdf, squash

HUGE = "Ab" * 10_000  # 20,000 letters without a space
URL = (
    "https://www.justice.example.gov/publications/annualreports/twentytwentysix/"
    "comprehensivenationalstrategyagainstonlineexploitation.pdf"
)


def test_long_runs_are_segmented_and_cut_with_a_pointer():
    tamed = words.tame_text(f"Before {HUGE} after")
    assert tamed.startswith("Before ") and tamed.endswith(" after")
    run = tamed.split(" ")[1]
    pieces = run.split(words.BREAK)
    assert all(len(piece) <= words.SEGMENT for piece in pieces)
    assert "".join(pieces) == HUGE[: words.MAX_RUN]  # nothing but breaks was added to it
    assert "19,400 more characters without a space are not shown" in tamed

    # Ordinary text, real words and real links are left exactly as they are.
    for text in ("A plain sentence.", URL, "Rechtsschutzversicherungsgesellschaften", "a" * 64):
        assert words.tame_text(text) is text or words.tame_text(text) == text
    middle = "x" * 100
    assert words.tame_text(middle) == words.BREAK.join(["x" * 32] * 3 + ["x" * 4])
    markup = Markup("<b>" + "y" * 200 + "</b>")
    assert words.tame_text(markup) is markup


@pytest.fixture(scope="module")
def worked(app_client, api_people):
    """A worked assessment of this module's own, whose answers and plan its tests change."""
    return make_worked(app_client, people=api_people)


def answer(worked, capability_id: str, indicator_id: str, **fields):
    answers = worked.world.get("coordinator", f"{worked.base}/answers").json()
    current = next(
        a
        for a in answers
        if (a["capability_id"], a["indicator_id"]) == (capability_id, indicator_id)
    )
    saved = worked.world.put(
        "coordinator",
        f"{worked.base}/answers/{capability_id}/{indicator_id}",
        {"version": current["version"], "response": "level", "level": 2, **fields},
    )
    assert saved.status_code == 200, saved.text


def test_a_hostile_word_is_segmented_in_the_data_and_the_report_renders(
    worked, app_client, renderer
):
    catalogue = app_client.app.state.catalogue.catalogue
    first, second = catalogue.capabilities()[:2]
    answer(
        worked,
        first.id,
        first.indicators[0].id,
        evidence_notes=f"Checked. {HUGE}",
        evidence_links=[URL],
    )
    answer(
        worked,
        second.id,
        second.indicators[0].id,
        justification="First point\nSecond point\n- a listed item\n- another item",
        evidence_notes=f"See {URL} for the text.",
    )

    # The data-building step caps and segments the word before any layout.
    from app.assessments import service as assessment_service
    from app.reporting import context

    with app_client.app.state.sessionmaker() as session:
        from app.accounts import service as accounts

        user = accounts.get_user(session, worked.world.ids["coordinator"])
        assessment = assessment_service.get_assessment(
            session, user=user, assessment_id=worked.assessment_id
        )
        figures = context.position_figures(session, assessment, k=3)
        report = context.build_gap_report(
            session, user=user, assessment=assessment, locale="en", figures=figures
        )
    indicator = next(
        i
        for area in report.areas
        for c in area.capabilities
        if c.id == first.id
        for i in c.indicators
        if i.id == first.indicators[0].id
    )
    assert max(len(run) for run in re.findall(r"\w+", indicator.evidence_notes)) <= words.SEGMENT
    assert "more characters without a space are not shown" in indicator.evidence_notes
    assert indicator.links[0].href == URL and indicator.links[0].text == URL

    response = worked.world.get("coordinator", f"{worked.base}/reports/gap.pdf")
    assert response.status_code == 200, response.text
    _, pages = read_pdf(response.content)
    everything = "\n".join(pages)
    # The word is printed, up to the cut, then the pointer to the rest.
    dense = squash(everything).replace(" ", "")
    assert HUGE[: words.MAX_RUN] in dense.replace("\u200b", "")
    assert "19,400 more characters without a space are not shown" in squash(everything)
    # The link, and the address typed in the notes, are whole on the page: wrapped maybe,
    # never given a hyphen.
    assert everything.replace("\n", "").count(URL) >= 2
    # Evidence keeps its lines and its list.
    assert re.search(r"First point\s*\n\s*Second point\s*\n\s*- a listed item", everything)


def test_fund_first_shows_the_plans_costs_per_currency(worked, app_client, renderer):
    plan = worked.world.get("coordinator", f"{worked.base}/action-plan").json()["items"]
    assert plan, "the worked assessment has a plan"
    expected: dict[str, int] = {}
    for index, item in enumerate(plan):
        if index % 3 == 2:
            continue  # some actions stay without an estimate
        currency = "EUR" if index % 2 else "USD"
        amount = 10_000 * (index + 1)
        saved = worked.world.client.patch(
            f"{worked.base}/action-plan/items/{item['id']}",
            json={
                "version": item["version"],
                "cost_amount": amount,
                "cost_currency": currency,
                "funding_source": f"Source {index}",
            },
            headers=worked.world.headers("coordinator"),
        )
        assert saved.status_code == 200, saved.text
        if item["status"] in ("planned", "in_progress"):
            expected[currency] = expected.get(currency, 0) + amount

    for report in ("action-plan", "gap"):
        response = worked.world.get("coordinator", f"{worked.base}/reports/{report}.pdf")
        assert response.status_code == 200, response.text
        _, pages = read_pdf(response.content)
        number = page_with(pages, "What to fund first", 2)  # after the contents
        page = squash(pages[number - 1]).replace("\u00a0", " ")
        assert "Priority and action Lead agency" in page
        # The whole plan's open actions, summed per currency, never across currencies.
        for currency, amount in expected.items():
            assert funding.format_cost(amount, currency).replace("\u00a0", " ") in page, (
                report,
                currency,
            )
        listed = re.findall(r"([\d,]+) (USD|EUR)", page.split("Total of the actions listed")[0])
        totals = {}
        for amount, currency in listed:
            totals[currency] = totals.get(currency, 0) + int(amount.replace(",", ""))
        footer = page.split("Total of the actions listed")[1].split("The whole plan")[0]
        for currency, amount in totals.items():
            assert funding.format_cost(amount, currency).replace("\u00a0", " ") in footer
        # One page: all of it is on this page, and the next is another section.
        assert "The whole plan has" in page
        assert "Priority and action" not in squash(pages[number])
