"""The action plan: actions by time horizon and lead sector, drafted from the gaps, edited
by the coordinator, read by everyone else who may see the assessment.

Every change goes through app/actionplan/service.py, so the page follows the API's rules:
only the country's coordinator changes the plan, and an edit made on a stale version is
refused (the page then shows the saved values beside the ones typed, and loses neither).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from app.accounts.models import User
from app.actionplan import permissions
from app.actionplan import service as plans
from app.actionplan.schemas import ActionItemCreate, ActionItemUpdate
from app.assessments import service as assessments
from app.assessments.models import ActionItem, ActionStatus
from app.catalogue.schema import Catalogue
from app.core.clock import utc_today
from app.core.db import SessionDep
from app.core.errors import Conflict, Invalid, NotFound
from app.core.i18n import lazy_gettext as _
from app.core.inputs import Id, form_int
from app.web.pages.common import (
    CheckedForm,
    PageUser,
    field_errors,
    locale_of,
    redirect,
    render,
    text_field,
)

router = APIRouter()

HORIZONS = ("short", "medium", "long")
HORIZON_LABELS = {
    "short": _("Short term: within a year"),
    "medium": _("Medium term: one to three years"),
    "long": _("Long term: more than three years"),
}
HORIZON_CHOICES = {
    "short": _("Short term (within a year)"),
    "medium": _("Medium term (one to three years)"),
    "long": _("Long term (more than three years)"),
}
ACTION_STATUS_LABELS = {
    ActionStatus.PLANNED.value: _("Planned"),
    ActionStatus.IN_PROGRESS.value: _("In progress"),
    ActionStatus.DONE.value: _("Done"),
    ActionStatus.DROPPED.value: _("Dropped"),
}
EDIT_FIELDS = ("owner_agency", "due_date", "status", "notes")
EDIT_LABELS = {
    "owner_agency": _("Owner agency"),
    "due_date": _("Due date"),
    "status": _("Status"),
    "notes": _("Notes"),
}
EDIT_MESSAGES = {
    "owner_agency": _("The owner agency can have at most 200 characters."),
    "due_date": _("Enter a valid date, or leave the due date empty."),
    "status": _("Choose a status from the list."),
    "notes": _("The notes can have at most 10,000 characters."),
    "version": _("The form was incomplete. Reload the page and try again."),
    "form": _("The form was incomplete. Reload the page and try again."),
}
ADD_MESSAGES = {
    "title": _("Enter a title of at most 300 characters."),
    "detail": _("The description can have at most 10,000 characters."),
    "capability_id": _("Choose a capability from the list, or none."),
    "lead_sector": _("Choose a lead sector from the list, or none."),
    "owner_agency": _("The owner agency can have at most 200 characters."),
    "horizon": _("Choose a time horizon from the list."),
    "due_date": _("Enter a valid date, or leave the due date empty."),
    "notes": _("The notes can have at most 10,000 characters."),
    "form": _("The form was incomplete. Reload the page and try again."),
}
ADD_FIELDS = (
    "title",
    "detail",
    "capability_id",
    "lead_sector",
    "owner_agency",
    "horizon",
    "due_date",
)


def plan_url(assessment_id: int) -> str:
    return f"/assessments/{assessment_id}/action-plan"


# ---------------------------------------------------------------- describing items


def item_values(item: ActionItem) -> dict[str, str]:
    """An item's editable fields as the edit form shows them."""
    return {
        "owner_agency": item.owner_agency or "",
        "due_date": item.due_date.isoformat() if item.due_date else "",
        "status": item.status,
        "notes": item.notes or "",
    }


def _shown(values: dict[str, str]) -> dict[str, Any]:
    """Edit-form values as text to read: a date to format, a status by its name."""
    try:
        due = date.fromisoformat(values["due_date"]) if values["due_date"] else None
    except ValueError:
        due = None
    return {
        "owner_agency": values["owner_agency"],
        "due_date": due,
        "status": ACTION_STATUS_LABELS.get(values["status"], values["status"]),
        "notes": values["notes"],
    }


def _capability(catalogue: Catalogue, capability_id: str | None):
    if not capability_id:
        return None, None
    try:
        return catalogue.capability(capability_id), catalogue.area_of(capability_id)
    except KeyError:
        return None, None


def _step(catalogue: Catalogue, step_level: int | None, locale: str) -> dict[str, Any] | None:
    if step_level is None or not 1 <= step_level <= catalogue.max_level:
        return None
    return {
        "from_level": step_level - 1,
        "from_name": catalogue.level_name(step_level - 1, locale),
        "to_level": step_level,
        "to_name": catalogue.level_name(step_level, locale),
    }


def _view(
    item: ActionItem,
    catalogue: Catalogue,
    locale: str,
    override: dict[str, Any] | None = None,
) -> dict[str, Any]:
    capability, area = _capability(catalogue, item.capability_id)
    override = override or {}
    open_status = item.status in (ActionStatus.PLANNED, ActionStatus.IN_PROGRESS)
    return {
        "item": item,
        "overdue": bool(open_status and item.due_date and item.due_date < utc_today()),
        "capability": capability,
        "area": area,
        "step": _step(catalogue, item.step_level, locale),
        "sector": catalogue.sector_name(item.lead_sector, locale) if item.lead_sector else None,
        "values": override.get("values") or item_values(item),
        "version": override.get("version", item.version),
        "errors": override.get("errors", {}),
        "conflict": override.get("conflict"),
    }


def _groups(
    items: list[ActionItem],
    catalogue: Catalogue,
    locale: str,
    overrides: dict[int, dict[str, Any]],
) -> list[dict[str, Any]]:
    """Items by time horizon, then by lead sector in catalogue order (none last)."""
    sector_order = {sector.id: index for index, sector in enumerate(catalogue.sectors)}
    groups = []
    for horizon in HORIZONS:
        in_horizon = [item for item in items if item.horizon == horizon]
        sectors: dict[str | None, list[dict[str, Any]]] = {}
        for item in in_horizon:
            view = _view(item, catalogue, locale, overrides.get(item.id))
            sectors.setdefault(item.lead_sector, []).append(view)
        ordered = sorted(
            sectors.items(),
            key=lambda entry: (
                entry[0] is None,
                sector_order.get(entry[0] or "", len(sector_order)),
                entry[0] or "",
            ),
        )
        groups.append(
            {
                "horizon": horizon,
                "label": HORIZON_LABELS[horizon],
                "count": len(in_horizon),
                "sectors": [
                    {
                        "id": sector_id,
                        "name": catalogue.sector_name(sector_id, locale) if sector_id else None,
                        "items": views,
                    }
                    for sector_id, views in ordered
                ],
            }
        )
    return groups


# ---------------------------------------------------------------- the page


def plan_page(
    request: Request,
    session: Session,
    user: User,
    assessment_id: int,
    *,
    overrides: dict[int, dict[str, Any]] | None = None,
    add_form: dict[str, str] | None = None,
    add_errors: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    locale = locale_of(request)
    assessment = assessments.get_assessment(session, user=user, assessment_id=assessment_id)
    catalogue = assessments.catalogue_of(session, assessment)
    items = plans.plan_items(session, user=user, assessment_id=assessment.id)
    progress = plans.plan_progress(items)
    overrides = overrides or {}
    message = None
    if request.query_params.get("drafted") and not items:
        message = _(
            "There are no gaps to plan for: no targets are set, or every capability has "
            "reached its target."
        )
    elif request.query_params.get("drafted"):
        message = _("The plan was drafted from the gaps. Actions you had edited were kept.")
    elif request.query_params.get("saved"):
        message = _("Saved.")
    elif request.query_params.get("deleted"):
        message = _("The action was deleted.")
    groups = _groups(items, catalogue, locale, overrides)
    conflicts = [
        view
        for group in groups
        for sector in group["sectors"]
        for view in sector["items"]
        if view["conflict"]
    ]
    return render(
        request,
        "action_plan.html",
        {
            "assessment": assessment,
            "catalogue": catalogue,
            "groups": groups,
            "progress": progress,
            "done_percent": round(100 * progress.done / progress.total) if progress.total else 0,
            "has_drafted": any(item.origin == "catalogue" for item in items),
            "has_targets": bool(assessments.targets_of(session, assessment)),
            "can_plan": permissions.can_change_plan(user, assessment),
            "can_delete": {
                item.id: permissions.can_delete_item(user, assessment, item) for item in items
            },
            "conflicts": conflicts,
            "add_form": add_form or {"horizon": "short"},
            "add_errors": add_errors or {},
            "HORIZON_CHOICES": HORIZON_CHOICES,
            "ACTION_STATUS_LABELS": ACTION_STATUS_LABELS,
            "EDIT_LABELS": EDIT_LABELS,
            "message": message,
        },
        status_code=status_code,
    )


@router.get("/assessments/{assessment_id}/action-plan")
def action_plan(
    request: Request, user: PageUser, session: SessionDep, assessment_id: Id
) -> Response:
    return plan_page(request, session, user, assessment_id)


@router.post("/assessments/{assessment_id}/action-plan/draft")
def draft(
    request: Request, user: PageUser, form: CheckedForm, session: SessionDep, assessment_id: Id
) -> Response:
    plans.draft_plan(session, user=user, assessment_id=assessment_id, locale=locale_of(request))
    return redirect(f"{plan_url(assessment_id)}?drafted=1")


def _edit_values(form) -> dict[str, str]:
    return {
        "owner_agency": text_field(form, "owner_agency").strip(),
        "due_date": text_field(form, "due_date").strip(),
        "status": text_field(form, "status").strip(),
        "notes": text_field(form, "notes").strip(),
    }


def _find(items: list[ActionItem], item_id: int) -> ActionItem:
    for item in items:
        if item.id == item_id:
            return item
    raise NotFound("action not found")


@router.post("/assessments/{assessment_id}/action-plan/items/{item_id}")
def edit_item(
    request: Request,
    user: PageUser,
    form: CheckedForm,
    session: SessionDep,
    assessment_id: Id,
    item_id: Id,
) -> Response:
    """Save an item's owner, due date, status and notes; a stale version changes nothing."""
    plans.plan_to_change(session, user=user, assessment_id=assessment_id)
    items = plans.plan_items(session, user=user, assessment_id=assessment_id)
    item = _find(items, item_id)
    values = _edit_values(form)
    version = form_int(text_field(form, "version"), field="version", default=0)
    saved = item_values(item)
    try:
        data = ActionItemUpdate.model_validate(
            {
                "version": version,
                "owner_agency": values["owner_agency"],
                "due_date": values["due_date"] or None,
                "status": values["status"] or None,
                "notes": values["notes"],
            }
        )
    except ValidationError as exc:
        errors = field_errors(exc, EDIT_MESSAGES)
        override = {"values": values, "version": version, "errors": errors}
        return plan_page(
            request, session, user, assessment_id, overrides={item.id: override}, status_code=422
        )
    try:
        plans.update_item(
            session, user=user, assessment_id=assessment_id, item_id=item.id, data=data
        )
    except Conflict:
        # The service compared versions before writing: nothing was saved. Show what is
        # saved now beside what was typed, and let the typed values be saved over it.
        override = {
            "values": values,
            "version": item.version,
            "errors": {},
            "conflict": {
                "saved": _shown(saved),
                "mine": _shown(values),
                "differs": [field for field in EDIT_FIELDS if values[field] != saved[field]],
                "updated_at": item.updated_at,
            },
        }
        return plan_page(
            request, session, user, assessment_id, overrides={item.id: override}, status_code=409
        )
    return redirect(f"{plan_url(assessment_id)}?saved=1#action-{item.id}")


def _add_values(form) -> dict[str, str]:
    return {field: text_field(form, field).strip() for field in (*ADD_FIELDS, "notes")}


@router.post("/assessments/{assessment_id}/action-plan/items")
def add_item(
    request: Request, user: PageUser, form: CheckedForm, session: SessionDep, assessment_id: Id
) -> Response:
    """Add an action by hand, at the end of the plan."""
    assessment = plans.plan_to_change(session, user=user, assessment_id=assessment_id)
    values = _add_values(form)
    errors: dict[str, Any] = {}
    try:
        data = ActionItemCreate.model_validate(
            {
                "title": values["title"],
                "detail": values["detail"],
                "capability_id": values["capability_id"] or None,
                "lead_sector": values["lead_sector"] or None,
                "owner_agency": values["owner_agency"],
                "horizon": values["horizon"],
                "due_date": values["due_date"] or None,
                "notes": values["notes"],
            }
        )
    except ValidationError as exc:
        errors = field_errors(exc, ADD_MESSAGES)
    if not errors:
        try:
            item = plans.add_item(session, user=user, assessment_id=assessment.id, data=data)
        except Invalid as exc:
            errors = {exc.field or "form": ADD_MESSAGES.get(exc.field or "form", exc.message)}
    if errors:
        return plan_page(
            request,
            session,
            user,
            assessment.id,
            add_form=values,
            add_errors=errors,
            status_code=422,
        )
    return redirect(f"{plan_url(assessment.id)}?saved=1#action-{item.id}")


@router.post("/assessments/{assessment_id}/action-plan/items/{item_id}/delete")
def delete_item(
    user: PageUser, form: CheckedForm, session: SessionDep, assessment_id: Id, item_id: Id
) -> Response:
    plans.delete_item(session, user=user, assessment_id=assessment_id, item_id=item_id)
    return redirect(f"{plan_url(assessment_id)}?deleted=1")
