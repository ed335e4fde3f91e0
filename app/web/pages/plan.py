"""The action plan: actions by time horizon and lead sector, drafted from the gaps, edited
by the coordinator, read by everyone else who may see the assessment.

Every change goes through app/actionplan/service.py, so the page follows the API's rules:
only the country's coordinator changes the plan, and an edit made on a stale version is
refused (the page then shows the saved values beside the ones typed, and loses neither).
"""

from __future__ import annotations

import re
from datetime import date
from functools import cache
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from app.accounts.models import User
from app.actionplan import funding, permissions
from app.actionplan import service as plans
from app.actionplan.schemas import ActionItemCreate, ActionItemUpdate, cost_problem
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
EDIT_FIELDS = (
    "title",
    "detail",
    "owner_agency",
    "due_date",
    "horizon",
    "status",
    "cost_amount",
    "cost_currency",
    "funding_source",
    "notes",
)
EDIT_LABELS = {
    "title": _("Title"),
    "detail": _("What it involves"),
    "owner_agency": _("Owner agency"),
    "due_date": _("Due date"),
    "horizon": _("Time horizon"),
    "status": _("Status"),
    "cost_amount": _("Indicative cost"),
    "cost_currency": _("Currency"),
    "funding_source": _("Funding source"),
    "notes": _("Notes"),
}
COST_MESSAGES = {
    "cost_amount": _(
        "Enter the cost in whole units of the currency, in digits (for example 1200000 or "
        "1,200,000), or leave both the cost and the currency empty."
    ),
    "cost_currency": _(
        "Enter the currency's three-letter ISO 4217 code (for example USD, EUR or KES), or "
        "leave both the cost and the currency empty."
    ),
    "funding_source": _("The funding source can have at most 300 characters."),
}
EDIT_MESSAGES = {
    "title": _("Enter a title of at most 300 characters."),
    "detail": _("The description can have at most 10,000 characters."),
    "horizon": _("Choose a time horizon from the list."),
    **COST_MESSAGES,
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
    **COST_MESSAGES,
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
    "cost_amount",
    "cost_currency",
    "funding_source",
)
# Digits, optionally grouped in threes by a space, comma, point or apostrophe: 1 200 000,
# 1,200,000, 1.200.000. Anything else (a decimal part, a sign, letters) is refused rather
# than guessed at, since "1,50" and "1.500" mean different things in different languages.
_AMOUNT = re.compile(r"\d+|\d{1,3}(?:([ ,.'\u2019\u00a0\u202f])\d{3})(?:\1\d{3})*")


def plan_url(assessment_id: int) -> str:
    return f"/assessments/{assessment_id}/action-plan"


# ---------------------------------------------------------------- describing items


def item_values(item: ActionItem) -> dict[str, str]:
    """An item's editable fields as the edit form shows them."""
    return {
        "title": item.title,
        "detail": item.detail or "",
        "owner_agency": item.owner_agency or "",
        "due_date": item.due_date.isoformat() if item.due_date else "",
        "horizon": item.horizon,
        "status": item.status,
        "cost_amount": "" if item.cost_amount is None else str(item.cost_amount),
        "cost_currency": item.cost_currency or "",
        "funding_source": item.funding_source or "",
        "notes": item.notes or "",
    }


def parse_amount(text: str) -> int | None:
    """A typed cost as whole units; None when empty. ValueError when not a whole number."""
    text = text.strip()
    if not text:
        return None
    if not _AMOUNT.fullmatch(text):
        raise ValueError("not a whole amount")
    return int(re.sub(r"\D", "", text))


def _same(field: str, typed: str, saved: str) -> bool:
    """Whether a typed value is the saved one (an amount or a code however written)."""
    if field == "cost_amount":
        try:
            return parse_amount(typed) == parse_amount(saved)
        except ValueError:
            return False
    if field == "cost_currency":
        return typed.strip().upper() == saved
    return typed == saved


def _shown(values: dict[str, str]) -> dict[str, Any]:
    """Edit-form values as text to read: a date to format, a status by its name."""
    try:
        due = date.fromisoformat(values["due_date"]) if values["due_date"] else None
    except ValueError:
        due = None
    shown: dict[str, Any] = dict(values)
    shown["due_date"] = due
    shown["status"] = ACTION_STATUS_LABELS.get(values["status"], values["status"])
    shown["horizon"] = HORIZON_CHOICES.get(values["horizon"], values["horizon"])
    return shown


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
        "mismatch": funding.horizon_mismatch(item.horizon, item.due_date, item.created_at.date()),
        "cost": (
            funding.format_cost(item.cost_amount, item.cost_currency, locale)
            if item.cost_amount is not None and item.cost_currency
            else None
        ),
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
    totals = funding.totals_by_currency(
        (item.cost_amount, item.cost_currency)
        for item in items
        if item.status != ActionStatus.DROPPED
    )
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
            "cost_totals": [
                {"text": funding.format_cost(t.amount, t.currency, locale), "count": t.count}
                for t in totals
            ],
            "uncosted": sum(
                1
                for item in items
                if item.status != ActionStatus.DROPPED and item.cost_amount is None
            ),
            "mismatches": sum(
                1
                for group in groups
                for sector in group["sectors"]
                for view in sector["items"]
                if view["mismatch"]
            ),
            "currencies": _currency_choices(),
            "add_form": add_form or {"horizon": "short"},
            "add_errors": add_errors or {},
            "HORIZON_CHOICES": HORIZON_CHOICES,
            "EDIT_FIELDS": EDIT_FIELDS,
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


@cache
def _currency_choices() -> tuple[tuple[str, str], ...]:
    """ISO 4217 codes with their names, for the one list every cost field suggests from."""
    return tuple((code, funding.currency_name(code)) for code in sorted(funding.currency_codes()))


def _edit_values(form, saved: dict[str, str]) -> dict[str, str]:
    """The typed values; a field the form did not send keeps its saved value."""
    return {field: text_field(form, field, saved[field]).strip() for field in EDIT_FIELDS}


def _cost_fields(values: dict[str, str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The cost fields as the schemas take them, and a message for each one mistyped."""
    errors: dict[str, Any] = {}
    try:
        amount = parse_amount(values["cost_amount"])
    except ValueError:
        amount = None
        errors["cost_amount"] = COST_MESSAGES["cost_amount"]
    currency = values["cost_currency"].upper() or None
    if not errors:
        problem = cost_problem(amount, currency)
        if problem is not None:
            errors[problem[0]] = COST_MESSAGES[problem[0]]
    fields = {
        "cost_amount": amount,
        "cost_currency": currency,
        "funding_source": values["funding_source"],
    }
    return fields, errors


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
    """Save an item's title, description, owner, dates, cost and progress; a stale version
    changes nothing."""
    plans.plan_to_change(session, user=user, assessment_id=assessment_id)
    items = plans.plan_items(session, user=user, assessment_id=assessment_id)
    item = _find(items, item_id)
    saved = item_values(item)
    values = _edit_values(form, saved)
    version = form_int(text_field(form, "version"), field="version", default=0)
    cost, errors = _cost_fields(values)
    try:
        data = ActionItemUpdate.model_validate(
            {
                "version": version,
                "title": values["title"],
                "detail": values["detail"],
                "owner_agency": values["owner_agency"],
                "due_date": values["due_date"] or None,
                "horizon": values["horizon"] or None,
                "status": values["status"] or None,
                "notes": values["notes"],
                **cost,
            }
        )
    except ValidationError as exc:
        errors = {**field_errors(exc, EDIT_MESSAGES), **errors}
    if not errors:
        try:
            plans.update_item(
                session, user=user, assessment_id=assessment_id, item_id=item.id, data=data
            )
        except Invalid as exc:
            errors = {exc.field or "form": EDIT_MESSAGES.get(exc.field or "form", exc.message)}
        except Conflict:
            return _conflict(request, session, user, assessment_id, item, values, saved)
    if errors:
        override = {"values": values, "version": version, "errors": errors}
        return plan_page(
            request, session, user, assessment_id, overrides={item.id: override}, status_code=422
        )
    return redirect(f"{plan_url(assessment_id)}?saved=1#action-{item.id}")


def _conflict(
    request: Request,
    session: Session,
    user: User,
    assessment_id: int,
    item: ActionItem,
    values: dict[str, str],
    saved: dict[str, str],
) -> Response:
    """The edit came on a stale version: nothing was saved; show both sides."""
    # The service compared versions before writing: nothing was saved. Show what is
    # saved now beside what was typed, and let the typed values be saved over it.
    override = {
        "values": values,
        "version": item.version,
        "errors": {},
        "conflict": {
            "saved": _shown(saved),
            "mine": _shown(values),
            "differs": [
                field for field in EDIT_FIELDS if not _same(field, values[field], saved[field])
            ],
            "updated_at": item.updated_at,
        },
    }
    return plan_page(
        request, session, user, assessment_id, overrides={item.id: override}, status_code=409
    )


def _add_values(form) -> dict[str, str]:
    return {field: text_field(form, field).strip() for field in (*ADD_FIELDS, "notes")}


@router.post("/assessments/{assessment_id}/action-plan/items")
def add_item(
    request: Request, user: PageUser, form: CheckedForm, session: SessionDep, assessment_id: Id
) -> Response:
    """Add an action by hand, at the end of the plan."""
    assessment = plans.plan_to_change(session, user=user, assessment_id=assessment_id)
    values = _add_values(form)
    cost, errors = _cost_fields(values)
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
                **cost,
            }
        )
    except ValidationError as exc:
        errors = {**field_errors(exc, ADD_MESSAGES), **errors}
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
