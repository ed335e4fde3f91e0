"""The plan page in Debian's chromium, at desktop and phone width: a drafted action is
reworded and costed, and the saved values are shown where the form was."""

from __future__ import annotations

import pytest

from app.accounts import service as accounts
from app.actionplan import service as plans
from app.assessments import service as assessments
from app.assessments.models import ActionItem
from tests.e2e.test_browser_questionnaire import (  # noqa: F401 (fixtures)
    SHOTS,
    browser,
    log_in,
    make_user,
    new_assessment,
    no_horizontal_scroll,
    server,
)

pytestmark = pytest.mark.e2e


def drafted_plan(server) -> tuple[str, int, ActionItem]:  # noqa: F811
    email = make_user(server, "coordinator")
    assessment_id = new_assessment(server, email)
    with server["app"].state.sessionmaker.begin() as session:
        user = accounts.find_user(session, email)
        assessments.set_target(
            session, user=user, assessment_id=assessment_id, capability_id="leadership", level=2
        )
        first = plans.draft_plan(session, user=user, assessment_id=assessment_id)[0]
        session.expunge(first)
    return email, assessment_id, first


@pytest.mark.parametrize("width", [1280, 390])
def test_a_drafted_action_is_reworded_and_costed_in_the_browser(browser, server, width):  # noqa: F811
    email, assessment_id, item = drafted_plan(server)
    context, page = log_in(browser, server, email, width=width)
    try:
        page.goto(f"{server['url']}/assessments/{assessment_id}/action-plan")
        card = page.locator(f"#action-{item.id}")
        card.get_by_text("Edit this action").click()
        card.get_by_label("Title").fill("Cabinet adopts the national strategy")
        card.get_by_label("What it involves").fill("First line\nSecond line")
        card.get_by_label("Indicative cost (optional)").fill("2,500,000")
        card.get_by_label("Currency (ISO code)").fill("KES")
        card.get_by_label("Funding source (optional)").fill("Treasury")
        assert no_horizontal_scroll(page)
        page.screenshot(path=str(SHOTS / f"fund-plan-edit-{width}.png"), full_page=False)
        card.get_by_role("button", name="Save").click()
        page.wait_for_url(f"**/action-plan?saved=1#action-{item.id}")
        saved = page.locator(f"#action-{item.id}")
        assert saved.locator("h4").inner_text() == "Cabinet adopts the national strategy"
        assert "2,500,000\u00a0KES" in saved.inner_text() or "2,500,000 KES" in saved.inner_text()
        assert saved.locator(".plan-item__detail").inner_text() == "First line\nSecond line"
        assert saved.is_visible()
        with server["app"].state.sessionmaker() as session:
            row = session.get(ActionItem, item.id)
            assert (row.title, row.cost_amount, row.cost_currency, row.funding_source) == (
                "Cabinet adopts the national strategy",
                2_500_000,
                "KES",
                "Treasury",
            )
        assert no_horizontal_scroll(page)
    finally:
        context.close()
