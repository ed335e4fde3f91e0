"""The dashboard: the assessments a user may see, and starting a new one."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError

from app.actionplan import service as plans
from app.assessments import permissions
from app.assessments import service as assessments
from app.assessments.schemas import AssessmentCreate
from app.core.clock import utc_today
from app.core.db import SessionDep
from app.core.errors import Invalid
from app.core.i18n import lazy_gettext as _
from app.core.inputs import PageNumber
from app.web.mywork import confirmed_count, my_areas
from app.web.pages.common import (
    CheckedForm,
    PageUser,
    field_errors,
    redirect,
    render,
    text_field,
)

router = APIRouter()
PER_PAGE = 50
CREATE_MESSAGES = {
    "country_code": _("Enter a three-letter country code, such as XAA."),
    "cycle": _("Enter a cycle such as 2026 (letters, digits, dots, hyphens and spaces)."),
    "deadline": _("Enter a valid date, or leave the deadline empty."),
}


def _dashboard(
    request: Request,
    session,
    user,
    *,
    page: int = 1,
    form: dict | None = None,
    errors: dict | None = None,
    status_code: int = 200,
) -> Response:
    rows, total = assessments.list_assessments(session, user=user, page=page, per_page=PER_PAGE)
    answered = assessments.answered_keys(session, [row.id for row in rows])
    plan = plans.plans_progress(session, [row.id for row in rows])
    items = []
    for row in rows:
        catalogue = assessments.catalogue_of(session, row)
        items.append(
            {
                "assessment": row,
                "progress": assessments.progress(catalogue, answered[row.id])[""],
                "plan": plan[row.id],
            }
        )
    pages = max(1, -(-total // PER_PAGE))
    return render(
        request,
        "dashboard.html",
        {
            "items": items,
            "total": total,
            "page": page,
            "pages": pages,
            "can_start": permissions.can_start_assessment(user),
            "fixed_country": not permissions.chooses_country(user),
            "form": form or {"cycle": str(utc_today().year)},
            "errors": errors or {},
            "today": utc_today(),
            "my_areas": my_areas(session, user, rows),
            "confirmed": confirmed_count(request),
        },
        status_code=status_code,
    )


@router.get("/")
def dashboard(
    request: Request, user: PageUser, session: SessionDep, page: PageNumber = 1
) -> Response:
    return _dashboard(request, session, user, page=max(1, page))


@router.post("/assessments")
def start_assessment(
    request: Request, user: PageUser, form: CheckedForm, session: SessionDep
) -> Response:
    viewer = request.state.web_user
    values = {
        "country_code": text_field(form, "country_code").strip().upper()
        if permissions.chooses_country(user)
        else viewer.country_code,
        "cycle": text_field(form, "cycle").strip(),
        "deadline": text_field(form, "deadline").strip() or None,
        "start_from_previous": form.get("start_from_previous") == "on",
    }
    try:
        data = AssessmentCreate.model_validate(values)
        created = assessments.create_assessment(
            session,
            user=user,
            data=data,
            catalogue_version_id=request.app.state.catalogue_version_id,
        )
    except ValidationError as exc:
        return _dashboard(
            request,
            session,
            user,
            form=values,
            errors=field_errors(exc, CREATE_MESSAGES),
            status_code=422,
        )
    except Invalid as exc:
        session.rollback()
        return _dashboard(
            request,
            session,
            user,
            form=values,
            errors={exc.field or "form": exc.message},
            status_code=422,
        )
    return redirect(f"/assessments/{created.id}")
