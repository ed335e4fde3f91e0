"""A contributor's own work first: their assigned areas in each open assessment, with what
is left in each. The dashboard and the assessment overview both show it at the top."""

from __future__ import annotations

from typing import Any

from app.accounts.models import Role, User
from app.assessments import service as assessments
from app.assessments.models import Assessment


def my_areas(session, user: User, rows: list[Assessment]) -> dict[str, Any] | None:
    """What the "My areas" block shows; None for anyone but a contributor."""
    if user.role != Role.CONTRIBUTOR:
        return None
    work = assessments.contributor_work(session, user=user, assessments=rows)
    entries = []
    for row in rows:
        if row.id not in work:
            continue
        catalogue = assessments.catalogue_of(session, row)
        entries.append(
            {
                "assessment": row,
                "areas": [
                    {"area": catalogue.area(item.area_id), "work": item} for item in work[row.id]
                ],
            }
        )
    return {"entries": entries}


def confirmed_count(request) -> int:
    """How many carried-over answers the bulk confirmation that led here confirmed."""
    value = request.query_params.get("confirmed", "")
    return int(value) if value.isdigit() and len(value) < 6 else 0
