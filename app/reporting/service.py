"""Reports ready before they are asked for: gather, look up by digest, render in the background.

A download gathers what the report shows (cheap next to a render), takes its digest and
serves the stored PDF. When there is none, it asks for a render job and waits a few
seconds at most (`GSR_REPORTS_DOWNLOAD_WAIT`); past that the caller answers that the report
is being prepared (202, or a page that refreshes itself), never a request held for a render.
The job gathers the data again itself, so it renders what the database holds when it runs.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from app import jobs
from app.accounts.models import Role, User
from app.assessments.models import Assessment
from app.core import i18n
from app.core.clock import utc_today
from app.core.db import Sessions
from app.reporting import brief, context, store
from app.reporting.pool import RenderError
from app.reporting.render import ReportRenderer, report_html

logger = logging.getLogger("gsr.reports")

ASSESSMENT_KINDS = ("gap", "action-plan")
BRIEF = "membership-brief"
RENDER_TASK = "reports.render"
PREPARE_TASK = "reports.prepare"


@dataclass(frozen=True, slots=True)
class ReportSpec:
    """Which report, as a job can gather it again: JSON values only."""

    kind: str
    locale: str
    k: int
    assessment_id: int | None = None
    cycle: str | None = None  # the membership brief's; None: the latest

    def as_job(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "locale": self.locale,
            "k": self.k,
            "assessment_id": self.assessment_id,
            "cycle": self.cycle,
        }


@dataclass(frozen=True, slots=True)
class Gathered:
    spec: ReportSpec
    report: Any  # the report's data, as the template gets it
    digest: str


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a download found: the PDF, or the state of the render it waits for."""

    state: str  # "ready", "preparing", "failed"
    digest: str
    pdf: bytes | None = None
    from_store: bool = False


def load_assessment(session: Session, assessment_id: int) -> Assessment | None:
    """The assessment with what every report reads of it, unchecked (jobs only)."""
    return session.scalar(
        select(Assessment)
        .where(Assessment.id == assessment_id)
        .options(joinedload(Assessment.country), joinedload(Assessment.catalogue_version))
    )


def reader_for(assessment: Assessment) -> User:
    """A transient viewer of the assessment's country: what a background job reads as.

    Reports show the same to everyone who may see the assessment, so gathering as the
    least-privileged such reader gives the same data as any user's download.
    """
    return User(role=Role.VIEWER, country_id=assessment.country_id)


def gather(
    session: Session,
    spec: ReportSpec,
    *,
    user: User | None = None,
    assessment: Assessment | None = None,
    today: date | None = None,
) -> Gathered:
    """The report's data and digest. For an assessment's report the caller has loaded and
    checked the assessment for user (a job passes none and reads as `reader_for`)."""
    today = today or utc_today()
    if spec.kind == BRIEF:
        data = brief.brief_data(session, spec.cycle, k=spec.k)
        report: Any = brief.build_membership_brief(session, data, locale=spec.locale, today=today)
        catalogue_hash = ",".join(info.content_hash for info in data.catalogues)
    else:
        assert assessment is not None
        user = user or reader_for(assessment)
        if spec.kind == "gap":
            figures = context.position_figures(session, assessment, k=spec.k)
            report = context.build_gap_report(
                session, user=user, assessment=assessment, locale=spec.locale, figures=figures
            )
        elif spec.kind == "action-plan":
            report = context.build_action_plan(
                session, user=user, assessment=assessment, locale=spec.locale, today=today
            )
        else:
            raise ValueError(f"no report kind {spec.kind!r}")
        catalogue_hash = assessment.catalogue_version.content_hash
    digest = store.content_digest(
        spec.kind, report, locale=spec.locale, catalogue_hash=catalogue_hash
    )
    return Gathered(spec, report, digest)


def obtain(
    sessions: Sessions,
    gathered: Gathered,
    *,
    queue_target: Any,
    wait: float,
    renderer: ReportRenderer | None = None,
) -> Outcome:
    """The stored PDF of gathered, or the state of its render after waiting up to wait s.

    Call it with no transaction open: it writes and waits in short transactions of its own.
    """
    digest = gathered.digest
    pdf = store.fetch(sessions.read, sessions.write, digest)
    if pdf is not None:
        if renderer is not None:
            renderer.count_hit()
        return Outcome("ready", digest, pdf, from_store=True)
    spec = gathered.spec
    _, must_defer = store.ask(
        sessions.write,
        digest,
        kind=spec.kind,
        locale=spec.locale,
        assessment_id=spec.assessment_id,
    )
    if must_defer:
        request_render(queue_target, spec, digest)
    found = store.wait(sessions.read, digest, wait)
    if found == "ready":
        with sessions.read() as session:
            answered = store.resolve(session, digest)  # newer data, if it changed meanwhile
        pdf = store.fetch(sessions.read, sessions.write, answered)
        if pdf is not None:
            return Outcome("ready", answered, pdf)
        found = "preparing"  # pruned in between: rare, and the next look finds it again
    if found == "unknown":
        found = "preparing"  # the data changed under the job: a new look asks again
    return Outcome(found, digest)


def request_render(queue_target: Any, spec: ReportSpec, digest: str) -> bool:
    """Defer the render of one report (one waiting job per digest)."""
    return jobs.defer(
        queue_target, RENDER_TASK, key=f"report:{digest}", digest=digest, **spec.as_job()
    )


def status(session: Session, digest: str, *, assessment_id: int | None) -> str:
    """ "ready", "preparing", "failed" or "unknown" for a digest a download answered with."""
    return store.state(session, digest, assessment_id=assessment_id)


# ---------------------------------------------------------------- the jobs' work


def render_one(
    sessions: Sessions,
    spec: ReportSpec,
    *,
    renderer: ReportRenderer,
    owner: str,
    max_bytes: int,
    claim_seconds: float,
    wanted: str | None = None,
) -> str | None:
    """Gather spec's report now and render it unless stored; its digest (None if the
    assessment is gone). A render claimed by a live process elsewhere is left to it."""
    with sessions.read() as session:
        assessment = None
        if spec.assessment_id is not None:
            assessment = load_assessment(session, spec.assessment_id)
            if assessment is None:
                if wanted:
                    store.supersede(sessions.write, wanted, by=None)
                return None
        gathered = gather(session, spec, assessment=assessment)
        digest = gathered.digest
        if store.is_stored(session, digest):
            html = None
        else:
            html = report_html(spec.kind, gathered.report, locale=spec.locale)
    if wanted and wanted != digest:
        # The data changed since it was asked for: its waiters get this newer report.
        store.supersede(sessions.write, wanted, by=digest)
    if html is None:
        return digest
    if not store.claim(
        sessions.write,
        digest,
        owner=owner,
        seconds=claim_seconds,
        kind=spec.kind,
        locale=spec.locale,
        assessment_id=spec.assessment_id,
    ):
        return digest
    started = time.perf_counter()
    try:
        output = renderer.render(html, label=f"{spec.kind} report of {spec.assessment_id}")
    except RenderError as exc:
        store.fail(sessions.write, digest, owner=owner, error=str(exc))
        logger.warning("%s report of %s not rendered: %s", spec.kind, spec.assessment_id, exc)
        return digest
    except BaseException:
        store.fail(sessions.write, digest, owner=owner, error="the render was interrupted")
        raise
    logger.info(
        "rendered %s report of %s (%s) in %.1f s by %s",
        spec.kind,
        spec.assessment_id,
        spec.locale,
        output.seconds,
        owner,
    )
    store.put(
        sessions.write,
        digest,
        output.pdf,
        kind=spec.kind,
        locale=spec.locale,
        assessment_id=spec.assessment_id,
        render_ms=int((time.perf_counter() - started) * 1000),
        owner=owner,
        max_bytes=max_bytes,
    )
    return digest


def report_languages(session: Session, assessment: Assessment, default: str) -> list[str]:
    """The languages to prepare an assessment's reports in: those its country's users chose,
    those its reports were asked for in, and the default."""
    chosen = session.scalars(
        select(User.locale)
        .where(User.country_id == assessment.country_id, User.locale.is_not(None))
        .distinct()
    )
    wanted = {default, *chosen, *store.languages_of(session, assessment.id)}
    return sorted(wanted & set(i18n.available_locales()))
