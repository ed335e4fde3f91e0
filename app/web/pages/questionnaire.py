"""The questionnaire: one capability's indicators, answered, saved, compared on conflict.

Without JavaScript each indicator's form posts here and the page comes back; with it,
static/app.js saves each indicator through the JSON API as it changes. Both paths end in
the same service call, so they follow the same rules.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError

from app.accounts.models import User
from app.assessments import permissions
from app.assessments import service as assessments
from app.assessments.models import Answer, Assessment
from app.assessments.schemas import MAX_COMMENT, MAX_LINKS, AnswerInput
from app.catalogue.schema import Catalogue
from app.core.db import SessionDep
from app.core.errors import Invalid, NotFound
from app.core.i18n import lazy_gettext as _
from app.core.inputs import Id, Text, form_int
from app.web.answers import FIELD_NAMES, describe
from app.web.pages.common import (
    CheckedForm,
    PageUser,
    locale_of,
    redirect,
    render,
    text_field,
)

router = APIRouter()

BASE = "/assessments/{assessment_id}/areas/{area_id}/capabilities/{capability_id}"
HISTORY_FIELDS = tuple(FIELD_NAMES)
SHORTEN_AT = 240
# The service's refusals of a comment, in the page's words.
COMMENT_MESSAGES = {
    "empty": _("Write your comment before sending it."),
    "too_long": _("A comment can have at most 5,000 characters."),
}


def capability_url(assessment_id: int, area_id: str, capability_id: str) -> str:
    return f"/assessments/{assessment_id}/areas/{area_id}/capabilities/{capability_id}"


def locate(catalogue: Catalogue, area_id: str, capability_id: str):
    """The area and capability named by a URL, or NotFound if they do not belong together."""
    try:
        area = catalogue.area(area_id)
        capability = catalogue.capability(capability_id)
    except KeyError:
        raise NotFound("capability not found") from None
    if catalogue.area_of(capability_id).id != area.id:
        raise NotFound("capability not found")
    return area, capability


def _indicator(capability, indicator_id: str):
    for indicator in capability.indicators:
        if indicator.id == indicator_id:
            return indicator
    raise NotFound("indicator not found")


# ---------------------------------------------------------------- answers as form values


def form_values(content: dict | None) -> dict[str, str]:
    """An answer's content as the questionnaire form shows it."""
    if not content:
        return {
            "answer": "",
            "justification": "",
            "evidence_notes": "",
            "evidence_links": "",
            "confidence": "",
        }
    choice = content.get("response") or ""
    if choice == "level" and content.get("level") is not None:
        choice = str(content["level"])
    return {
        "answer": choice,
        "justification": content.get("justification") or "",
        "evidence_notes": content.get("evidence_notes") or "",
        "evidence_links": "\n".join(content.get("evidence_links") or []),
        "confidence": content.get("confidence") or "",
    }


def submitted_values(form) -> dict[str, str]:
    return {
        "answer": text_field(form, "answer").strip(),
        "justification": text_field(form, "justification"),
        "evidence_notes": text_field(form, "evidence_notes"),
        "evidence_links": text_field(form, "evidence_links"),
        "confidence": text_field(form, "confidence").strip(),
    }


def answer_input(values: dict[str, str], version: int) -> AnswerInput:
    """Validate the form's values as the API validates its JSON."""
    choice = values["answer"]
    response: str | None
    level: int | None = None
    if choice[:1].isdigit():  # a level, or digits the level rules refuse ('²', '12345')
        response, level = "level", form_int(choice, field="answer", maximum=99)
    else:
        response = choice or None
    return AnswerInput.model_validate(
        {
            "version": version,
            "response": response,
            "level": level,
            "justification": values["justification"],
            "evidence_notes": values["evidence_notes"],
            "evidence_links": values["evidence_links"],
            "confidence": values["confidence"] or None,
        }
    )


_LINK_LINE = re.compile(r"^link (\d+):")


def answer_errors(exc: ValidationError) -> dict[str, Any]:
    """The questionnaire's own words for what is wrong with an answer, by form field."""
    errors: dict[str, Any] = {}
    for error in exc.errors():
        location = [str(part) for part in error.get("loc", ())]
        message = str(error.get("msg", "")).removeprefix("Value error, ")
        kind = error.get("type", "")
        field = location[0] if location else message.partition(":")[0]
        if field in ("response", "level"):
            errors.setdefault(
                "answer",
                _("Choose a maturity level, or answer Not applicable or Unknown.")
                if field == "level" or kind == "missing" or error.get("input") is None
                else _("Choose one of the answers listed."),
            )
        elif field == "justification":
            errors.setdefault(
                "justification",
                _("The justification is too long: at most 5,000 characters.")
                if kind == "string_too_long"
                else _("Explain why this indicator does not apply to your country."),
            )
        elif field == "evidence_notes":
            errors.setdefault("evidence_notes", _("The evidence notes are too long."))
        elif field == "evidence_links":
            line = _LINK_LINE.match(message)
            if kind == "too_long":
                errors.setdefault("evidence_links", _("Give at most %(max)s links.", max=MAX_LINKS))
            elif line:
                errors.setdefault(
                    "evidence_links",
                    _(
                        "Line %(line)s: only complete http:// or https:// web addresses are "
                        "accepted, one per line, without spaces.",
                        line=line.group(1),
                    ),
                )
            else:
                errors.setdefault("evidence_links", _("Enter one web address per line."))
        elif field == "confidence":
            errors.setdefault("confidence", _("Choose a confidence level from the list."))
        else:
            errors.setdefault("form", _("The form was incomplete. Reload the page and try again."))
    return errors


# ---------------------------------------------------------------- describing answers


def _shorten(value: Any) -> Any:
    if isinstance(value, list):
        value = "\n".join(value)
    if isinstance(value, str) and len(value) > SHORTEN_AT:
        return value[:SHORTEN_AT].rstrip() + "…"
    return value


def history_entries(changes, catalogue: Catalogue, locale: str) -> list[dict[str, Any]]:
    """Who changed what and when; each change lists only the fields that changed."""
    entries = []
    for change, name in changes:
        old = describe(change.old_value, catalogue, locale) if change.old_value else None
        new = describe(change.new_value, catalogue, locale)
        fields = []
        for field in HISTORY_FIELDS:
            before = old[field] if old else ""
            after = new[field]
            if str(before) != str(after):
                fields.append(
                    {
                        "field": field,
                        "label": FIELD_NAMES[field],
                        "old": _shorten(before),
                        "new": _shorten(after),
                    }
                )
        entries.append(
            {
                "at": change.changed_at,
                "by": name,
                "source": change.source,
                "version": change.version,
                "fields": fields,
            }
        )
    return entries


# ---------------------------------------------------------------- the page


def capability_page(
    request: Request,
    session,
    user: User,
    *,
    assessment_id: int,
    area_id: str,
    capability_id: str,
    overrides: dict[str, dict] | None = None,
    status_code: int = 200,
) -> Response:
    """The questionnaire page; overrides keep a rejected form's input and errors."""
    overrides = overrides or {}
    locale = locale_of(request)
    assessment = assessments.get_assessment(session, user=user, assessment_id=assessment_id)
    catalogue = assessments.catalogue_of(session, assessment)
    area, capability = locate(catalogue, area_id, capability_id)
    editable = permissions.can_edit_answers(
        user,
        assessment,
        assessments.editable_areas(session, assessment=assessment, user=user),
        area.id,
    )
    answers = assessments.answers_of(session, assessment)
    progress = assessments.progress(catalogue, assessments.confirmed(answers))
    names = assessments.user_names(session, {a.updated_by_id for a in answers.values()})
    comments = [
        (comment, name)
        for comment, name in assessments.comments_of(session, assessment)
        if comment.capability_id == capability.id
    ]
    target = assessments.targets_of(session, assessment).get(capability.id)
    saved = request.query_params.get("saved")
    history = assessments.capability_history(
        session, user=user, assessment_id=assessment.id, capability_id=capability.id
    )

    indicators = []
    for indicator in capability.indicators:
        answer = answers.get((capability.id, indicator.id))
        content = assessments.answer_content(answer) if answer else None
        override = overrides.get(indicator.id, {})
        changes = history.get(indicator.id, [])
        indicators.append(
            {
                "indicator": indicator,
                "answer": answer,
                "shown": describe(content, catalogue, locale),
                "fields": override.get("values") or form_values(content),
                "version": override.get("version", answer.version if answer else 0),
                "errors": override.get("errors", {}),
                "comment_error": override.get("comment_error"),
                "comment_body": override.get("comment_body", ""),
                "updated_by": names.get(answer.updated_by_id) if answer else None,
                "history": history_entries(changes, catalogue, locale),
                "comments": [c for c in comments if c[0].indicator_id == indicator.id],
                "saved": saved == indicator.id and not override,
                "commented": request.query_params.get("commented") == indicator.id,
            }
        )
    ordered = catalogue.capabilities()
    position = ordered.index(capability)
    neighbours = {
        "previous": ordered[position - 1] if position > 0 else None,
        "next": ordered[position + 1] if position + 1 < len(ordered) else None,
    }
    return render(
        request,
        "capability.html",
        {
            "assessment": assessment,
            "catalogue": catalogue,
            "area": area,
            "capability": capability,
            "progress": progress,
            "indicators": indicators,
            "editable": editable,
            "can_comment": permissions.can_comment(user, assessment),
            "max_comment": MAX_COMMENT,
            "target": target,
            "review_comments": [c for c in comments if c[0].kind == "review"],
            "neighbours": neighbours,
            "area_of": catalogue.area_of,
            "url": capability_url(assessment.id, area.id, capability.id),
            "api_base": f"/api/v1/assessments/{assessment.id}/answers/{capability.id}",
        },
        status_code=status_code,
    )


@router.get(BASE)
def capability(
    request: Request,
    user: PageUser,
    session: SessionDep,
    assessment_id: Id,
    area_id: Text,
    capability_id: Text,
) -> Response:
    return capability_page(
        request,
        session,
        user,
        assessment_id=assessment_id,
        area_id=area_id,
        capability_id=capability_id,
    )


@router.post(BASE + "/indicators/{indicator_id}")
def save_indicator(
    request: Request,
    user: PageUser,
    form: CheckedForm,
    session: SessionDep,
    assessment_id: Id,
    area_id: Text,
    capability_id: Text,
    indicator_id: Text,
) -> Response:
    """Save one answer from the plain form; on a conflict show both versions side by side."""
    assessment = assessments.get_assessment(session, user=user, assessment_id=assessment_id)
    catalogue = assessments.catalogue_of(session, assessment)
    area, capability_def = locate(catalogue, area_id, capability_id)
    indicator = _indicator(capability_def, indicator_id)
    values = submitted_values(form)
    version = form_int(text_field(form, "version"), field="version", default=0)
    page = {
        "assessment_id": assessment.id,
        "area_id": area.id,
        "capability_id": capability_def.id,
    }
    try:
        data = answer_input(values, version)
        assessments.save_answer(
            session,
            user=user,
            assessment_id=assessment.id,
            capability_id=capability_def.id,
            indicator_id=indicator.id,
            data=data,
            source="web",
        )
    except ValidationError as exc:
        override = {"values": values, "version": version, "errors": answer_errors(exc)}
        return capability_page(
            request, session, user, **page, overrides={indicator.id: override}, status_code=422
        )
    except assessments.AnswerConflict as exc:
        # Nothing was written: the service checks the version before it changes anything.
        return conflict_page(
            request,
            session,
            assessment=assessment,
            catalogue=catalogue,
            area=area,
            capability=capability_def,
            indicator=indicator,
            current=exc.current,
            mine=data.content(),
            mine_values=values,
        )
    except Invalid as exc:
        field = {"level": "answer", "response": "answer"}.get(exc.field or "", exc.field)
        override = {"values": values, "version": version, "errors": {field or "form": exc.message}}
        return capability_page(
            request, session, user, **page, overrides={indicator.id: override}, status_code=422
        )
    url = capability_url(assessment.id, area.id, capability_def.id)
    return redirect(f"{url}?saved={indicator.id}#ind-{indicator.id}")


def conflict_page(
    request: Request,
    session,
    *,
    assessment: Assessment,
    catalogue: Catalogue,
    area,
    capability,
    indicator,
    current: Answer | None,
    mine: dict,
    mine_values: dict[str, str],
) -> Response:
    locale = locale_of(request)
    theirs = assessments.answer_content(current) if current else None
    changed_by = None
    if current is not None and current.updated_by_id:
        changed_by = assessments.user_names(session, {current.updated_by_id}).get(
            current.updated_by_id
        )
    return render(
        request,
        "conflict.html",
        {
            "assessment": assessment,
            "area": area,
            "capability": capability,
            "indicator": indicator,
            "theirs": describe(theirs, catalogue, locale),
            "mine": describe(mine, catalogue, locale),
            "mine_values": mine_values,
            "changed_by": changed_by,
            "changed_at": current.updated_at if current else None,
            "current_version": current.version if current else 0,
            "url": capability_url(assessment.id, area.id, capability.id),
        },
        status_code=409,
    )


@router.post(BASE + "/indicators/{indicator_id}/comments")
def add_comment(
    request: Request,
    user: PageUser,
    form: CheckedForm,
    session: SessionDep,
    assessment_id: Id,
    area_id: Text,
    capability_id: Text,
    indicator_id: Text,
) -> Response:
    assessment = assessments.get_assessment(session, user=user, assessment_id=assessment_id)
    catalogue = assessments.catalogue_of(session, assessment)
    area, capability_def = locate(catalogue, area_id, capability_id)
    indicator = _indicator(capability_def, indicator_id)
    body = text_field(form, "body")
    try:
        assessments.add_comment(
            session,
            user=user,
            assessment_id=assessment.id,
            capability_id=capability_def.id,
            indicator_id=indicator.id,
            body=body,
        )
    except Invalid as exc:
        error = COMMENT_MESSAGES.get(exc.details.get("rule", ""), exc.message)
        return capability_page(
            request,
            session,
            user,
            assessment_id=assessment.id,
            area_id=area.id,
            capability_id=capability_def.id,
            overrides={indicator.id: {"comment_error": error, "comment_body": body}},
            status_code=422,
        )
    url = capability_url(assessment.id, area.id, capability_def.id)
    # Back to the comment, shown open with a confirmation beside it.
    return redirect(f"{url}?commented={indicator.id}#comment-posted-{indicator.id}")
