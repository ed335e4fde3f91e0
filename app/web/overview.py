"""The overview of one assessment as a page renders it (areas, progress, assignments,
targets, review, plan progress, offline work): shown by the overview's own routes and again,
with the error that stopped them, by the workbook upload's."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from app.accounts.models import User
from app.actionplan import service as plans
from app.assessments import permissions
from app.assessments import service as assessments
from app.assessments.schemas import MAX_COMMENT
from app.core.errors import Invalid, NotFound
from app.core.inputs import form_int
from app.portability import permissions as portability_permissions
from app.portability import service as portability
from app.portability.models import PendingImport
from app.scoring import AnswerValue, rank_gaps, score_assessment
from app.web import notices
from app.web.figures import shade
from app.web.mywork import confirmed_count, my_areas
from app.web.pages.common import locale_of, render


def overview_page(
    request: Request,
    session,
    user: User,
    assessment_id: int,
    *,
    errors: dict | None = None,
    review_input: dict | None = None,
    status_code: int = 200,
) -> Response:
    assessment = assessments.get_assessment(session, user=user, assessment_id=assessment_id)
    catalogue = assessments.catalogue_of(session, assessment)
    answers = assessments.answers_of(session, assessment)
    mine = assessments.editable_areas(session, assessment=assessment, user=user)
    can_assign = permissions.can_assign_areas(user, assessment)
    assigned: dict[str, list] = {area.id: [] for area in catalogue.areas}
    for assignment, member in assessments.assignments_of(session, assessment):
        assigned.setdefault(assignment.area_id, []).append((assignment, member))
    comments = assessments.comments_of(session, assessment)
    contributors = assessments.country_contributors(session, assessment) if can_assign else []
    notice = notices.overview_notice(
        request.query_params,
        locale=locale_of(request),
        catalogue=catalogue,
        country=assessment.country.name,
        status=assessment.status,
        assigned=assigned,
        people=contributors,
    )
    plan = plans.plans_progress(session, [assessment.id])[assessment.id]
    targets = assessments.targets_of(session, assessment)
    return render(
        request,
        "assessment.html",
        {
            "assessment": assessment,
            "catalogue": catalogue,
            "progress": assessments.progress(catalogue, assessments.confirmed(answers)),
            "to_confirm": sum(1 for answer in answers.values() if answer.carried_over),
            "assigned": assigned,
            "contributors": contributors,
            "mine": mine,
            "targets": targets,
            "standing": standings(catalogue, answers, targets, assessment),
            "shade": lambda level: shade(level, catalogue.max_level),
            "review_comments": [c for c in comments if c[0].kind == "review"],
            # What the page offers comes from the predicates the services refuse with.
            "can_assign": can_assign,
            "can_set_targets": permissions.can_set_targets(user, assessment),
            "can_submit": permissions.can_submit(user, assessment),
            "can_review": permissions.can_review(user, assessment),
            "can_upload_workbook": permissions.can_edit_answers(user, assessment, mine),
            "editable_status": permissions.is_editable(assessment),
            "max_comment": MAX_COMMENT,
            "errors": errors or {},
            "review_input": review_input or {},
            "plan": plan,
            "can_export_json": portability_permissions.can_export_json(user, assessment),
            "imported": import_result(
                session, user, assessment.id, request.query_params.get("import")
            ),
            "my_areas": my_areas(session, user, [assessment]),
            "confirmed": confirmed_count(request),
            # A confirmation is shown in the section its form is in; TOP ones above it all.
            "notice": notice,
            "message": notices.top_message(notice, request.query_params),
        },
        status_code=status_code,
    )


def applied_counts(pending: PendingImport) -> dict[str, int]:
    """How many answers and targets an applied workbook upload changed."""
    preview = pending.preview
    taken = set((preview.get("decision") or {}).get("taken_from_workbook", []))
    entries = list(preview.get("changes", [])) + [
        conflict for conflict in preview.get("conflicts", []) if conflict["key"] in taken
    ]
    return {
        "answers": sum(1 for entry in entries if entry["kind"] == "answer"),
        "targets": sum(1 for entry in entries if entry["kind"] == "target"),
    }


def import_result(
    session, user: User, assessment_id: int, import_id: str | None
) -> dict[str, Any] | None:
    """What the overview says after a workbook upload was applied or cancelled."""
    if not import_id:
        return None
    try:
        number = form_int(import_id, field="import")
        pending = portability.get_import(
            session, user=user, assessment_id=assessment_id, import_id=number
        )
    except (Invalid, NotFound):
        return None
    if pending.status == "pending":
        return None
    return {"status": pending.status, **applied_counts(pending)}


@dataclass(frozen=True, slots=True)
class Standing:
    """Where one capability stands now, as the results page and the gap report say."""

    level: int | None
    not_applicable: bool
    provisional: bool
    target: int | None
    status: str  # not_applicable, no_target, met or gap (as the report's CapabilityView)
    gap: int | None


def standings(catalogue, answers: dict, targets: dict, assessment) -> dict[str, Standing]:
    """Each capability's level, target and levels to go, from the current answers, scored
    and ranked by the same pure functions as the results page and the reports."""
    values = {key: AnswerValue(row.response, row.level) for key, row in answers.items()}
    score = score_assessment(
        catalogue, values, catalogue_hash=assessment.catalogue_version.content_hash
    )
    levels = {cid: target.level for cid, target in targets.items()}
    gaps = {gap.capability_id: gap.gap for gap in rank_gaps(catalogue, score, levels).gaps}
    found = {}
    for result in score.capabilities:
        cid = result.capability_id
        to_confirm = any(
            answers[(cid, indicator.id)].carried_over
            for indicator in catalogue.capability(cid).indicators
            if (cid, indicator.id) in answers
        )
        if result.not_applicable:
            status = "not_applicable"
        elif cid not in levels:
            status = "no_target"
        else:
            status = "gap" if cid in gaps else "met"
        found[cid] = Standing(
            level=result.level,
            not_applicable=result.not_applicable,
            provisional=result.provisional or bool(result.completeness.unknown) or to_confirm,
            target=levels.get(cid),
            status=status,
            gap=gaps.get(cid, 0) if status in ("gap", "met") else None,
        )
    return found
