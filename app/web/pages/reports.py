"""Report downloads from the pages: the PDF when it is stored, else a page saying it is being
prepared, which refreshes itself (and, with JavaScript, asks the status URL) until it is."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from app.comparisons import permissions as comparison_rules
from app.core.db import SessionDep
from app.core.errors import NotFound
from app.core.i18n import gettext as _
from app.core.inputs import Id
from app.reporting import delivery
from app.web.pages.common import PageUser, render

router = APIRouter()
Locale = Annotated[str | None, Query(pattern=r"^[a-z]{2,3}([_-][A-Za-z]{2})?$")]
Digest = Annotated[str | None, Query(pattern="^[0-9a-f]{64}$")]
REFRESH_SECONDS = 5


@router.get("/assessments/{assessment_id}/reports/gap.pdf")
def gap_report_download(
    assessment_id: Id,
    request: Request,
    user: PageUser,
    session: SessionDep,
    locale: Locale = None,
    digest: Digest = None,
) -> Response:
    return _download("gap", assessment_id, request, user, session, locale, digest)


@router.get("/assessments/{assessment_id}/reports/action-plan.pdf")
def action_plan_download(
    assessment_id: Id,
    request: Request,
    user: PageUser,
    session: SessionDep,
    locale: Locale = None,
    digest: Digest = None,
) -> Response:
    return _download("action-plan", assessment_id, request, user, session, locale, digest)


def _download(
    kind: str,
    assessment_id: int,
    request: Request,
    user,
    session: Session,
    locale: str | None,
    digest: str | None,
) -> Response:
    assessment, gathered = delivery.gather_for_download(
        kind, assessment_id, request, user, session, locale, digest
    )
    outcome = delivery.obtain(request, gathered)
    if outcome.pdf is not None:
        delivery.audit_download(session, user, assessment, gathered, outcome)
        return delivery.pdf_response(outcome.pdf, delivery.download_name(kind, assessment))
    report = _("Gap report") if kind == "gap" else _("Action plan")
    title = f"{report}: {assessment.country.name}, {assessment.cycle}"
    return _preparing(request, title, assessment.id, outcome, back=f"/assessments/{assessment.id}")


@router.get("/alliance/membership-brief.pdf")
def membership_brief_download(
    request: Request,
    user: PageUser,
    session: SessionDep,
    cycle: Annotated[str | None, Query(max_length=40)] = None,
    locale: Locale = None,
) -> Response:
    if not comparison_rules.can_compare_countries(user):
        raise NotFound("not found")
    gathered = delivery.gather_brief(request, user, session, cycle, locale)
    outcome = delivery.obtain(request, gathered)
    if outcome.pdf is not None:
        delivery.audit_brief(session, user, gathered, outcome)
        name = delivery.brief_download_name(gathered.report.meta.cycle)
        return delivery.pdf_response(outcome.pdf, name)
    title = _("Membership brief: %(cycle)s", cycle=gathered.report.meta.cycle or "")
    return _preparing(request, title, None, outcome, back="/alliance/aggregates")


def _preparing(
    request: Request, title: str, assessment_id: int | None, outcome, *, back: str
) -> Response:
    download = delivery.again_url(request, outcome.digest)
    return render(
        request,
        "report_preparing.html",
        {
            "title": title,
            "back_url": back,
            "failed": outcome.state == "failed",
            "download_url": download,
            "status_url": delivery.status_url(assessment_id, outcome.digest),
            "refresh": REFRESH_SECONDS,
        },
        status_code=503 if outcome.state == "failed" else 202,
        headers={"Refresh": f"{REFRESH_SECONDS}; url={download}", "Retry-After": "5"}
        if outcome.state != "failed"
        else {"Retry-After": "60"},
    )
