"""Report downloads (PDF, under /api/v1) and their HTML previews (web pages).

Wiring, in app/main.py:

    from app.reporting.router import alliance_router as alliance_reports_router
    from app.reporting.router import pages as report_pages, router as reports_router
    application.include_router(reports_router, prefix="/api/v1")
    application.include_router(alliance_reports_router, prefix="/api/v1")
    application.include_router(report_pages)

A download serves the stored PDF, or asks for it to be rendered in the background and
answers `202 Accepted` with `Retry-After` and a status URL while it is being prepared
(app/reporting/service.py). The endpoints are plain `def`, so the few seconds a download
may wait for a render under way never block the event loop.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy.orm import Session

from app.accounts.dependencies import CurrentUser
from app.accounts.models import User
from app.assessments import service as assessment_service
from app.comparisons.dependencies import require_alliance
from app.core.db import SessionDep
from app.core.deps import min_group
from app.core.inputs import Id, Text
from app.reporting import service
from app.reporting.delivery import (
    RETRY_AFTER,
    audit_brief,
    audit_download,
    audit_report,
    brief_download_name,
    download_name,
    gather_brief,
    gather_for_download,
    obtain,
    pdf_response,
    preparing_response,
    report_locale,
)
from app.reporting.render import report_html, stylesheet_digest
from app.reporting.schemas import ReportStatus
from app.reporting.service import ReportSpec

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
DigestQuery = Annotated[
    str | None,
    Query(
        pattern="^[0-9a-f]{64}$",
        description="The report a 202 answer named (its download_url carries it): served "
        "once ready even if the data changed again since",
    ),
]
PDF_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/pdf": {}}, "description": "The report as a PDF file"},
    202: {
        "model": ReportStatus,
        "description": "Being prepared: ask the status URL (Location) after Retry-After "
        "seconds, then download again",
    },
    404: {"description": "No such assessment, or not one the caller may see"},
    503: {"description": "The report could not be rendered; try again"},
}


def _pdf(
    kind: str,
    assessment_id: int,
    request: Request,
    user: User,
    session: Session,
    locale: str | None,
    digest: str | None,
) -> Response:
    assessment, gathered = gather_for_download(
        kind, assessment_id, request, user, session, locale, digest
    )
    outcome = obtain(request, gathered)
    if outcome.pdf is None:
        return preparing_response(request, outcome, assessment.id)
    audit_download(session, user, assessment, gathered, outcome)
    return pdf_response(outcome.pdf, download_name(kind, assessment))


@router.get("/{assessment_id}/reports/gap.pdf", response_class=Response, responses=PDF_RESPONSE)
def gap_report_pdf(
    assessment_id: Id,
    request: Request,
    user: CurrentUser,
    session: SessionDep,
    locale: LocaleQuery = None,
    digest: DigestQuery = None,
) -> Response:
    """The gap report as a PDF: scores, key findings, ranked gaps, evidence, method."""
    return _pdf("gap", assessment_id, request, user, session, locale, digest)


@router.get(
    "/{assessment_id}/reports/action-plan.pdf", response_class=Response, responses=PDF_RESPONSE
)
def action_plan_pdf(
    assessment_id: Id,
    request: Request,
    user: CurrentUser,
    session: SessionDep,
    locale: LocaleQuery = None,
    digest: DigestQuery = None,
) -> Response:
    """The action plan as a PDF: actions by time horizon and lead agency, with a timeline."""
    return _pdf("action-plan", assessment_id, request, user, session, locale, digest)


def _preview(
    kind: str,
    assessment_id: int,
    request: Request,
    user: User,
    session: Session,
    locale: str | None,
) -> HTMLResponse:
    assessment = assessment_service.get_assessment(session, user=user, assessment_id=assessment_id)
    spec = ReportSpec(
        kind=kind,
        locale=report_locale(request, user, locale),
        k=min_group(request),
        assessment_id=assessment.id,
    )
    report = service.gather(session, spec, user=user, assessment=assessment).report
    audit_report(
        session, user, assessment, action="report.previewed", report=kind, locale=spec.locale
    )
    language = spec.locale
    html = report_html(kind, report, locale=language, preview=True)
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
    return _preview("gap", assessment_id, request, user, session, locale)


@pages.get("/{assessment_id}/reports/action-plan", response_class=HTMLResponse)
def action_plan_page(
    assessment_id: Id,
    request: Request,
    user: CurrentUser,
    session: SessionDep,
    locale: LocaleQuery = None,
) -> HTMLResponse:
    return _preview("action-plan", assessment_id, request, user, session, locale)


# ---------------------------------------------------------------- the membership brief


BRIEF_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/pdf": {}}, "description": "The membership brief as a PDF"},
    202: PDF_RESPONSE[202],
    404: {"description": "Not the secretariat, or no member has an assessment in that cycle"},
    503: {"description": "The brief could not be rendered in time; try again"},
}


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
    gathered = gather_brief(request, user, session, cycle, locale)
    outcome = obtain(request, gathered)
    if outcome.pdf is None:
        return preparing_response(request, outcome, None)
    audit_brief(session, user, gathered, outcome)
    return pdf_response(outcome.pdf, brief_download_name(gathered.report.meta.cycle))


@router.get("/{assessment_id}/reports/status/{digest}", response_model=ReportStatus)
def report_status(
    assessment_id: Id,
    digest: Annotated[str, Path(pattern="^[0-9a-f]{64}$")],
    user: CurrentUser,
    session: SessionDep,
) -> Response:
    """Whether a report a download answered 202 for is ready: poll it, then download again."""
    assessment = assessment_service.get_assessment(session, user=user, assessment_id=assessment_id)
    return _status(service.status(session, digest, assessment_id=assessment.id), digest)


@alliance_router.get("/reports/status/{digest}", response_model=ReportStatus)
def brief_status(
    digest: Annotated[str, Path(pattern="^[0-9a-f]{64}$")], session: SessionDep
) -> Response:
    """Whether a membership brief being prepared is ready."""
    return _status(service.status(session, digest, assessment_id=None), digest)


def _status(state: str, digest: str) -> JSONResponse:
    return JSONResponse(
        ReportStatus(state=state, digest=digest, retry_after=RETRY_AFTER).model_dump(),
        headers={"Cache-Control": "private, no-store", "Retry-After": str(RETRY_AFTER)},
    )
