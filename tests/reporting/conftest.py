"""Fixtures for the report tests: the report routes, a renderer with its own cache per test,
and a worked assessment (two cycles, every indicator answered, targets, a plan)."""

from __future__ import annotations

import pytest

from app.reporting.render import RenderStats, ReportCache, ReportRenderer
from tests.reporting.report_helpers import Worked, make_worked


@pytest.fixture(scope="session")
def report_renderer(app_client, tmp_path_factory):
    """One renderer (and worker process) per backend, shared by the report tests."""
    renderer = ReportRenderer(
        cache_dir=tmp_path_factory.mktemp("report-cache"), workers=1, timeout=300
    )
    previous = getattr(app_client.app.state, "report_renderer", None)
    app_client.app.state.report_renderer = renderer
    yield renderer
    app_client.app.state.report_renderer = previous
    renderer.close()


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
