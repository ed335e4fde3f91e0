"""The action plan as a PDF: grouped by horizon and agency, with owners, dates, statuses,
the timeline and the dependencies; the catalogue's proposals when no plan exists yet."""

from app.assessments.models import ActionItem
from app.catalogue.schema import Catalogue
from tests.reporting.report_helpers import outline_titles, page_with, read_pdf, squash


def test_action_plan_reads_back_grouped_and_dated(worked, renderer, app_client):
    world = worked.world
    response = world.get("coordinator", f"{worked.base}/reports/action-plan.pdf")
    assert response.status_code == 200, response.text
    assert response.headers["content-disposition"] == (
        f'attachment; filename="action-plan-XAA-{worked.cycle}.pdf"'
    )
    assert response.headers["cache-control"] == "private, no-store"
    reader, pages = read_pdf(response.content)
    text = squash(" ".join(pages))
    total = len(pages)
    assert "Action plan" in squash(pages[0]) and "CONFIDENTIAL" in squash(pages[0])
    assert all(f"Page {n} of {total}" in squash(pages[n - 1]) for n in range(2, total + 1))

    plan = world.get("coordinator", f"{worked.base}/action-plan").json()["items"]
    assert plan, "the worked assessment has a plan"
    catalogue: Catalogue = app_client.app.state.catalogue.catalogue
    # Each horizon has its section, in order, and each item sits in its horizon's section.
    starts = {
        horizon: page_with(pages, f"{label} term: {span}", 2)
        for horizon, label, span in (
            ("short", "Short", "within 1 year"),
            ("medium", "Medium", "1 to 3 years"),
            ("long", "Long", "over 3 years"),
        )
        if any(item["horizon"] == horizon for item in plan)
    }
    assert list(starts.values()) == sorted(starts.values())
    owned = next(i for i in plan if i["owner_agency"] and i["due_date"] and not i["notes"])
    assert owned["owner_agency"] in text
    assert owned["title"] in text
    with_notes = next(i for i in plan if i["notes"])
    assert f"Notes: {with_notes['notes']}" in text
    for word in ("Planned", "In progress", "Done", "Dropped"):
        assert word in text
    # Dependencies: a capability in the plan and what it depends on.
    dependant = next(
        catalogue.capability(i["capability_id"])
        for i in plan
        if i["capability_id"] and catalogue.capability(i["capability_id"]).depends_on
    )
    prerequisite = catalogue.capability(dependant.depends_on[0])
    dependencies = squash(pages[page_with(pages, "Dependencies between capabilities", 2) - 1])
    assert dependant.title.get() in dependencies and prerequisite.title.get() in dependencies
    # The timeline and its legend are drawn.
    overview = squash(pages[page_with(pages, "The plan at a glance", 2) - 1])
    assert "Today" in overview and "Short term: within 1 year" in overview
    assert reader.metadata.title.startswith("Action plan: ")
    assert reader.trailer["/Root"]["/Lang"] == "en"
    titles = [squash(t) for t in outline_titles(reader)]
    assert "The plan at a glance" in titles and "Dependencies between capabilities" in titles


def test_without_a_plan_the_catalogue_proposals_are_shown(renderer, app_client, world):
    catalogue: Catalogue = app_client.app.state.catalogue.catalogue
    created = world.post(
        "coordinator", "/api/v1/assessments", {"country_code": "XAA", "cycle": f"D{world.tag}"}
    ).json()
    base = f"/api/v1/assessments/{created['id']}"
    legislation = catalogue.capability("legislation")
    for indicator in legislation.indicators:
        world.put(
            "coordinator",
            f"{base}/answers/legislation/{indicator.id}",
            {"version": 0, "response": "level", "level": 1},
        )
    world.put("coordinator", f"{base}/targets/legislation", {"level": 3})
    with app_client.app.state.sessionmaker() as session:
        assert session.query(ActionItem).filter_by(assessment_id=created["id"]).count() == 0

    response = world.get("coordinator", f"{base}/reports/action-plan.pdf")
    assert response.status_code == 200, response.text
    _, pages = read_pdf(response.content)
    text = squash(" ".join(pages))
    assert "No action plan has been drawn up yet." in text
    assert "PLAN NOT YET DRAWN UP" in squash(pages[0]).upper()
    score = world.get("coordinator", f"{base}/score").json()
    gaps = [g for g in score["gaps"]["gaps"] if g["capability_id"] == "legislation"]
    assert gaps and gaps[0]["gap"] == 2
    # The catalogue's actions for the steps to levels 2 and 3, as scoring drafts them.
    expected = [action.title.get() for step in (2, 3) for action in legislation.steps[step]]
    assert expected and all(title in text for title in expected)
    assert "Proposed" in text
