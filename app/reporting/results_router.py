"""The results API: what the gap report states, as JSON, for an assessment the caller may see.

Wiring, in app/main.py: `application.include_router(results_router, prefix="/api/v1")`.
"""

from __future__ import annotations

from fastapi import APIRouter, Request

from app.accounts.dependencies import CurrentUser
from app.assessments import service as assessment_service
from app.core.db import SessionDep
from app.core.deps import min_group
from app.core.inputs import Id
from app.reporting import results
from app.reporting.router import LocaleQuery, report_locale

router = APIRouter(prefix="/assessments", tags=["reports"])


@router.get(
    "/{assessment_id}/results",
    responses={404: {"description": "No such assessment, or not one the caller may see"}},
)
def assessment_results(
    assessment_id: Id,
    request: Request,
    user: CurrentUser,
    session: SessionDep,
    locale: LocaleQuery = None,
) -> results.ResultsOut:
    """Scores, levels against targets, ranked gaps with their actions, key findings and the
    change since the previous cycle: the gap report's figures, live from the saved answers.

    Scores are exact (`score_rounded` is the figure shown, one decimal); `marks` says why a
    figure is provisional; `version` changes whenever the results may have.
    """
    assessment = assessment_service.get_assessment(session, user=user, assessment_id=assessment_id)
    language = report_locale(request, user, locale)
    report = results.build_results(
        session, user=user, assessment=assessment, locale=language, k=min_group(request)
    )
    return results.results_out(
        report, assessment=assessment, version=results.results_version(session, assessment)
    )
