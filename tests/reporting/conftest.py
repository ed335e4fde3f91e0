"""Fixtures for the report tests: the report routes, a renderer whose counts start at zero
and an empty report store per test, and a worked assessment (two cycles, every indicator
answered, targets, a plan)."""

from __future__ import annotations

import pytest

from app.reporting.render import RenderStats, ReportRenderer
from tests.reporting.report_helpers import Worked, empty_store, make_worked


@pytest.fixture(scope="session")
def shared_renderer():
    """One renderer, and so one worker process, for every application of the session."""
    renderer = ReportRenderer(workers=1, timeout=300)
    yield renderer
    renderer.close()


@pytest.fixture(scope="session")
def report_renderer(app_client, shared_renderer):
    """The shared renderer, serving the reports of the test database's application.

    Downloads wait for their render here (as they would for a small report), so a test
    gets the PDF in one request; tests of the "being prepared" answer set the wait to 0.
    """
    state, reports = app_client.app.state, app_client.app.state.settings.reports
    previous = (
        getattr(state, "report_renderer", None),
        reports.download_wait,
        reports.prepare_delay,
    )
    state.report_renderer = shared_renderer
    # Renders happen when asked for, and the counts are each test's own: no background
    # preparation after the tests' saves (tests/jobs covers it).
    reports.download_wait, reports.prepare_delay = 300, 3600
    yield shared_renderer
    state.report_renderer, reports.download_wait, reports.prepare_delay = previous


@pytest.fixture
def renderer(app_client, report_renderer):
    """The shared renderer with zeroed counts and an empty store for this test."""
    empty_store(app_client.app)
    report_renderer.stats = RenderStats()
    return report_renderer


@pytest.fixture(scope="session")
def worked(app_client, api_people) -> Worked:
    """A worked assessment built once per backend, shared by tests that must not change it.

    A module whose tests change their assessment overrides this with a module-scoped one.
    """
    return make_worked(app_client, people=api_people)
