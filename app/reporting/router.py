"""Report downloads (PDF, under /api/v1) and their HTML previews (web pages).

Wiring, in app/main.py:

    from app.reporting.router import alliance_router as alliance_reports_router
    from app.reporting.router import pages as report_pages, router as reports_router
    application.include_router(reports_router, prefix="/api/v1")
    application.include_router(alliance_reports_router, prefix="/api/v1")
    application.include_router(report_pages)

The endpoints are plain `def`, so FastAPI runs them in its thread pool: a render, which waits
on a worker process for up to the time limit, never blocks the event loop.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from app.accounts.dependencies import CurrentUser
from app.accounts.models import User
from app.assessments import service as assessment_service
from app.assessments.models import Assessment
from app.audit import service as audit
from app.comparisons import service as comparisons
from app.comparisons.dependencies import require_alliance
from app.core import i18n
from app.core.clock import utc_today
from app.core.db import SessionDep
from app.core.deps import min_group
from app.core.errors import DomainError, Invalid, NotFound
from app.core.inputs import Id, Text
from app.reporting import brief, context
from app.reporting.pool import RenderError
from app.reporting.render import ReportKey, ReportRenderer, report_html, stylesheet_digest

router = APIRouter(prefix="/assessments", tags=["reports"])
pages = APIRouter(prefix="/assessments", include_in_schema=False)
# The secretariat's reports: anyone else gets 404 before any parameter is read.
alliance_router = APIRouter(
    prefix="/alliance", tags=["reports"], dependencies=[Depends(require_alliance)]
)

LocaleQuery = Annotated[
    str | None,
    Query(
        pattern=r"^[a-z]{2,3}([_-][A-Za-z]{2})?$",
        description="Language of the report; by default the user's, else the browser's.",
    ),
]
PDF_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/pdf": {}}, "description": "The report as a PDF file"},
    404: {"description": "No such assessment, or not one the caller may see"},
    503: {"description": "The report could not be rendered in time; try again"},
}


class ReportUnavailable(DomainError):
    """The report could not be rendered (in time); the request may be retried."""

    status_code = 503
    code = "report_unavailable"


def _nothing(session: Session, assessment: Assessment, k: int) -> None:
    return None


@dataclass(frozen=True, slots=True)
class _Kind:
    name: str  # "gap" or "action-plan"
    file_stem: str
    # key and build get what prepare gathered once per request (the gap report: the
    # members' published figures, which both its cache key and its content need).
    key: Callable[[Session, User, Assessment, str, date, Any], ReportKey]
    build: Callable[[Session, User, Assessment, str, date, Any], Any]
    prepare: Callable[[Session, Assessment, int], Any] = _nothing


KINDS = {
    "gap": _Kind(
        "gap",
        "gap-report",
        lambda s, u, a, locale, today, figures: context.gap_report_key(
            s, a, locale=locale, figures=figures
        ),
        lambda s, u, a, locale, today, figures: context.build_gap_report(
            s, user=u, assessment=a, locale=locale, figures=figures
        ),
        lambda s, a, k: context.position_figures(s, a, k=k),
    ),
    "action-plan": _Kind(
        "action-plan",
        "action-plan",
        lambda s, u, a, locale, today, _: context.action_plan_key(
            s, user=u, assessment=a, locale=locale, today=today
        ),
        lambda s, u, a, locale, today, _: context.build_action_plan(
            s, user=u, assessment=a, locale=locale, today=today
        ),
    ),
}


def get_renderer(app: FastAPI) -> ReportRenderer:
    """The application's renderer, made from the report settings on first use."""
    renderer = getattr(app.state, "report_renderer", None)
    if renderer is None:
        renderer = app.state.report_renderer = ReportRenderer.from_settings(
            app.state.settings.reports
        )
    return renderer


def report_locale(request: Request, user: User, requested: str | None) -> str:
    """The requested language if reports exist in it; else the user's or browser's."""
    available = i18n.available_locales()
    if requested is not None:
        wanted = requested.replace("-", "_")
        if wanted not in available:
            raise Invalid(f"reports are available in: {', '.join(available)}", field="locale")
        return wanted
    return i18n.negotiate(request, preferred=user.locale)


def download_name(kind: _Kind, assessment: Assessment) -> str:
    """A file name naming only the report, the country code and the cycle."""
    cycle = re.sub(r"[^A-Za-z0-9._-]+", "-", assessment.cycle).strip("-.")[:40] or "cycle"
    return f"{kind.file_stem}-{assessment.country.code}-{cycle}.pdf"


def _pdf(
    kind: _Kind,
    assessment_id: int,
    request: Request,
    user: User,
    session: Session,
    locale: str | None,
) -> Response:
    assessment = assessment_service.get_assessment(session, user=user, assessment_id=assessment_id)
    language = report_locale(request, user, locale)
    today = utc_today()
    renderer = get_renderer(request.app)
    prepared = kind.prepare(session, assessment, min_group(request))
    key = kind.key(session, user, assessment, language, today, prepared)
    pdf = renderer.cached(key)
    from_cache = pdf is not None
    if pdf is None:
        report = kind.build(session, user, assessment, language, today, prepared)
        html = report_html(kind.name, report, locale=language)
        # The data is gathered: end the read before the slow render, so no transaction
        # (nor a pooled connection) is held while WeasyPrint works.
        session.commit()
        try:
            pdf = renderer.render(key, html)
        except RenderError as exc:
            raise ReportUnavailable(
                "the report could not be produced just now; please try again in a minute"
            ) from exc
    _audit_report(
        session,
        user,
        assessment,
        action="report.downloaded",
        report=kind.name,
        locale=language,
        from_cache=from_cache,
    )
    return Response(
        content=pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{download_name(kind, assessment)}"',
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


def _audit_report(
    session: Session, user: User, assessment: Assessment | None, *, action: str, **details: Any
) -> None:
    """Record who saw or downloaded a report (in a short write beside the read)."""
    if assessment is not None:
        details["revision"] = assessment.revision
    audit.record(
        session,
        actor=user,
        action=action,
        country_id=assessment.country_id if assessment else None,
        assessment_id=assessment.id if assessment else None,
        target=("report", details["report"]),
        details=details,
    )


@router.get("/{assessment_id}/reports/gap.pdf", response_class=Response, responses=PDF_RESPONSE)
def gap_report_pdf(
    assessment_id: Id,
    request: Request,
    user: CurrentUser,
    session: SessionDep,
    locale: LocaleQuery = None,
) -> Response:
    """The gap report as a PDF: scores, key findings, ranked gaps, evidence, method."""
    return _pdf(KINDS["gap"], assessment_id, request, user, session, locale)


@router.get(
    "/{assessment_id}/reports/action-plan.pdf", response_class=Response, responses=PDF_RESPONSE
)
def action_plan_pdf(
    assessment_id: Id,
    request: Request,
    user: CurrentUser,
    session: SessionDep,
    locale: LocaleQuery = None,
) -> Response:
    """The action plan as a PDF: actions by time horizon and lead agency, with a timeline."""
    return _pdf(KINDS["action-plan"], assessment_id, request, user, session, locale)


def _preview(
    kind: _Kind,
    assessment_id: int,
    request: Request,
    user: User,
    session: Session,
    locale: str | None,
) -> HTMLResponse:
    assessment = assessment_service.get_assessment(session, user=user, assessment_id=assessment_id)
    language = report_locale(request, user, locale)
    prepared = kind.prepare(session, assessment, min_group(request))
    report = kind.build(session, user, assessment, language, utc_today(), prepared)
    _audit_report(
        session, user, assessment, action="report.previewed", report=kind.name, locale=language
    )
    html = report_html(kind.name, report, locale=language, preview=True)
    return HTMLResponse(
        html,
        headers={
            # Only the report's own inlined stylesheet: no scripts, no loads from anywhere.
            "Content-Security-Policy": (
                f"default-src 'none'; style-src '{stylesheet_digest()}'; img-src 'none'; "
                "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
            ),
            "Cache-Control": "private, no-store",
            "Referrer-Policy": "no-referrer",
        },
    )


@pages.get("/{assessment_id}/reports/gap", response_class=HTMLResponse)
def gap_report_page(
    assessment_id: Id,
    request: Request,
    user: CurrentUser,
    session: SessionDep,
    locale: LocaleQuery = None,
) -> HTMLResponse:
    return _preview(KINDS["gap"], assessment_id, request, user, session, locale)


@pages.get("/{assessment_id}/reports/action-plan", response_class=HTMLResponse)
def action_plan_page(
    assessment_id: Id,
    request: Request,
    user: CurrentUser,
    session: SessionDep,
    locale: LocaleQuery = None,
) -> HTMLResponse:
    return _preview(KINDS["action-plan"], assessment_id, request, user, session, locale)


# ---------------------------------------------------------------- the membership brief


BRIEF_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/pdf": {}}, "description": "The membership brief as a PDF"},
    404: {"description": "Not the secretariat, or no member has an assessment in that cycle"},
    503: {"description": "The brief could not be rendered in time; try again"},
}


def brief_download_name(cycle: str | None) -> str:
    label = re.sub(r"[^A-Za-z0-9._-]+", "-", cycle or "").strip("-.")[:40] or "no-cycle"
    return f"membership-brief-{label}.pdf"


@alliance_router.get("/membership-brief.pdf", response_class=Response, responses=BRIEF_RESPONSE)
def membership_brief_pdf(
    request: Request,
    user: CurrentUser,
    session: SessionDep,
    cycle: Annotated[
        Text | None,
        Query(max_length=40, description="The assessment cycle; by default the latest."),
    ] = None,
    locale: LocaleQuery = None,
) -> Response:
    """Anonymised aggregates of a cycle, fit for publication: no country named or ranked."""
    if cycle is not None and cycle not in comparisons.cycles(session):
        raise NotFound("no member has an assessment in that cycle")
    language = report_locale(request, user, locale)
    data = brief.brief_data(session, cycle, k=min_group(request))
    renderer = get_renderer(request.app)
    key = brief.membership_brief_key(data, locale=language)
    pdf = renderer.cached(key)
    from_cache = pdf is not None
    if pdf is None:
        report = brief.build_membership_brief(session, data, locale=language, today=utc_today())
        html = report_html("membership-brief", report, locale=language)
        session.commit()  # end the read before the slow render
        try:
            pdf = renderer.render(key, html)
        except RenderError as exc:
            raise ReportUnavailable(
                "the brief could not be produced just now; please try again in a minute"
            ) from exc
    _audit_report(
        session,
        user,
        None,
        action="report.downloaded",
        report="membership-brief",
        cycle=data.context.cycle,
        locale=language,
        from_cache=from_cache,
    )
    return Response(
        content=pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": (
                f'attachment; filename="{brief_download_name(data.context.cycle)}"'
            ),
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )
