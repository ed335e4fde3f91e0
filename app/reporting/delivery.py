"""Report downloads as the API and the pages share them: access, gathering, the stored PDF
or the state of its render, the file's name and headers, and the audit record."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session

from app.accounts.models import User
from app.assessments import service as assessment_service
from app.assessments.models import Assessment
from app.audit import service as audit
from app.comparisons import service as comparisons
from app.core import i18n
from app.core.deps import min_group
from app.core.errors import DomainError, Invalid, NotFound
from app.reporting import service, store
from app.reporting.jobs import renderer_of
from app.reporting.render import ReportRenderer
from app.reporting.schemas import ReportStatus
from app.reporting.service import BRIEF, Gathered, Outcome, ReportSpec

RETRY_AFTER = 2


class ReportUnavailable(DomainError):
    """The report could not be rendered (in time); the request may be retried."""

    status_code = 503
    code = "report_unavailable"


FILE_STEMS = {"gap": "gap-report", "action-plan": "action-plan"}


def get_renderer(app: FastAPI) -> ReportRenderer:
    """The application's renderer, made from the report settings on first use."""
    return renderer_of(app.state, app.state.settings)


def report_locale(request: Request, user: User, requested: str | None) -> str:
    """The requested language if reports exist in it; else the user's or browser's."""
    available = i18n.available_locales()
    if requested is not None:
        wanted = requested.replace("-", "_")
        if wanted not in available:
            raise Invalid(f"reports are available in: {', '.join(available)}", field="locale")
        return wanted
    return i18n.negotiate(request, preferred=user.locale)


def download_name(kind: str, assessment: Assessment) -> str:
    """A file name naming only the report, the country code and the cycle."""
    cycle = re.sub(r"[^A-Za-z0-9._-]+", "-", assessment.cycle).strip("-.")[:40] or "cycle"
    return f"{FILE_STEMS[kind]}-{assessment.country.code}-{cycle}.pdf"


def gather_for_download(
    kind: str,
    assessment_id: int,
    request: Request,
    user: User,
    session: Session,
    locale: str | None,
    digest: str | None = None,
) -> tuple[Assessment, Gathered]:
    """Check access, gather the report and end the read (the page download uses it too)."""
    assessment = assessment_service.get_assessment(session, user=user, assessment_id=assessment_id)
    spec = ReportSpec(
        kind=kind,
        locale=report_locale(request, user, locale),
        k=min_group(request),
        assessment_id=assessment.id,
    )
    if digest is not None:
        # Asked again after a 202: the report that answered it is served even when edits
        # made since then changed the data again, so a client polling while others edit
        # gets the report it waited for (a fresh download asks for the newest data).
        found = store.recent_version(
            session, digest, assessment_id=assessment.id, kind=kind, locale=spec.locale
        )
        if found is not None:
            session.commit()
            return assessment, Gathered(spec, None, found)
    gathered = service.gather(session, spec, user=user, assessment=assessment)
    session.commit()  # no transaction (nor pooled connection) held while a render is awaited
    return assessment, gathered


def obtain(request: Request, gathered: Gathered) -> Outcome:
    """The stored PDF, or the render's state after the configured short wait."""
    return service.obtain(
        request.app.state.sessions,
        gathered,
        queue_target=request.app,
        wait=request.app.state.settings.reports.download_wait,
        renderer=get_renderer(request.app),
    )


def pdf_response(content: bytes, filename: str) -> Response:
    return Response(
        content=content,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


def status_url(assessment_id: int | None, digest: str) -> str:
    if assessment_id is None:
        return f"/api/v1/alliance/reports/status/{digest}"
    return f"/api/v1/assessments/{assessment_id}/reports/status/{digest}"


def again_url(request: Request, digest: str) -> str:
    """The download URL to ask again with: the same, naming the report being prepared."""
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "digest"]
    return f"{request.url.path}?{urlencode([*query, ('digest', digest)])}"


def preparing_response(request: Request, outcome: Outcome, assessment_id: int | None) -> Response:
    """202: the report is being prepared; where to ask and when."""
    if outcome.state == "failed":
        raise ReportUnavailable(
            "the report could not be produced just now; please try again in a minute"
        )
    url = status_url(assessment_id, outcome.digest)
    body = ReportStatus(
        state="preparing",
        digest=outcome.digest,
        status_url=url,
        download_url=again_url(request, outcome.digest),
        retry_after=RETRY_AFTER,
    )
    return JSONResponse(
        body.model_dump(),
        status_code=202,
        headers={
            "Retry-After": str(RETRY_AFTER),
            "Location": url,
            "Cache-Control": "private, no-store",
        },
    )


def audit_download(
    session: Session, user: User, assessment: Assessment, gathered: Gathered, outcome: Outcome
) -> None:
    """Record a served download of an assessment's report."""
    audit_report(
        session,
        user,
        assessment,
        action="report.downloaded",
        report=gathered.spec.kind,
        locale=gathered.spec.locale,
        from_cache=outcome.from_store,
    )


def audit_report(
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


def brief_download_name(cycle: str | None) -> str:
    label = re.sub(r"[^A-Za-z0-9._-]+", "-", cycle or "").strip("-.")[:40] or "no-cycle"
    return f"membership-brief-{label}.pdf"


def gather_brief(
    request: Request, user: User, session: Session, cycle: str | None, locale: str | None
) -> Gathered:
    """The membership brief's data for a secretariat user (checked by the caller), read
    ended; NotFound for a cycle no member has an assessment in."""
    if cycle is not None and cycle not in comparisons.cycles(session):
        raise NotFound("no member has an assessment in that cycle")
    spec = ReportSpec(
        kind=BRIEF, locale=report_locale(request, user, locale), k=min_group(request), cycle=cycle
    )
    gathered = service.gather(session, spec)
    session.commit()  # end the read before waiting for a render
    return gathered


def audit_brief(session: Session, user: User, gathered: Gathered, outcome: Outcome) -> None:
    audit_report(
        session,
        user,
        None,
        action="report.downloaded",
        report=BRIEF,
        cycle=gathered.report.meta.cycle,
        locale=gathered.spec.locale,
        from_cache=outcome.from_store,
    )
