"""Background jobs in the web process (SQLite): the queue's debounce, the report digest, and
downloads that are prepared before they are asked for, or answered 202 while they are."""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, replace
from datetime import date

import pytest
from markupsafe import Markup

from app import jobs
from app.jobs.queue import ThreadQueue
from app.reporting import store
from app.reporting.render import RenderStats
from tests.reporting.conftest import report_renderer, shared_renderer  # noqa: F401
from tests.reporting.report_helpers import (
    download_report,
    empty_store,
    make_worked,
    quiet_jobs,
    read_pdf,
    squash,
    stored_reports,
)

CALLS: list[tuple[str, dict]] = []
CALLED = threading.Event()


@jobs.task("tests.record")
def _record(context: jobs.JobContext, **kwargs) -> None:
    CALLS.append((context.job_id, kwargs))
    CALLED.set()


@jobs.task("tests.flaky", retries=1)
def _flaky(context: jobs.JobContext, **kwargs) -> None:
    CALLS.append((f"attempt {context.attempt}", kwargs))
    if context.attempt == 0:
        raise RuntimeError("the first attempt fails")


@pytest.fixture
def queue():
    CALLS.clear()
    found = ThreadQueue(sessions=None, settings=None, state=None, threads=1)
    yield found
    found.close()


def test_a_job_deferred_again_under_its_key_runs_once_after_the_last(queue):
    assert queue.defer("tests.record", delay=0.3, key="a", kwargs={"n": 1})
    time.sleep(0.1)
    # Deferred again while it waits: superseded, and still not before the first time.
    assert not queue.defer("tests.record", delay=0.3, key="a", kwargs={"n": 2})
    assert queue.defer("tests.record", delay=0.0, key="b", kwargs={"n": 3})
    assert queue.wait_idle(timeout=10)
    assert [kwargs for _, kwargs in CALLS] == [{"n": 3}, {"n": 2}]


def test_a_failing_job_is_tried_again_up_to_its_retries(queue):
    queue.defer("tests.flaky", delay=0, key=None, kwargs={})
    queue.run_due_now()
    deadline = time.monotonic() + 10
    while len(CALLS) < 2 and time.monotonic() < deadline:
        queue.run_due_now()
        time.sleep(0.05)
    assert [name for name, _ in CALLS] == ["attempt 0", "attempt 1"]


def test_a_job_deferred_after_commit_waits_for_the_commit(app_client):
    app = app_client.app
    quiet_jobs(app)  # earlier tests' background preparation out of the way
    CALLS.clear()
    CALLED.clear()
    with app.state.sessionmaker() as session:
        jobs.defer_after_commit(session, "tests.record", key="rolled-back", n=1)
        session.rollback()
        jobs.defer_after_commit(session, "tests.record", key="committed", n=2)
        jobs.defer_after_commit(session, "tests.record", key="committed", n=2)  # once
        assert not CALLS
        session.commit()
    assert CALLED.wait(10)
    app.state.jobs.wait_idle(timeout=30)
    assert [kwargs for _, kwargs in CALLS] == [{"n": 2}]


def test_deferring_an_unknown_task_is_refused(app_client):
    with pytest.raises(KeyError):
        jobs.defer(app_client.app, "tests.nothing")


# ---------------------------------------------------------------- the digest


@dataclass(frozen=True)
class _Part:
    label: str
    values: tuple[float, ...]
    chart: Markup


@dataclass(frozen=True)
class _Report:
    title: str
    as_of: date
    parts: tuple[_Part, ...]
    notes: dict[str, str]


def test_the_digest_covers_all_the_data_and_nothing_but_it():
    report = _Report(
        "Gap report",
        date(2026, 12, 1),
        (_Part("Policy", (1.5, 2.0), Markup("<svg/>")),),
        {"b": "2", "a": "1"},
    )
    digest = store.content_digest("gap", report, locale="en", catalogue_hash="c1")
    same = replace(report, notes={"a": "1", "b": "2"})  # same content, built otherwise
    assert store.content_digest("gap", same, locale="en", catalogue_hash="c1") == digest
    changed = [
        replace(report, parts=(_Part("Policy", (1.5, 2.5), Markup("<svg/>")),)),
        replace(report, parts=(_Part("Policy", (1.5, 2.0), Markup("<svg> </svg>")),)),
        replace(report, as_of=date(2026, 12, 2)),
        replace(report, notes={"a": "1", "b": "3"}),
    ]
    digests = {store.content_digest("gap", r, locale="en", catalogue_hash="c1") for r in changed}
    assert len(digests) == len(changed) and digest not in digests
    assert store.content_digest("gap", report, locale="fr", catalogue_hash="c1") != digest
    assert store.content_digest("gap", report, locale="en", catalogue_hash="c2") != digest
    assert store.content_digest("action-plan", report, locale="en", catalogue_hash="c1") != digest
    with pytest.raises(TypeError):
        store.content_digest("gap", object(), locale="en", catalogue_hash="c1")


# ---------------------------------------------------------------- downloads


@pytest.fixture(scope="module")
def worked(app_client, api_people):
    """This module's own worked assessment: its tests change answers."""
    return make_worked(app_client, people=api_people)


@pytest.fixture
def reports(app_client, report_renderer):  # noqa: F811
    """The application's report settings for one test, restored after it."""
    settings = app_client.app.state.settings.reports
    saved = settings.model_copy()
    empty_store(app_client.app)
    report_renderer.stats = RenderStats()
    yield settings
    for name in ("download_wait", "prepare_delay"):
        setattr(settings, name, getattr(saved, name))
    empty_store(app_client.app)


def _change_answer(app_client, worked, justification: str) -> None:
    world = worked.world
    capability = app_client.app.state.catalogue.catalogue.capabilities()[0]
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
            "level": answer["level"] or 1,
            "justification": justification,
        },
    )
    assert changed.status_code == 200, changed.text


def test_a_download_not_ready_answers_202_then_serves_the_pdf(
    app_client,
    worked,
    reports,
    report_renderer,  # noqa: F811
):
    reports.download_wait = 0
    world = worked.world
    url = f"{worked.base}/reports/action-plan.pdf"
    first = world.get("coordinator", url)
    assert first.status_code == 202, first.text
    assert first.headers["Retry-After"] == "2"
    body = first.json()
    assert body["state"] == "preparing"
    assert body["download_url"] == f"{url}?digest={body['digest']}"
    assert first.headers["Location"] == body["status_url"]
    assert re.fullmatch(rf"{worked.base}/reports/status/[0-9a-f]{{64}}", body["status_url"])
    # Another country cannot even ask about it.
    assert world.get("other_coordinator", body["status_url"]).status_code == 404

    pdf = download_report(world.client, url, headers=world.headers("coordinator"))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert world.get("coordinator", body["status_url"]).json()["state"] == "ready"
    assert report_renderer.stats.renders == 1
    again = world.get("viewer", url)
    assert again.status_code == 200 and again.content == pdf.content
    assert report_renderer.stats.renders == 1


def test_the_page_download_shows_a_refreshing_page_while_preparing(
    app_client,
    worked,
    reports,
    report_renderer,  # noqa: F811
):
    from tests.web.test_web_pages import login, make_user

    reports.download_wait = 0
    email = make_user(app_client.app, "coordinator")
    client = login(app_client.app, email)
    url = f"/assessments/{worked.assessment_id}/reports/gap.pdf"
    page = client.get(url)
    assert page.status_code == 202
    again = re.search(r'data-download-url="([^"]+)"', page.text).group(1).replace("&amp;", "&")
    assert re.fullmatch(rf"{url}\?digest=[0-9a-f]{{64}}", again)
    assert page.headers["Refresh"] == f"5; url={again}"
    assert f'<meta http-equiv="refresh" content="5; url={again}">' in page.text
    assert "The report is being prepared" in page.text
    assert re.search(r"/static/reports\.[0-9a-f]+\.js", page.text)  # fingerprinted
    pdf = download_report(client, url)
    assert pdf.headers["content-type"] == "application/pdf"
    assert "attachment" in pdf.headers["content-disposition"]


def test_after_an_edit_and_a_pause_the_download_is_already_there(
    app_client,
    worked,
    reports,
    report_renderer,  # noqa: F811
):
    reports.prepare_delay = 0.5
    reports.download_wait = 0
    _change_answer(app_client, worked, "Reviewed with the prosecutors in the autumn.")
    time.sleep(0.6)
    assert app_client.app.state.jobs.wait_idle(timeout=600)
    # Both reports, in the language the assessment's users use (English here).
    stored = {(row.kind, row.locale) for row in stored_reports(app_client.app)}
    assert stored == {("gap", "en"), ("action-plan", "en")}
    renders = report_renderer.stats.renders
    answer = worked.world.get("coordinator", f"{worked.base}/reports/gap.pdf")
    assert answer.status_code == 200  # not 202: ready before it was asked for
    assert report_renderer.stats.renders == renders
    assert "Reviewed with the prosecutors in the autumn." in squash(
        " ".join(read_pdf(answer.content)[1])
    )
    log = worked.world.get("coordinator", f"{worked.base}/audit").json()
    assert next(e for e in log if e["action"] == "report.downloaded")["details"]["from_cache"]


def test_edits_in_a_burst_are_prepared_once(
    app_client,
    worked,
    reports,
    report_renderer,  # noqa: F811
):
    reports.prepare_delay = 1.5
    for n in range(3):
        _change_answer(app_client, worked, f"Burst edit number {n}.")
        time.sleep(0.2)
    time.sleep(1.6)
    assert app_client.app.state.jobs.wait_idle(timeout=600)
    # One render per report, of the last state only.
    assert report_renderer.stats.renders == 2
    pdf = worked.world.get("coordinator", f"{worked.base}/reports/gap.pdf")
    text = squash(" ".join(read_pdf(pdf.content)[1]))
    assert "Burst edit number 2." in text and "Burst edit number 1." not in text


def test_a_store_beyond_its_size_drops_the_least_used(app_client):
    sessions = app_client.app.state.sessions
    empty_store(app_client.app)
    for n in range(3):
        store.put(
            sessions.write,
            f"{n:064x}",
            b"%PDF" + b"x" * 1000,
            kind="membership-brief",
            locale="en",
            assessment_id=None,
            render_ms=1,
            owner="test",
            max_bytes=2500,
        )
    kept = sorted(row.digest[-1] for row in stored_reports(app_client.app))
    assert kept == ["1", "2"]
    empty_store(app_client.app)


def test_two_claims_on_one_report_give_one_render(app_client):
    sessions = app_client.app.state.sessions
    empty_store(app_client.app)
    digest = "f" * 64
    spec = {"kind": "membership-brief", "locale": "en", "assessment_id": None}
    assert store.claim(sessions.write, digest, owner="one", seconds=60, **spec)
    assert not store.claim(sessions.write, digest, owner="two", seconds=60, **spec)
    assert store.claim(sessions.write, digest, owner="one", seconds=60, **spec)  # a retry
    # A holder that died lets its claim expire; then another may take it.
    assert store.claim(sessions.write, "e" * 64, owner="dead", seconds=-1, **spec)
    assert store.claim(sessions.write, "e" * 64, owner="alive", seconds=60, **spec)
    empty_store(app_client.app)


def test_the_membership_brief_page_download_is_prepared_the_same_way(
    app_client,
    worked,
    reports,
    report_renderer,  # noqa: F811
):
    from tests.web.test_web_pages import login, make_user

    reports.download_wait = 0
    secretariat = login(app_client.app, make_user(app_client.app, "secretariat", None))
    url = "/alliance/membership-brief.pdf"  # the latest cycle (of no member, in this world)
    page = secretariat.get(url)
    assert page.status_code == 202, page.text
    assert 'data-status-url="/api/v1/alliance/reports/status/' in page.text
    pdf = download_report(secretariat, url)
    assert pdf.headers["content-type"] == "application/pdf"
    assert 'filename="membership-brief-' in pdf.headers["content-disposition"]
    assert secretariat.get(url + "?cycle=no-such-cycle").status_code == 404
    # Country users get the same 404 as for every secretariat page.
    coordinator = login(app_client.app, make_user(app_client.app, "coordinator"))
    assert coordinator.get(url).status_code == 404
