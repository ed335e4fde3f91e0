"""An assessment's results on screen: the gap report's figures, live from the saved answers.

The page is built from the same data as the gap report PDF (app/reporting/results.py); while
it is open, app/web/static/results.js polls the small version endpoint below and reloads the
figures when an answer, a target or the status changed.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from app.assessments import permissions
from app.assessments import service as assessments
from app.audit import service as audit
from app.core.db import SessionDep
from app.core.deps import min_group
from app.core.inputs import Id
from app.reporting import results
from app.reporting.render import format_number
from app.scoring import display_score
from app.web.figures import shade
from app.web.pages.common import PageUser, locale_of, render

router = APIRouter()

# How often an open results page asks whether anything changed (milliseconds). Each ask is
# one indexed read; the page itself is rebuilt only when the answer differs.
POLL_INTERVAL_MS = 20_000


@router.get("/assessments/{assessment_id}/results")
def results_page(
    request: Request, user: PageUser, session: SessionDep, assessment_id: Id
) -> Response:
    assessment = assessments.get_assessment(session, user=user, assessment_id=assessment_id)
    locale = locale_of(request)
    report = results.build_results(
        session, user=user, assessment=assessment, locale=locale, k=min_group(request)
    )
    version = results.results_version(session, assessment)
    audit.record(
        session,
        actor=user,
        action="report.previewed",
        country_id=assessment.country_id,
        assessment_id=assessment.id,
        target=("report", "results"),
        details={"report": "results", "revision": assessment.revision, "locale": locale},
    )
    capability_marks = {
        view.id: results.capability_marks(view)
        for area in report.areas
        for view in area.capabilities
    }
    return render(
        request,
        "results.html",
        {
            "assessment": assessment,
            "report": report,
            "version": version,
            "poll_ms": POLL_INTERVAL_MS,
            "capability_marks": capability_marks,
            "area_marks": {area.id: results.area_marks(area) for area in report.areas},
            "overall_marks": results.overall_marks(report),
            "is_provisional": results.is_provisional,
            "score": lambda value: display_score(value, locale),
            "number": lambda value: format_number(value, locale),
            "shade": lambda level: shade(level, report.meta.max_level),
            "can_set_targets": permissions.can_set_targets(user, assessment),
        },
    )


@router.get("/assessments/{assessment_id}/results/version")
def results_version(user: PageUser, session: SessionDep, assessment_id: Id) -> JSONResponse:
    """What an open results page polls: a short string that changes with the results."""
    assessment = assessments.get_assessment(session, user=user, assessment_id=assessment_id)
    return JSONResponse({"version": results.results_version(session, assessment)})
