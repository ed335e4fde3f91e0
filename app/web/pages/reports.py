"""Report downloads from the pages: the PDF when it is stored, else a page saying it is being
prepared, which refreshes itself (and, with JavaScript, asks the status URL) until it is."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from app.core.db import SessionDep
from app.core.inputs import Id
from app.reporting import delivery
from app.web.pages.common import PageUser, render

router = APIRouter()
Locale = Annotated[str | None, Query(pattern=r"^[a-z]{2,3}([_-][A-Za-z]{2})?$")]
REFRESH_SECONDS = 5


@router.get("/assessments/{assessment_id}/reports/gap.pdf")
def gap_report_download(
    assessment_id: Id, request: Request, user: PageUser, session: SessionDep, locale: Locale = None
) -> Response:
    return _download("gap", assessment_id, request, user, session, locale)


@router.get("/assessments/{assessment_id}/reports/action-plan.pdf")
def action_plan_download(
    assessment_id: Id, request: Request, user: PageUser, session: SessionDep, locale: Locale = None
) -> Response:
    return _download("action-plan", assessment_id, request, user, session, locale)


def _download(
    kind: str, assessment_id: int, request: Request, user, session: Session, locale: str | None
) -> Response:
    assessment, gathered = delivery.gather_for_download(
        kind, assessment_id, request, user, session, locale
    )
    outcome = delivery.obtain(request, gathered)
    if outcome.pdf is not None:
        delivery.audit_download(session, user, assessment, gathered, outcome)
        return delivery.pdf_response(outcome.pdf, delivery.download_name(kind, assessment))
    return _preparing(request, session, assessment, kind, outcome)


def _preparing(request: Request, session: Session, assessment, kind: str, outcome) -> Response:
    download = str(request.url.path) + (f"?{request.url.query}" if request.url.query else "")
    return render(
        request,
        "report_preparing.html",
        {
            "assessment": assessment,
            "kind": kind,
            "failed": outcome.state == "failed",
            "download_url": download,
            "status_url": delivery.status_url(assessment.id, outcome.digest),
            "refresh": REFRESH_SECONDS,
        },
        status_code=503 if outcome.state == "failed" else 202,
        headers={"Refresh": str(REFRESH_SECONDS), "Retry-After": str(REFRESH_SECONDS)}
        if outcome.state != "failed"
        else {"Retry-After": "60"},
    )
