"""Assessments API: everything the questionnaire pages do, as JSON under /api/v1."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Query, Request, status
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from app.accounts.dependencies import CurrentUser, credentials_given, user_in_thread
from app.assessments import service
from app.assessments.models import Answer, Assessment
from app.assessments.schemas import (
    AnswerChangeOut,
    AnswerInput,
    AnswerOut,
    AssessmentCreate,
    AssessmentOut,
    AssignmentInput,
    CommentInput,
    ConfirmInput,
    Progress,
    ReturnInput,
    ReviewFlagInput,
    ReviewFlagOut,
    SignOff,
    TargetInput,
)
from app.core.db import SessionDep, StatementSessionDep
from app.core.handlers import error_body
from app.core.inputs import Id, PageNumber, Text

router = APIRouter(prefix="/assessments", tags=["assessments"])


def assessment_out(assessment: Assessment, progress: Progress) -> AssessmentOut:
    return AssessmentOut(
        id=assessment.id,
        country_code=assessment.country.code,
        country_name=assessment.country.name,
        cycle=assessment.cycle,
        status=assessment.status,
        catalogue_version=assessment.catalogue_version.version,
        catalogue_hash=assessment.catalogue_version.content_hash,
        deadline=assessment.deadline,
        revision=assessment.revision,
        created_at=assessment.created_at,
        updated_at=assessment.updated_at,
        submitted_at=assessment.submitted_at,
        validated_at=assessment.validated_at,
        signoff_name=assessment.signoff_name,
        signoff_position=assessment.signoff_position,
        signoff_date=assessment.signoff_date,
        progress=progress,
    )


def answer_out(answer: Answer, names: dict[int, str]) -> AnswerOut:
    return AnswerOut(
        capability_id=answer.capability_id,
        indicator_id=answer.indicator_id,
        version=answer.version,
        response=answer.response,
        level=answer.level,
        justification=answer.justification,
        evidence_notes=answer.evidence_notes,
        evidence_links=list(answer.evidence_links or []),
        confidence=answer.confidence,
        carried_over=answer.carried_over,
        updated_at=answer.updated_at,
        updated_by=names.get(answer.updated_by_id),
    )


def _overall_progress(session, assessment: Assessment) -> Progress:
    answered = service.answered_keys(session, [assessment.id])[assessment.id]
    return service.progress(service.catalogue_of(session, assessment), answered)[""]


@router.get("")
def list_assessments(
    user: CurrentUser,
    session: SessionDep,
    page: PageNumber = 1,
    per_page: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    """The assessments the caller may see, newest cycle first, paginated."""
    rows, total = service.list_assessments(session, user=user, page=page, per_page=per_page)
    answered = service.answered_keys(session, [a.id for a in rows])
    items = [
        assessment_out(a, service.progress(service.catalogue_of(session, a), answered[a.id])[""])
        for a in rows
    ]
    return {"items": items, "page": page, "per_page": per_page, "total": total}


@router.post("", status_code=status.HTTP_201_CREATED)
def create_assessment(
    data: AssessmentCreate, request: Request, user: CurrentUser, session: SessionDep
) -> AssessmentOut:
    """Start an assessment for a country and cycle, pinned to the catalogue in force."""
    assessment = service.create_assessment(
        session,
        user=user,
        data=data,
        catalogue_version_id=request.app.state.catalogue_version_id,
    )
    return assessment_out(assessment, _overall_progress(session, assessment))


@router.get("/{assessment_id}")
def get_assessment(assessment_id: Id, user: CurrentUser, session: SessionDep) -> dict[str, Any]:
    """One assessment with progress per area and capability, and what the caller may edit."""
    assessment = service.get_assessment(session, user=user, assessment_id=assessment_id)
    catalogue = service.catalogue_of(session, assessment)
    answered = service.answered_keys(session, [assessment.id])[assessment.id]
    progress = service.progress(catalogue, answered)
    return {
        "assessment": assessment_out(assessment, progress[""]),
        "areas": [
            {
                "id": area.id,
                "progress": progress[area.id],
                "capabilities": [
                    {"id": c.id, "progress": progress[c.id]} for c in area.capabilities
                ],
            }
            for area in catalogue.areas
        ],
        "editable_areas": sorted(service.editable_areas(session, assessment=assessment, user=user)),
    }


@router.get("/{assessment_id}/answers")
def list_answers(assessment_id: Id, user: CurrentUser, session: SessionDep) -> list[AnswerOut]:
    assessment = service.get_assessment(session, user=user, assessment_id=assessment_id)
    answers = service.answers_of(session, assessment)
    names = service.user_names(session, {a.updated_by_id for a in answers.values()})
    return [answer_out(a, names) for a in answers.values()]


@router.put(
    "/{assessment_id}/answers/{capability_id}/{indicator_id}",
    response_model=AnswerOut,
    responses={409: {"description": "Changed since the given version; `current` holds it"}},
    dependencies=[Depends(credentials_given)],
)
async def save_answer(
    assessment_id: Id,
    capability_id: Text,
    indicator_id: Text,
    data: AnswerInput,
    session: StatementSessionDep,
    request: Request,
    background: BackgroundTasks,
) -> Any:
    """Save an answer based on `version`; a stale version gets 409 with the current answer."""
    # The busiest write: authentication, the save and the commit run in one worker thread
    # (see user_in_thread and app/assessments/answer_store.py).
    return await run_in_threadpool(
        _save_answer,
        request,
        session,
        background,
        assessment_id=assessment_id,
        capability_id=capability_id,
        indicator_id=indicator_id,
        data=data,
    )


def _save_answer(
    request: Request, session: Session, background: BackgroundTasks, **answer: Any
) -> Any:
    user = user_in_thread(request, session, background)
    source = "api" if getattr(request.state, "auth", "") == "token" else "web"
    try:
        saved = service.save_answer(session, user=user, source=source, **answer)
    except service.AnswerConflict as conflict:
        current = conflict.current
        names = service.user_names(session, {current.updated_by_id}) if current else {}
        shown = answer_out(current, names).model_dump(mode="json") if current else None
        session.commit()
        return JSONResponse(
            error_body("conflict", conflict.message, current=shown), status_code=409
        )
    # Committed before the answer is sent, as get_session would (it has nothing left to do).
    session.commit()
    # The one who saved is the caller: no need to look their name up. Serialised here, in
    # the worker thread, as FastAPI would do it from response_model (the same JSON).
    shown = answer_out(saved, {user.id: user.full_name})
    return Response(shown.model_dump_json(), media_type="application/json")


@router.get("/{assessment_id}/answers/{capability_id}/{indicator_id}/history")
def answer_history(
    assessment_id: Id,
    capability_id: Text,
    indicator_id: Text,
    user: CurrentUser,
    session: SessionDep,
) -> list[AnswerChangeOut]:
    """Every change to one answer, newest first."""
    rows = service.answer_history(
        session,
        user=user,
        assessment_id=assessment_id,
        capability_id=capability_id,
        indicator_id=indicator_id,
    )
    return [
        AnswerChangeOut(
            version=c.version,
            changed_at=c.changed_at,
            changed_by=name,
            source=c.source,
            old_value=c.old_value,
            new_value=c.new_value,
        )
        for c, name in rows
    ]


@router.get("/{assessment_id}/targets")
def list_targets(assessment_id: Id, user: CurrentUser, session: SessionDep) -> dict[str, int]:
    assessment = service.get_assessment(session, user=user, assessment_id=assessment_id)
    return {cid: t.level for cid, t in service.targets_of(session, assessment).items()}


@router.put("/{assessment_id}/targets/{capability_id}")
def set_target(
    assessment_id: Id,
    capability_id: Text,
    data: TargetInput,
    user: CurrentUser,
    session: SessionDep,
) -> dict[str, Any]:
    target = service.set_target(
        session,
        user=user,
        assessment_id=assessment_id,
        capability_id=capability_id,
        level=data.level,
    )
    return {"capability_id": target.capability_id, "level": target.level}


@router.get("/{assessment_id}/assignments")
def list_assignments(assessment_id: Id, user: CurrentUser, session: SessionDep) -> list[dict]:
    assessment = service.get_assessment(session, user=user, assessment_id=assessment_id)
    return [
        {"id": a.id, "area_id": a.area_id, "user_id": u.id, "user_name": u.full_name}
        for a, u in service.assignments_of(session, assessment)
    ]


@router.post("/{assessment_id}/assignments", status_code=status.HTTP_201_CREATED)
def assign_area(
    assessment_id: Id, data: AssignmentInput, user: CurrentUser, session: SessionDep
) -> dict[str, Any]:
    assignment = service.assign_area(
        session,
        user=user,
        assessment_id=assessment_id,
        area_id=data.area_id,
        contributor_id=data.user_id,
    )
    return {"id": assignment.id, "area_id": assignment.area_id, "user_id": assignment.user_id}


@router.delete("/{assessment_id}/assignments/{assignment_id}", status_code=204)
def unassign_area(
    assessment_id: Id, assignment_id: Id, user: CurrentUser, session: SessionDep
) -> None:
    service.unassign_area(
        session, user=user, assessment_id=assessment_id, assignment_id=assignment_id
    )


@router.get("/{assessment_id}/comments")
def list_comments(assessment_id: Id, user: CurrentUser, session: SessionDep) -> list[dict]:
    assessment = service.get_assessment(session, user=user, assessment_id=assessment_id)
    return [
        {
            "id": c.id,
            "kind": c.kind,
            "capability_id": c.capability_id,
            "indicator_id": c.indicator_id,
            "author": name,
            "body": c.body,
            "created_at": c.created_at,
        }
        for c, name in service.comments_of(session, assessment)
    ]


@router.post("/{assessment_id}/comments", status_code=status.HTTP_201_CREATED)
def add_comment(
    assessment_id: Id, data: CommentInput, user: CurrentUser, session: SessionDep
) -> dict[str, Any]:
    comment = service.add_comment(
        session,
        user=user,
        assessment_id=assessment_id,
        capability_id=data.capability_id,
        indicator_id=data.indicator_id,
        body=data.body,
    )
    return {"id": comment.id, "body": comment.body}


@router.post("/{assessment_id}/submit")
def submit(
    assessment_id: Id, data: SignOff, user: CurrentUser, session: SessionDep
) -> AssessmentOut:
    """Sign off and submit; refused with the list of what is missing."""
    assessment = service.submit(session, user=user, assessment_id=assessment_id, signoff=data)
    return assessment_out(assessment, _overall_progress(session, assessment))


@router.post("/{assessment_id}/return")
def return_for_changes(
    assessment_id: Id, data: ReturnInput, user: CurrentUser, session: SessionDep
) -> AssessmentOut:
    assessment = service.return_for_changes(
        session, user=user, assessment_id=assessment_id, comments=data.comments
    )
    return assessment_out(assessment, _overall_progress(session, assessment))


@router.post("/{assessment_id}/validate")
def validate(assessment_id: Id, user: CurrentUser, session: SessionDep) -> AssessmentOut:
    assessment = service.validate(session, user=user, assessment_id=assessment_id)
    return assessment_out(assessment, _overall_progress(session, assessment))


@router.get("/{assessment_id}/score")
def score(assessment_id: Id, user: CurrentUser, session: SessionDep) -> dict[str, Any]:
    """Capability levels, area and overall scores (0-100) with completeness, and ranked gaps.

    Partial answers give a provisional score; `provenance` names the catalogue hash and
    scoring method version that reproduce it.
    """
    result, gaps = service.score_and_gaps(session, user=user, assessment_id=assessment_id)
    completeness = result.completeness
    score = dataclasses.asdict(result) | {
        "provisional": result.provisional,
        "completeness": dataclasses.asdict(completeness)
        | {"answered": completeness.answered, "share": float(completeness.share)},
    }
    return {"score": score, "gaps": dataclasses.asdict(gaps)}


@router.get("/{assessment_id}/audit")
def audit_log(assessment_id: Id, user: CurrentUser, session: SessionDep) -> list[dict]:
    """Who did what to this assessment (coordinator and secretariat)."""
    return [
        {"at": e.occurred_at, "actor_id": e.actor_id, "action": e.action, "details": e.details}
        for e in service.audit_log(session, user=user, assessment_id=assessment_id)
    ]


# ---------------------------------------------------------------- review flags


def flag_out(flag, names: dict[int, str]) -> ReviewFlagOut:
    return ReviewFlagOut(
        capability_id=flag.capability_id,
        indicator_id=flag.indicator_id,
        note=flag.note,
        flagged_by=names.get(flag.flagged_by_id),
        flagged_at=flag.flagged_at,
    )


@router.get("/{assessment_id}/review-flags")
def list_review_flags(
    assessment_id: Id, user: CurrentUser, session: SessionDep
) -> list[ReviewFlagOut]:
    """The indicators the country's team marked for review, with who marked them and when."""
    assessment = service.get_assessment(session, user=user, assessment_id=assessment_id)
    flags = service.review_flags_of(session, assessment)
    names = service.user_names(session, {f.flagged_by_id for f in flags.values()})
    return [flag_out(f, names) for f in flags.values()]


@router.put("/{assessment_id}/review-flags/{capability_id}/{indicator_id}")
def flag_for_review(
    assessment_id: Id,
    capability_id: Text,
    indicator_id: Text,
    data: ReviewFlagInput,
    user: CurrentUser,
    session: SessionDep,
) -> ReviewFlagOut:
    """Mark an indicator for review (the answer and the assessment's revision do not change)."""
    flag = service.flag_for_review(
        session,
        user=user,
        assessment_id=assessment_id,
        capability_id=capability_id,
        indicator_id=indicator_id,
        note=data.note,
    )
    return flag_out(flag, service.user_names(session, {flag.flagged_by_id}))


@router.delete("/{assessment_id}/review-flags/{capability_id}/{indicator_id}", status_code=204)
def clear_review_flag(
    assessment_id: Id,
    capability_id: Text,
    indicator_id: Text,
    user: CurrentUser,
    session: SessionDep,
) -> None:
    """Clear an indicator's review mark once it is resolved; clearing twice is harmless."""
    service.clear_review_flag(
        session,
        user=user,
        assessment_id=assessment_id,
        capability_id=capability_id,
        indicator_id=indicator_id,
    )


# ---------------------------------------------------------------- confirming carried-over answers


@router.get("/{assessment_id}/carried-over")
def carried_over(
    assessment_id: Id,
    user: CurrentUser,
    session: SessionDep,
    capability_id: Annotated[str | None, Query(max_length=60)] = None,
    area_id: Annotated[str | None, Query(max_length=60)] = None,
) -> list[AnswerOut]:
    """The carried-over answers still to confirm (in a capability, an area, or every area the
    caller may edit): the preview of what POST .../carried-over/confirm would confirm."""
    _, found = service.carried_over_answers(
        session,
        user=user,
        assessment_id=assessment_id,
        capability_id=capability_id,
        area_id=area_id,
    )
    names = service.user_names(session, {item.answer.updated_by_id for item in found})
    return [answer_out(item.answer, names) for item in found]


@router.post(
    "/{assessment_id}/carried-over/confirm",
    responses={409: {"description": "Some changed since the preview; `changed` names them"}},
)
def confirm_carried_over(
    assessment_id: Id, data: ConfirmInput, user: CurrentUser, session: SessionDep, request: Request
) -> list[AnswerOut]:
    """Confirm carried-over answers at the versions previewed: all of them, or none."""
    source = "api" if getattr(request.state, "auth", "") == "token" else "web"
    answers = service.confirm_carried_over(
        session,
        user=user,
        assessment_id=assessment_id,
        expected=[(a.capability_id, a.indicator_id, a.version) for a in data.answers],
        source=source,
    )
    return [answer_out(a, {user.id: user.full_name}) for a in answers]
