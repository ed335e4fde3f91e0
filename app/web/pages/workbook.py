"""Working offline: upload a filled workbook, review what it would change, apply or cancel.

The download itself is the API's (GET /api/v1/assessments/{id}/workbook.xlsx accepts the
session cookie). The upload is read from the request stream by the API's own size-limited
reader (app/portability/uploads.py), then handed to app/portability/service.py, which
checks the file, stores a preview and saves nothing until the user applies it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from app.accounts.dependencies import verify_csrf
from app.accounts.models import User
from app.assessments import service as assessments
from app.catalogue.schema import Catalogue
from app.core.db import SessionDep
from app.core.errors import Conflict, Invalid
from app.core.i18n import lazy_gettext as _
from app.core.inputs import Id, check_text
from app.portability import service as portability
from app.portability.service import TooLarge
from app.portability.uploads import read_upload
from app.web.answers import FIELD_NAMES, describe
from app.web.overview import applied_counts, overview_page
from app.web.pages.common import CheckedForm, PageUser, locale_of, redirect, render

router = APIRouter()

# How the preview names each field of a change; the answer's response and level read as one.
DISPLAY_FIELDS = {
    "response": "answer",
    "level": "answer",
    "justification": "justification",
    "evidence_notes": "evidence_notes",
    "evidence_links": "evidence_links",
    "confidence": "confidence",
}
DISPLAY_LABELS = {**FIELD_NAMES, "target": _("Target level")}
SHORTEN_AT = 300


@dataclass
class WorkbookUpload:
    """What the upload form sent: its CSRF token and file, or why it could not be read."""

    token: str | None = None
    data: bytes = b""
    file_name: str = ""
    error: Any = None  # the message to show instead of reading the file
    status: int = 422
    too_large: bool = False


def _too_large() -> WorkbookUpload:
    message = _(
        "The file is larger than the %(size)s MB accepted. An assessment workbook is far "
        "smaller: upload the one downloaded from this assessment.",
        size=portability.MAX_UPLOAD_BYTES // (1024 * 1024),
    )
    return WorkbookUpload(error=message, status=413, too_large=True)


async def read_workbook_upload(request: Request, user: PageUser) -> WorkbookUpload:
    """The form's token and file, read with the API's size-limited reader as the body arrives.

    It depends on the page user, so nobody who is not logged in gets to send a body.
    """
    try:
        upload = await read_upload(
            request, limit=portability.MAX_UPLOAD_BYTES, fields=("csrf_token",), raw_body=False
        )
    except TooLarge:
        return _too_large()
    except Invalid:
        return WorkbookUpload()  # unreadable, token included: refused as a forged form
    # A body that is not our form carries no token, and is refused for the want of it.
    found = WorkbookUpload(token=upload.fields.get("csrf_token"))
    if upload.data is not None and upload.file_name:
        found.data, found.file_name = upload.data, upload.file_name
    return found


WorkbookForm = Annotated[WorkbookUpload, Depends(read_workbook_upload)]


def _sentence(message: str) -> str:
    """A service's message ('the file is empty; ...') as a sentence to show."""
    message = message.strip()
    if not message:
        return message
    return message[0].upper() + message[1:] + ("" if message.endswith(".") else ".")


@router.post("/assessments/{assessment_id}/workbook")
def upload_workbook(
    request: Request,
    user: PageUser,
    upload: WorkbookForm,
    session: SessionDep,
    assessment_id: Id,
) -> Response:
    """Read a filled workbook into a preview; a file that cannot be used changes nothing."""
    assessments.get_assessment(session, user=user, assessment_id=assessment_id)
    # A file refused for its size was not read, token included; refusing it changes nothing.
    if not upload.too_large:
        verify_csrf(request, upload.token)
        check_text(upload.file_name, field="file")
    error, status = upload.error, upload.status
    if error is None and not upload.file_name:
        error = _("Choose the workbook file to upload.")
    if error is None:
        try:
            pending = portability.preview_workbook(
                session,
                user=user,
                assessment_id=assessment_id,
                data=upload.data,
                file_name=upload.file_name,
            )
        except Invalid as exc:
            # The service refuses a file before it stores anything.
            error, status = _sentence(exc.message), exc.status_code
        else:
            return redirect(f"/assessments/{assessment_id}/imports/{pending.id}")
    return overview_page(
        request, session, user, assessment_id, errors={"workbook": error}, status_code=status
    )


# ---------------------------------------------------------------- the preview


def _shorten(value: Any) -> Any:
    if isinstance(value, list):
        value = "\n".join(str(part) for part in value)
    if isinstance(value, str) and len(value) > SHORTEN_AT:
        return value[:SHORTEN_AT].rstrip() + "…"
    return value


def _where(
    assessment_id: int, catalogue: Catalogue, entry: dict[str, Any], locale: str
) -> dict[str, Any]:
    """The capability and indicator (or target) a change is about, as text and a link."""
    capability_id, indicator_id = entry.get("capability_id"), entry.get("indicator_id")
    try:
        capability = catalogue.capability(capability_id)
        area = catalogue.area_of(capability_id)
    except KeyError:
        return {"capability": capability_id, "indicator": indicator_id, "url": None}
    question = None
    for indicator in capability.indicators:
        if indicator.id == indicator_id:
            question = indicator.question.get(locale)
    return {
        "capability": capability.title.get(locale),
        "indicator": question,
        "url": f"/assessments/{assessment_id}/areas/{area.id}/capabilities/{capability.id}"
        + (f"#ind-{indicator_id}" if indicator_id else ""),
    }


def _level_text(level: Any, catalogue: Catalogue, locale: str):
    if level is None:
        return _("Not set")
    if isinstance(level, int) and 0 <= level <= catalogue.max_level:
        return _(
            "Level %(level)s · %(name)s", level=level, name=catalogue.level_name(level, locale)
        )
    return str(level)


def _differences(
    entry: dict[str, Any],
    before_key: str,
    after_key: str,
    catalogue: Catalogue,
    locale: str,
) -> list[dict[str, Any]]:
    """Each changed field of an answer or target, before and after, as text to show."""
    before, after = entry.get(before_key), entry.get(after_key)
    if entry["kind"] == "target":
        return [
            {
                "label": DISPLAY_LABELS["target"],
                "before": _level_text((before or {}).get("level"), catalogue, locale),
                "after": _level_text((after or {}).get("level"), catalogue, locale),
            }
        ]
    shown_before = describe(before, catalogue, locale) if before else None
    shown_after = describe(after, catalogue, locale)
    seen: list[str] = []
    for change in entry.get("fields", []):
        name = DISPLAY_FIELDS.get(change["field"])
        if name and name not in seen:
            seen.append(name)
    rows = []
    for name in seen:
        old = shown_before[name] if shown_before else ""
        if name == "answer" and not shown_before:
            old = _("No answer")
        rows.append(
            {
                "label": DISPLAY_LABELS[name],
                "before": _shorten(old),
                "after": _shorten(shown_after[name]),
            }
        )
    return rows


def _exported_at(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def preview_page(
    request: Request,
    session: Session,
    user: User,
    assessment_id: int,
    import_id: int,
    *,
    chosen: set[str] | None = None,
    error: Any = None,
    status_code: int = 200,
) -> Response:
    locale = locale_of(request)
    pending = portability.get_import(
        session, user=user, assessment_id=assessment_id, import_id=import_id
    )
    assessment = assessments.get_assessment(session, user=user, assessment_id=assessment_id)
    catalogue = assessments.catalogue_of(session, assessment)
    preview = pending.preview
    answers = assessments.answers_of(session, assessment)
    targets = assessments.targets_of(session, assessment)

    def where(entry):
        return _where(assessment.id, catalogue, entry, locale)

    changes = [
        {
            "entry": change,
            "where": where(change),
            "rows": _differences(change, "old", "new", catalogue, locale),
        }
        for change in preview.get("changes", [])
    ]
    conflicts = []
    people: set[int | None] = set()
    for conflict in preview.get("conflicts", []):
        if conflict["kind"] == "answer":
            live = answers.get((conflict["capability_id"], conflict["indicator_id"]))
            by, at = (live.updated_by_id, live.updated_at) if live else (None, None)
        else:
            live = targets.get(conflict["capability_id"])
            by, at = (live.set_by_id, live.set_at) if live else (None, None)
        people.add(by)
        conflicts.append(
            {
                "entry": conflict,
                "where": where(conflict),
                "rows": _differences(conflict, "current", "workbook", catalogue, locale),
                "changed_by_id": by,
                "changed_at": at,
                "moved_on": (live.version if live else 0) != conflict["current_version"],
            }
        )
    names = assessments.user_names(session, people)
    for conflict in conflicts:
        conflict["changed_by"] = names.get(conflict["changed_by_id"])
    return render(
        request,
        "workbook_preview.html",
        {
            "assessment": assessment,
            "pending": pending,
            "exported_at": _exported_at((preview.get("workbook") or {}).get("exported_at")),
            "changes": changes,
            "conflicts": conflicts,
            "problems": preview.get("problems", []),
            "chosen": chosen or set(),
            "counts": applied_counts(pending) if pending.status == "applied" else None,
            "error": error,
        },
        status_code=status_code,
    )


@router.get("/assessments/{assessment_id}/imports/{import_id}")
def preview(
    request: Request, user: PageUser, session: SessionDep, assessment_id: Id, import_id: Id
) -> Response:
    return preview_page(request, session, user, assessment_id, import_id)


@router.post("/assessments/{assessment_id}/imports/{import_id}/apply")
def apply(
    request: Request,
    user: PageUser,
    form: CheckedForm,
    session: SessionDep,
    assessment_id: Id,
    import_id: Id,
) -> Response:
    """Save the upload's changes, and the workbook's value where the user chose it."""
    chosen = [value for value in form.getlist("take") if isinstance(value, str)][:1000]
    try:
        portability.apply_import(
            session,
            user=user,
            assessment_id=assessment_id,
            import_id=import_id,
            take_workbook_for=chosen,
        )
    except (Conflict, Invalid) as exc:
        # Nothing was saved: the service applies all of an upload or none of it.
        return overview_page(
            request,
            session,
            user,
            assessment_id,
            errors={"workbook": _sentence(exc.message)},
            status_code=exc.status_code,
        )
    return redirect(f"/assessments/{assessment_id}?import={import_id}#offline")


@router.post("/assessments/{assessment_id}/imports/{import_id}/cancel")
def cancel(
    request: Request,
    user: PageUser,
    form: CheckedForm,
    session: SessionDep,
    assessment_id: Id,
    import_id: Id,
) -> Response:
    try:
        portability.cancel_import(
            session, user=user, assessment_id=assessment_id, import_id=import_id
        )
    except Conflict as exc:
        return overview_page(
            request,
            session,
            user,
            assessment_id,
            errors={"workbook": _sentence(exc.message)},
            status_code=exc.status_code,
        )
    return redirect(f"/assessments/{assessment_id}?import={import_id}#offline")
