"""An assessment's overview: areas and progress, assignments, targets, review and workflow,
the action plan's progress, offline work and reports; and the coordinator's sign-off page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError

from app.accounts.models import User
from app.assessments import permissions
from app.assessments import service as assessments
from app.assessments.schemas import SignOff
from app.core.clock import latest_today, utc_today
from app.core.db import SessionDep
from app.core.errors import Forbidden, Invalid
from app.core.i18n import lazy_gettext as _
from app.core.inputs import Id, form_int
from app.web import notices
from app.web.mywork import confirmed_count
from app.web.overview import overview_page
from app.web.pages.common import (
    CheckedForm,
    PageUser,
    field_errors,
    redirect,
    render,
    text_field,
)

router = APIRouter()
SIGNOFF_MESSAGES = {
    "name": _("Enter the name of the person signing off (2 to 200 characters)."),
    "position": _("Enter their position (2 to 200 characters)."),
    "date": _("Enter the date of the sign-off."),
}
TARGET_MESSAGE = _("Choose a level from the list.")
REVIEW_MESSAGE = _(
    "Write at least one comment (at most 5,000 characters each) saying what to change."
)


@router.get("/assessments/{assessment_id}")
def overview(request: Request, user: PageUser, session: SessionDep, assessment_id: Id) -> Response:
    return overview_page(request, session, user, assessment_id)


@router.post("/assessments/{assessment_id}/assignments")
def assign(
    request: Request, user: PageUser, form: CheckedForm, session: SessionDep, assessment_id: Id
) -> Response:
    contributor = text_field(form, "user_id")
    area_id = text_field(form, "area_id")
    try:
        contributor_id = form_int(contributor, field="user_id", minimum=1)
        assessments.assign_area(
            session,
            user=user,
            assessment_id=assessment_id,
            area_id=area_id,
            contributor_id=contributor_id,
        )
    except Invalid:
        return overview_page(
            request,
            session,
            user,
            assessment_id,
            errors={f"assign-{area_id}": _("Choose a contributor of your country.")},
            status_code=422,
        )
    section = notices.area_section(area_id)
    return redirect(
        notices.done_url(assessment_id, "assigned", section, area=area_id, person=contributor_id)
    )


@router.post("/assessments/{assessment_id}/assignments/{assignment_id}/delete")
def unassign(
    user: PageUser, form: CheckedForm, session: SessionDep, assessment_id: Id, assignment_id: Id
) -> Response:
    removed = assessments.unassign_area(
        session, user=user, assessment_id=assessment_id, assignment_id=assignment_id
    )
    section = notices.area_section(removed.area_id)
    return redirect(
        notices.done_url(
            assessment_id, "unassigned", section, area=removed.area_id, person=removed.user_id
        )
    )


@router.post("/assessments/{assessment_id}/targets")
def set_targets(
    request: Request, user: PageUser, form: CheckedForm, session: SessionDep, assessment_id: Id
) -> Response:
    """Set every target the form changed (one select per capability)."""
    assessment = assessments.get_assessment(session, user=user, assessment_id=assessment_id)
    catalogue = assessments.catalogue_of(session, assessment)
    current = assessments.targets_of(session, assessment)
    errors = {}
    wanted = {}
    for capability in catalogue.capabilities():
        value = text_field(form, f"target-{capability.id}").strip()
        if not value:
            continue
        try:
            level = form_int(value, field=f"target-{capability.id}")
        except Invalid:
            errors[f"target-{capability.id}"] = TARGET_MESSAGE
            continue
        if capability.id not in current or current[capability.id].level != level:
            wanted[capability.id] = level
    if errors:
        return overview_page(request, session, user, assessment_id, errors=errors, status_code=422)
    for capability_id, level in wanted.items():
        try:
            assessments.set_target(
                session,
                user=user,
                assessment_id=assessment.id,
                capability_id=capability_id,
                level=level,
            )
        except Invalid as exc:  # the service knows the catalogue's scale
            if exc.field != "level":
                raise
            errors[f"target-{capability_id}"] = TARGET_MESSAGE
    if errors:
        session.rollback()  # the form is saved whole or not at all
        return overview_page(request, session, user, assessment_id, errors=errors, status_code=422)
    return redirect(notices.done_url(assessment_id, "targets", "targets", changed=len(wanted)))


@router.post("/assessments/{assessment_id}/return")
def return_for_changes(
    request: Request, user: PageUser, form: CheckedForm, session: SessionDep, assessment_id: Id
) -> Response:
    assessment = assessments.get_assessment(session, user=user, assessment_id=assessment_id)
    catalogue = assessments.catalogue_of(session, assessment)
    # One text box per capability: the ones left empty are the capabilities not commented on.
    comments = {}
    for capability in catalogue.capabilities():
        body = text_field(form, f"review-{capability.id}").strip()
        if body:
            comments[capability.id] = body
    try:
        assessments.return_for_changes(
            session, user=user, assessment_id=assessment_id, comments=comments
        )
    except Invalid as exc:
        if exc.field != "comments":
            raise
        return overview_page(
            request,
            session,
            user,
            assessment_id,
            errors={"review": REVIEW_MESSAGE},
            review_input=comments,
            status_code=422,
        )
    return redirect(notices.done_url(assessment_id, "returned", comments=len(comments)))


# Validation is final, so the page asks first: the overview's button opens this page, and
# only its form (carrying confirm=yes) validates. Without JavaScript, like every form here.
@router.get("/assessments/{assessment_id}/validate")
def validate_page(
    request: Request, user: PageUser, session: SessionDep, assessment_id: Id
) -> Response:
    assessment = assessments.get_assessment(session, user=user, assessment_id=assessment_id)
    if not permissions.can_review(user, assessment):
        raise Forbidden("only a submitted assessment can be validated")
    catalogue = assessments.catalogue_of(session, assessment)
    answers = assessments.answers_of(session, assessment)
    return render(
        request,
        "validate.html",
        {
            "assessment": assessment,
            "progress": assessments.progress(catalogue, assessments.confirmed(answers))[""],
            "review_comments": sum(
                1
                for comment, _name in assessments.comments_of(session, assessment)
                if comment.kind == "review"
            ),
        },
    )


@router.post("/assessments/{assessment_id}/validate")
def validate(
    request: Request, user: PageUser, form: CheckedForm, session: SessionDep, assessment_id: Id
) -> Response:
    if text_field(form, "confirm") != "yes":
        # A form from elsewhere (an old page, a script) that skipped the question.
        return validate_page(request, user, session, assessment_id)
    assessments.validate(session, user=user, assessment_id=assessment_id)
    return redirect(notices.done_url(assessment_id, "validated"))


# ---------------------------------------------------------------- sign-off


def _missing(session, assessment, catalogue) -> list[dict]:
    """What stops submission (the list submit() refuses with), each with the page where it
    can be answered."""
    answers = assessments.answers_of(session, assessment)
    missing = []
    for item in assessments.missing_indicators(catalogue, answers):
        capability = catalogue.capability(item.capability_id)
        indicator = next(i for i in capability.indicators if i.id == item.indicator_id)
        missing.append(
            {
                "capability": capability,
                "indicator": indicator,
                "carried_over": item.carried_over,
                "url": f"/assessments/{assessment.id}/areas/{item.area_id}"
                f"/capabilities/{capability.id}#ind-{indicator.id}",
            }
        )
    return missing


def _submit_page(
    request: Request,
    session,
    user: User,
    assessment_id: int,
    *,
    form: dict | None = None,
    errors: dict | None = None,
    status_code: int = 200,
) -> Response:
    assessment = assessments.get_assessment(session, user=user, assessment_id=assessment_id)
    catalogue = assessments.catalogue_of(session, assessment)
    return render(
        request,
        "submit.html",
        {
            "assessment": assessment,
            "missing": _missing(session, assessment, catalogue),
            "is_coordinator": permissions.is_coordinator_of(user, assessment),
            "can_submit": permissions.can_submit(user, assessment),
            "editable_status": permissions.is_editable(assessment),
            "form": form or {"name": user.full_name, "position": "", "date": utc_today()},
            "errors": errors or {},
            "today": latest_today(),
            "confirmed": confirmed_count(request),
        },
        status_code=status_code,
    )


@router.get("/assessments/{assessment_id}/submit")
def submit_page(
    request: Request, user: PageUser, session: SessionDep, assessment_id: Id
) -> Response:
    return _submit_page(request, session, user, assessment_id)


@router.post("/assessments/{assessment_id}/submit")
def submit(
    request: Request, user: PageUser, form: CheckedForm, session: SessionDep, assessment_id: Id
) -> Response:
    values = {
        "name": text_field(form, "name").strip(),
        "position": text_field(form, "position").strip(),
        "date": text_field(form, "date").strip(),
    }
    try:
        signoff = SignOff.model_validate(values)
        assessments.submit(session, user=user, assessment_id=assessment_id, signoff=signoff)
    except ValidationError as exc:
        errors = field_errors(exc, SIGNOFF_MESSAGES)
        return _submit_page(
            request, session, user, assessment_id, form=values, errors=errors, status_code=422
        )
    except Invalid as exc:
        errors = {exc.field or "form": exc.message}
        if exc.field == "date":
            errors = {"date": _("The sign-off date cannot be in the future.")}
        elif exc.field == "answers":
            errors = {
                "form": _(
                    "Some indicators still need an answer or a confirmation: see the lists below."
                )
            }
        return _submit_page(
            request, session, user, assessment_id, form=values, errors=errors, status_code=422
        )
    return redirect(notices.done_url(assessment_id, "submitted"))
