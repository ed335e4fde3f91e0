"""What the overview says after an action, and where: each form's handler redirects with
`?done=<what>` and the anchor of the section it came from, and the page shows the message in
that section, where the eye already is, not at the top of a page scrolled down.

Messages say what happened and what comes next. They are built from what the page shows
anyway (the areas' assignments, the country's contributors), so a crafted query string can
name nobody the reader may not see.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from starlette.datastructures import QueryParams

from app.catalogue.schema import Catalogue
from app.core.i18n import lazy_gettext as _
from app.core.i18n import ngettext

TOP = "top"


@dataclass(frozen=True)
class Notice:
    """A confirmation and the section of the page it belongs in."""

    section: str
    # LazyText, or a function for plurals: both read in the page's language when shown.
    message: Any

    @property
    def text(self) -> str:
        return self.message() if callable(self.message) else str(self.message)

    @property
    def anchor(self) -> str:
        return f"notice-{self.section}"


def area_section(area_id: str) -> str:
    return f"area-{area_id}"


def done_url(assessment_id: int, done: str, section: str = TOP, **params: Any) -> str:
    """Where a handler sends the browser after `done`: the message's own anchor, so that it
    is scrolled into view."""
    query = f"&{urlencode(params)}" if params else ""
    anchor = "" if section == TOP else f"#notice-{section}"
    return f"/assessments/{assessment_id}?done={done}{query}{anchor}"


def _number(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) < 10 else None


def overview_notice(
    query: QueryParams,
    *,
    locale: str,
    catalogue: Catalogue,
    country: str,
    status: str,
    assigned: dict[str, list],
    people: list,
) -> Notice | None:
    """The confirmation the overview shows for `?done=...`, or None."""
    done = query.get("done")
    area = None
    if query.get("area") in assigned:
        area = catalogue.area(query["area"])
    person_id = _number(query.get("person"))
    if done == "assigned" and area is not None:
        member = next((m for _a, m in assigned[area.id] if m.id == person_id), None)
        if member is not None:
            return Notice(
                area_section(area.id),
                _(
                    "%(name)s is now assigned to %(area)s and can answer its indicators.",
                    name=member.full_name,
                    area=area.title.get(locale),
                ),
            )
    if done == "unassigned" and area is not None:
        member = next((p for p in people if p.id == person_id), None)
        if member is not None:
            return Notice(
                area_section(area.id),
                _(
                    "%(name)s is no longer assigned to %(area)s. The answers they gave stay.",
                    name=member.full_name,
                    area=area.title.get(locale),
                ),
            )
    if done == "targets":
        changed = _number(query.get("changed")) or 0
        if not changed:
            return Notice("targets", _("No target was changed."))
        return Notice(
            "targets",
            lambda: ngettext(
                "%(num)s target saved. Draft the action plan again on its page to plan for "
                "the change.",
                "%(num)s targets saved. Draft the action plan again on its page to plan for "
                "the changes.",
                changed,
            ),
        )
    # The workflow's messages only while they are true: a stale or crafted link says nothing.
    if done == "submitted" and status == "submitted":
        return Notice(
            TOP,
            _(
                "Submitted. The alliance secretariat will now review the assessment: they "
                "validate it or return it with comments. Until then the answers are read-only."
            ),
        )
    if done == "returned" and status == "returned":
        comments = _number(query.get("comments")) or 0
        return Notice(
            TOP,
            lambda: ngettext(
                "Returned to %(country)s with %(num)s comment. Its coordinator can change the "
                "answers and submit again; it comes back to you for review then.",
                "Returned to %(country)s with %(num)s comments. Its coordinator can change the "
                "answers and submit again; it comes back to you for review then.",
                comments,
                country=country,
            ),
        )
    if done == "validated" and status == "validated":
        return Notice(
            TOP,
            _(
                "Validated. The assessment is final and read-only for everyone; its reports "
                "stay available below."
            ),
        )
    return None


def top_message(notice: Notice | None, query: QueryParams) -> Any:
    """The message above the page's content: a notice of the whole page, or a plain
    "Saved." for the forms that have no message of their own."""
    if notice is not None:
        return notice.text if notice.section == TOP else None
    return _("Saved.") if query.get("saved") else None
