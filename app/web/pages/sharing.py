"""What a country shares and sees of others: its sharing settings, its position beside the
anonymised aggregates, and side-by-side comparison with a peer that agreed.

Every rule (who may change what, mutual consent, withheld cells) is the comparisons
service's; these pages only show its answers and post its forms. A peer comparison the
country may not see is answered with the ordinary "page not found".
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.accounts.models import User
from app.comparisons import service as comparisons
from app.core.db import SessionDep
from app.core.deps import min_group
from app.core.errors import Invalid, NotFound
from app.core.i18n import lazy_gettext as _
from app.core.inputs import Id, Text
from app.countries import service as country_service
from app.countries.models import Country
from app.web.figures import (
    GROUP_LABELS,
    REGION_LABELS,
    number_formatter,
    shade,
    withheld_text,
    wording,
)
from app.web.pages.common import CheckedForm, PageUser, redirect, render, text_field

router = APIRouter()

_MESSAGES = {
    "saved": _("Your choice is saved."),
    "given": _("Consent given."),
    "withdrawn": _("Consent withdrawn: that country no longer sees your levels."),
}


# ---------------------------------------------------------------- sharing settings


def _members(session, country_id: int | None) -> tuple[bool, list[Country]]:
    """Whether the caller's country is a member, and every other member in name order."""
    rows = country_service.members(session)
    own = any(country.id == country_id for country in rows)
    others = [country for country in rows if country.id != country_id]
    others.sort(key=lambda c: (comparisons.name_key(c.name), c.code))
    return own, others


def _sharing_page(
    request: Request,
    session,
    user: User,
    *,
    errors: dict | None = None,
    status_code: int = 200,
) -> Response:
    view = comparisons.sharing(session, user=user)
    is_member, members = _members(session, user.country_id)
    offered = {peer.country_code for peer in view.peers if peer.consent_given}
    return render(
        request,
        "sharing.html",
        {
            "view": view,
            "is_member": is_member,
            "choices": [country for country in members if country.code not in offered],
            "min_group": min_group(request),
            "errors": errors or {},
            "message": _MESSAGES.get(next(iter(request.query_params), "")),
        },
        status_code=status_code,
    )


@router.get("/sharing")
def sharing(request: Request, user: PageUser, session: SessionDep) -> Response:
    return _sharing_page(request, session, user)


@router.post("/sharing/aggregates")
def set_aggregates(
    request: Request, user: PageUser, form: CheckedForm, session: SessionDep
) -> Response:
    choice = text_field(form, "include_in_aggregates")
    if choice not in ("yes", "no"):
        return _sharing_page(
            request,
            session,
            user,
            errors={"include_in_aggregates": _("Choose yes or no.")},
            status_code=422,
        )
    comparisons.set_sharing(session, user=user, include_in_aggregates=choice == "yes")
    return redirect("/sharing?saved=1")


@router.post("/sharing/peers")
def give_consent(
    request: Request, user: PageUser, form: CheckedForm, session: SessionDep
) -> Response:
    code = text_field(form, "country_code").strip().upper()
    try:
        if not code:
            raise Invalid("choose a member", field="country_code")
        comparisons.give_consent(session, user=user, country_code=code)
    except (Invalid, NotFound):
        session.rollback()
        return _sharing_page(
            request,
            session,
            user,
            errors={"country_code": _("Choose a member country from the list.")},
            status_code=422,
        )
    return redirect("/sharing?given=1#peers")


@router.post("/sharing/peers/{country_code}/withdraw")
def withdraw_consent(
    user: PageUser, form: CheckedForm, session: SessionDep, country_code: Text
) -> Response:
    comparisons.withdraw_consent(session, user=user, country_code=country_code)
    return redirect("/sharing?withdrawn=1#peers")


# ---------------------------------------------------------------- a country's position


@router.get("/assessments/{assessment_id}/position")
def position(request: Request, user: PageUser, session: SessionDep, assessment_id: Id) -> Response:
    found = comparisons.position(
        session, user=user, assessment_id=assessment_id, k=min_group(request)
    )
    words = wording(request)
    rows = [
        {
            "row": row,
            "title": words.measure(row.kind, row.measure_id, row.title),
            "shade": shade(int(row.own), found.max_level)
            if row.own is not None and row.kind == "capability"
            else None,
        }
        for row in found.rows
    ]
    return render(
        request,
        "position.html",
        {
            "position": found,
            "rows": rows,
            "region_label": REGION_LABELS.get(found.region, found.region),
            "membership_label": GROUP_LABELS[comparisons.ALL_MEMBERS],
            "withheld_text": withheld_text(found.min_group),
            "format_number": number_formatter(request),
            "level_names": [
                words.level(level, found.level_names) for level in range(found.max_level + 1)
            ],
        },
    )


# ---------------------------------------------------------------- peers


@router.get("/peers/{country_code}")
def peer(
    request: Request, user: PageUser, session: SessionDep, country_code: Text, cycle: Text = ""
) -> Response:
    comparison = comparisons.peer_comparison(
        session, user=user, country_code=country_code, cycle=cycle.strip() or None
    )
    words = wording(request)
    rows = []
    for index, column in enumerate(comparison.columns):
        levels = (comparison.own.levels[index], comparison.peer.levels[index])
        rows.append(
            {
                "area_id": column.area_id,
                "area": words.area(column.area_id),
                "title": words.capability(column.capability_id, column.title),
                "sides": [
                    (
                        level,
                        shade(level, comparison.max_level),
                        words.level(level, comparison.level_names) if level is not None else "",
                    )
                    for level in levels
                ],
            }
        )
    return render(request, "peer.html", {"comparison": comparison, "rows": rows})
