"""The reports' background jobs: render one report, prepare an assessment's reports after
it changed (debounced), and a start-up sweep for what a restart may have dropped."""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import func, select

from app import jobs
from app.assessments.models import Assessment
from app.core.db import utcnow
from app.core.i18n import SOURCE_LOCALE
from app.reporting import service
from app.reporting.models import RenderState, ReportFile, ReportRender
from app.reporting.render import ReportRenderer
from app.reporting.service import ASSESSMENT_KINDS, PREPARE_TASK, RENDER_TASK, ReportSpec

SWEEP_TASK = "reports.sweep"
# Time a claim outlives the render's own limit: gathering and storing around it.
CLAIM_MARGIN = 120.0

_renderer_guard = threading.Lock()


def renderer_of(state: Any, settings: Any) -> ReportRenderer:
    """The process's renderer (kept on its state), made from the settings on first use."""
    with _renderer_guard:
        renderer = getattr(state, "report_renderer", None)
        if renderer is None:
            renderer = ReportRenderer.from_settings(settings.reports)
            state.report_renderer = renderer
        return renderer


def _render(context: jobs.JobContext, spec: ReportSpec, wanted: str | None = None) -> None:
    reports = context.settings.reports
    service.render_one(
        context.sessions,
        spec,
        renderer=renderer_of(context.state, context.settings),
        owner=context.job_id,
        max_bytes=reports.store_max_mb * 1024 * 1024,
        claim_seconds=reports.render_timeout + CLAIM_MARGIN,
        wanted=wanted,
    )


# Retried: a transient database error (a lock wait on a busy SQLite) must not lose it.
@jobs.task(RENDER_TASK, retries=2)
def render_report(
    context: jobs.JobContext,
    *,
    kind: str,
    locale: str,
    k: int,
    assessment_id: int | None = None,
    cycle: str | None = None,
    digest: str | None = None,
) -> None:
    """Render one report as the database holds it now, unless it is stored already."""
    spec = ReportSpec(kind=kind, locale=locale, k=k, assessment_id=assessment_id, cycle=cycle)
    _render(context, spec, wanted=digest)


@jobs.task(PREPARE_TASK, retries=1)
def prepare_reports(context: jobs.JobContext, *, assessment_id: int) -> None:
    """Render an assessment's reports once it has been quiet for the prepare delay.

    Deferred after every change; a change within the delay sends it back to wait for the
    rest, so a burst of saves ends in one render per report.
    """
    delay = context.settings.reports.prepare_delay
    with context.sessions.read() as session:
        assessment = service.load_assessment(session, assessment_id)
        if assessment is None:
            return
        quiet = (utcnow() - assessment.updated_at).total_seconds()
        if quiet < delay:
            context.defer(
                PREPARE_TASK,
                delay=delay - quiet,
                key=prepare_key(assessment_id),
                assessment_id=assessment_id,
            )
            return
        languages = service.report_languages(session, assessment, SOURCE_LOCALE)
    k = context.settings.aggregate.min_group
    for kind in ASSESSMENT_KINDS:
        for locale in languages:
            _render(context, ReportSpec(kind=kind, locale=locale, k=k, assessment_id=assessment_id))


def prepare_key(assessment_id: int) -> str:
    return f"prepare:{assessment_id}"


@jobs.task(SWEEP_TASK)
def sweep(context: jobs.JobContext) -> None:
    """Ask again for what a stopped process left undone: renders asked for and never
    finished, and the reports of assessments changed since their reports were stored."""
    now = utcnow()
    k = context.settings.aggregate.min_group
    with context.sessions.read() as session:
        lost = session.execute(
            select(ReportRender.kind, ReportRender.locale, ReportRender.assessment_id).where(
                ReportRender.assessment_id.is_not(None),
                (ReportRender.state == RenderState.QUEUED) | (ReportRender.expires_at < now),
            )
        ).all()
        newest = (
            select(ReportFile.assessment_id, func.max(ReportFile.created_at).label("stored"))
            .where(ReportFile.assessment_id.is_not(None))
            .group_by(ReportFile.assessment_id)
            .subquery()
        )
        changed = session.scalars(
            select(Assessment.id)
            .join(newest, newest.c.assessment_id == Assessment.id)
            .where(Assessment.updated_at > newest.c.stored)
        ).all()
    for kind, locale, assessment_id in lost:
        spec = ReportSpec(kind=kind, locale=locale, k=k, assessment_id=assessment_id)
        context.defer(RENDER_TASK, key=f"sweep:{kind}:{locale}:{assessment_id}", **spec.as_job())
    for assessment_id in changed:
        context.defer(PREPARE_TASK, key=prepare_key(assessment_id), assessment_id=assessment_id)
