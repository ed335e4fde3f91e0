"""Fixtures for the report tests: the report routes, a renderer with its own cache per test,
and a worked assessment (two cycles, every indicator answered, targets, a plan)."""

from __future__ import annotations

import pytest

from app.reporting.render import RenderStats, ReportCache, ReportRenderer
from tests.reporting.report_helpers import Worked, make_worked


@pytest.fixture(scope="session")
def shared_renderer(tmp_path_factory):
    """One renderer, and so one worker process, for every application of the session."""
    renderer = ReportRenderer(
        cache_dir=tmp_path_factory.mktemp("report-cache"), workers=1, timeout=300
    )
    yield renderer
    renderer.close()


@pytest.fixture(scope="session")
def report_renderer(app_client, shared_renderer):
    """The shared renderer, serving the reports of the test database's application."""
    previous = getattr(app_client.app.state, "report_renderer", None)
    app_client.app.state.report_renderer = shared_renderer
    yield shared_renderer
    app_client.app.state.report_renderer = previous


@pytest.fixture
def renderer(report_renderer, tmp_path):
    """The shared renderer with an empty cache and zeroed counts for this test."""
    report_renderer.cache = ReportCache(tmp_path / "reports")
    report_renderer.stats = RenderStats()
    return report_renderer


@pytest.fixture(scope="session")
def worked(app_client, api_people) -> Worked:
    """A worked assessment built once per backend, shared by tests that must not change it.

    A module whose tests change their assessment overrides this with a module-scoped one.
    """
    return make_worked(app_client, people=api_people)
