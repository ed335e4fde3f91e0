"""Downloads: cached until what the report shows changes, refused to other countries, audited,
and cut off cleanly when a render runs past its time limit."""

import base64
import hashlib
import re
import threading

import pytest

from app.reporting.pool import RenderPool, RenderTimeout
from app.reporting.render import REPORTS_DIR
from tests.reporting.report_helpers import (
    Worked,
    make_worked,
    pending_renders,
    read_pdf,
    squash,
    stored_reports,
)


@pytest.fixture(scope="module")
def worked(app_client, api_people) -> Worked:
    """This module's own worked assessment: its tests change answers and the plan."""
    return make_worked(app_client, people=api_people)


def audit_actions(worked, action: str) -> list[dict]:
    """The assessment's audit events whose action starts with action, newest first."""
    log = worked.world.get("coordinator", f"{worked.base}/audit").json()
    return [event for event in log if event["action"].startswith(action)]


def test_second_download_comes_from_the_cache_until_an_answer_changes(app_client, renderer, worked):
    world = worked.world
    url = f"{worked.base}/reports/gap.pdf"
    first = world.get("coordinator", url)
    assert first.status_code == 200
    assert (renderer.stats.renders, renderer.stats.cache_hits) == (1, 0)
    stored = stored_reports(app_client.app)
    assert len(stored) == 1 and len(stored[0].digest) == 64  # keyed by content, not by id
    assert stored[0].content == first.content and not pending_renders(app_client.app)

    second = world.get("viewer", url)
    assert second.status_code == 200
    assert second.content == first.content
    assert (renderer.stats.renders, renderer.stats.cache_hits) == (1, 1)

    # Another language is another report (English is the only one with translations so far).
    assert world.get("coordinator", f"{url}?locale=en").content == first.content
    assert world.get("coordinator", f"{url}?locale=xx").status_code == 422
    assert renderer.stats.renders == 1

    downloads = audit_actions(worked, "report.downloaded")
    assert [e["details"]["from_cache"] for e in downloads[:3]] == [True, True, False]
    assert {e["actor_id"] for e in downloads[:3]} == {
        world.ids["coordinator"],
        world.ids["viewer"],
    }
    assert downloads[0]["details"]["report"] == "gap"

    # The worked assessment is shared by this module, so change it last.
    catalogue = app_client.app.state.catalogue.catalogue
    capability = catalogue.capabilities()[0]
    indicator = capability.indicators[0]
    answer = next(
        a
        for a in world.get("coordinator", f"{worked.base}/answers").json()
        if (a["capability_id"], a["indicator_id"]) == (capability.id, indicator.id)
    )
    changed = world.put(
        "coordinator",
        f"{worked.base}/answers/{capability.id}/{indicator.id}",
        {
            "version": answer["version"],
            "response": "level",
            "level": 4 if answer["level"] != 4 else 3,
            "justification": "Re-assessed after the spring review.",
        },
    )
    assert changed.status_code == 200, changed.text
    third = world.get("coordinator", url)
    assert third.status_code == 200
    assert renderer.stats.renders == 2
    assert "Re-assessed after the spring review." in squash(" ".join(read_pdf(third.content)[1]))


def test_the_action_plan_is_rendered_again_when_the_plan_changes(renderer, worked):
    world = worked.world
    url = f"{worked.base}/reports/action-plan.pdf"
    assert world.get("coordinator", url).status_code == 200
    assert world.get("coordinator", url).status_code == 200
    assert renderer.stats.renders == 1
    item = world.get("coordinator", f"{worked.base}/action-plan").json()["items"][0]
    edited = world.client.patch(
        f"{worked.base}/action-plan/items/{item['id']}",
        json={"version": item["version"], "owner_agency": "Office of the Children's Commissioner"},
        headers=world.headers("coordinator"),
    )
    assert edited.status_code == 200, edited.text
    again = world.get("coordinator", url)
    assert renderer.stats.renders == 2
    assert "Office of the Children's Commissioner" in squash(" ".join(read_pdf(again.content)[1]))


@pytest.mark.parametrize("report", ["gap.pdf", "action-plan.pdf"])
def test_other_countries_and_strangers_get_nothing(renderer, worked, report):
    world = worked.world
    url = f"{worked.base}/reports/{report}"
    refused = world.get("other_coordinator", url)
    assert refused.status_code == 404
    assert refused.json()["error"]["code"] == "not_found"
    page = world.get("other_coordinator", f"/assessments/{worked.assessment_id}/reports/gap")
    assert page.status_code == 404
    assert world.client.get(url).status_code == 401
    missing = world.get("other_coordinator", "/api/v1/assessments/999999999/reports/gap.pdf")
    assert missing.status_code == 404
    assert renderer.stats.renders == 0
    outsider = world.ids["other_coordinator"]
    assert not [e for e in audit_actions(worked, "report.") if e["actor_id"] == outsider]
    # The secretariat may read every country's reports.
    assert world.get("secretariat", url).status_code == 200


def test_the_preview_page_is_the_same_report_in_html(renderer, worked):
    page = worked.world.get("coordinator", f"/assessments/{worked.assessment_id}/reports/gap")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "private, no-store"
    assert "<h1>Executive summary</h1>" in page.text and "<style>" in page.text
    # The page's one stylesheet is inline and allowed by its hash; nothing else may load.
    css = re.search(r"<style>(.*?)</style>", page.text, re.S).group(1)
    digest = base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()
    assert f"style-src 'sha256-{digest}'" in page.headers["content-security-policy"]
    refused = worked.world.get(
        "other_coordinator", f"/assessments/{worked.assessment_id}/reports/action-plan"
    )
    assert refused.status_code == 404
    assert audit_actions(worked, "report.previewed")


def test_a_render_past_its_time_limit_fails_cleanly(renderer, worked):
    renderer.pool.timeout = 0.05
    try:
        response = worked.world.get("coordinator", f"{worked.base}/reports/gap.pdf?locale=en")
    finally:
        renderer.pool.timeout = 300
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "report_unavailable"
    assert renderer.stats.renders == 0 and not stored_reports(worked.world.client.app)
    # The next request gets a fresh worker and its report.
    assert worked.world.get("coordinator", f"{worked.base}/reports/gap.pdf").status_code == 200


def test_a_stuck_render_is_stopped_and_its_worker_replaced():
    pool = RenderPool(assets_root=REPORTS_DIR, size=1, timeout=300)
    try:
        small = '<html lang="en"><title>t</title><p>Small</p></html>'
        assert pool.render(small).pdf.startswith(b"%PDF")
        worker = pool._idle[0].process
        huge = '<html lang="en"><title>t</title>' + "<p>A paragraph of text.</p>" * 200_000
        pool.timeout = 0.5
        with pytest.raises(RenderTimeout):
            pool.render(huge)
        assert not worker.is_alive()
        pool.timeout = 300
        assert b"%PDF" in pool.render(small).pdf[:8]
    finally:
        pool.close()


def test_other_requests_are_served_while_a_report_renders(renderer, worked, monkeypatch):
    entered, release = threading.Event(), threading.Event()
    real_render = renderer.pool.render

    def held_render(html):
        entered.set()
        release.wait(60)
        return real_render(html)

    monkeypatch.setattr(renderer.pool, "render", held_render)
    results = {}
    download = threading.Thread(
        target=lambda: results.update(
            pdf=worked.world.get("coordinator", f"{worked.base}/reports/action-plan.pdf")
        )
    )
    download.start()
    try:
        assert entered.wait(60), "the render never started"
        # The render is held mid-way; the server still answers everyone else.
        other = threading.Thread(
            target=lambda: results.update(health=worked.world.client.get("/healthz"))
        )
        other.start()
        other.join(60)
        assert not other.is_alive() and results["health"].status_code == 200
        assert download.is_alive()
    finally:
        release.set()
        download.join(120)
    assert results["pdf"].status_code == 200
