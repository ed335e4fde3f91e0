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
from app.assessments.service import IndicatorFilter, indicator_filters
from app.catalogue.schema import Catalogue
from app.core.db import SessionDep
from app.core.errors import Invalid, NotFound
from app.core.i18n import lazy_gettext as _
from app.core.inputs import Id, Text, form_int
from app.web.answers import FIELD_NAMES, describe
from app.web.mywork import confirmed_count
from app.web.pages.common import (
    CheckedForm,
    PageUser,
    local_path,
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


# ---------------------------------------------------------------- filters


FILTERS = {
    IndicatorFilter.UNANSWERED: _("Unanswered"),
    IndicatorFilter.TO_CONFIRM: _("To confirm"),
    IndicatorFilter.LOW_CONFIDENCE: _("Low confidence"),
    IndicatorFilter.FLAGGED: _("Marked for review"),
}


def chosen_filter(request: Request) -> IndicatorFilter | None:
    """The filter named in ?show=, or None (every indicator) when absent or unknown."""
    try:
        return IndicatorFilter(request.query_params.get("show", ""))
    except ValueError:
        return None


def filter_matches(catalogue: Catalogue, answers: dict, flags: dict) -> dict[tuple, set]:
    """The filters each indicator of the catalogue matches."""
    return {
        key: indicator_filters(answers.get(key), key in flags) for key in catalogue.indicator_keys()
    }


def filter_counts(catalogue: Catalogue, matches: dict[tuple, set]) -> dict[str, dict]:
    """How many indicators of each capability match each filter."""
    counts: dict[str, dict] = {}
    for capability in catalogue.capabilities():
        found = dict.fromkeys(IndicatorFilter, 0)
        for indicator in capability.indicators:
            for kind in matches[(capability.id, indicator.id)]:
                found[kind] += 1
        counts[capability.id] = found
    return counts


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
    flags = assessments.review_flags_of(session, assessment)
    names = assessments.user_names(
        session,
        {a.updated_by_id for a in answers.values()} | {f.flagged_by_id for f in flags.values()},
    )
    show = chosen_filter(request)
    matches = filter_matches(catalogue, answers, flags)
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
    for number, indicator in enumerate(capability.indicators, start=1):
        answer = answers.get((capability.id, indicator.id))
        flag = flags.get((capability.id, indicator.id))
        kinds = matches[(capability.id, indicator.id)]
        if show is not None and show not in kinds:
            continue
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
                "number": number,
                "flag": flag,
                "flagged_by": names.get(flag.flagged_by_id) if flag else None,
                "kinds": kinds,
                "commented": request.query_params.get("commented") == indicator.id,
            }
        )
    counts = filter_counts(catalogue, matches)
    ordered = catalogue.capabilities()
    position = ordered.index(capability)
    # Under a filter, the pager skips the capabilities where nothing matches it.
    reachable = [c for c in ordered if c is capability or show is None or counts[c.id][show]]
    place = reachable.index(capability)
    neighbours = {
        "previous": reachable[place - 1] if place > 0 else None,
        "next": reachable[place + 1] if place + 1 < len(reachable) else None,
    }
    to_confirm = {
        "capability": counts[capability.id][IndicatorFilter.TO_CONFIRM],
        "area": sum(counts[c.id][IndicatorFilter.TO_CONFIRM] for c in area.capabilities),
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
            "flag_api": f"/api/v1/assessments/{assessment.id}/review-flags/{capability.id}",
            "can_flag": permissions.can_flag_for_review(user, assessment),
            "show": show,
            "filters": FILTERS,
            "counts": counts,
            "total": len(capability.indicators),
            "to_confirm": to_confirm if editable else {"capability": 0, "area": 0},
            "confirmed": confirmed_count(request),
            "query": f"?show={show.value}" if show else "",
            "position": position,
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


# ---------------------------------------------------------------- marking for review


@router.post(BASE + "/indicators/{indicator_id}/review-flag")
def review_flag(
    request: Request,
    user: PageUser,
    form: CheckedForm,
    session: SessionDep,
    assessment_id: Id,
    area_id: Text,
    capability_id: Text,
    indicator_id: Text,
) -> Response:
    """Mark an indicator for review, or clear its mark (the plain form; app.js uses the API)."""
    assessment = assessments.get_assessment(session, user=user, assessment_id=assessment_id)
    catalogue = assessments.catalogue_of(session, assessment)
    area, capability_def = locate(catalogue, area_id, capability_id)
    indicator = _indicator(capability_def, indicator_id)
    target = {
        "user": user,
        "assessment_id": assessment.id,
        "capability_id": capability_def.id,
        "indicator_id": indicator.id,
    }
    if text_field(form, "action") == "clear":
        assessments.clear_review_flag(session, **target)
    else:
        note = text_field(form, "note")[: assessments.MAX_FLAG_NOTE + 1]
        assessments.flag_for_review(session, **target, note=note)
    url = capability_url(assessment.id, area.id, capability_def.id)
    show = chosen_filter(request)
    query = f"?show={show.value}" if show else ""
    return redirect(f"{url}{query}#ind-{indicator.id}")


# ---------------------------------------------------------------- confirming in bulk


def _confirm_page(
    request: Request,
    session,
    user: User,
    assessment_id: int,
    *,
    capability_id: str | None,
    area_id: str | None,
    back: str,
    changed: list[str] | None = None,
    status_code: int = 200,
) -> Response:
    """The list of carried-over answers a bulk confirmation would confirm, and its button."""
    locale = locale_of(request)
    assessment, found = assessments.carried_over_answers(
        session,
        user=user,
        assessment_id=assessment_id,
        capability_id=capability_id,
        area_id=area_id,
    )
    catalogue = assessments.catalogue_of(session, assessment)
    items = []
    for entry in found:
        capability = catalogue.capability(entry.capability_id)
        indicator = _indicator(capability, entry.answer.indicator_id)
        items.append(
            {
                "capability": capability,
                "indicator": indicator,
                "answer": entry.answer,
                "shown": describe(assessments.answer_content(entry.answer), catalogue, locale),
                "url": capability_url(assessment.id, entry.area_id, capability.id)
                + f"#ind-{indicator.id}",
            }
        )
    if capability_id is not None:
        scope = catalogue.capability(capability_id).title.get(locale)
    elif area_id is not None:
        scope = catalogue.area(area_id).title.get(locale)
    else:
        scope = None
    return render(
        request,
        "confirm.html",
        {
            "assessment": assessment,
            "catalogue": catalogue,
            "items": items,
            "scope": scope,
            "capability_id": capability_id or "",
            "area_id": area_id or "",
            "back": back,
            "changed": changed,
        },
        status_code=status_code,
    )


def _scope(values) -> tuple[str | None, str | None]:
    capability_id = (values.get("capability") or "").strip() or None
    area_id = (values.get("area") or "").strip() or None
    if capability_id is not None:
        area_id = None  # a capability names its area already
    return capability_id, area_id


def _default_back(assessment_id: int, capability_id: str | None, catalogue) -> str:
    if capability_id is not None:
        try:
            area = catalogue.area_of(capability_id)
        except KeyError:
            return f"/assessments/{assessment_id}"
        return capability_url(assessment_id, area.id, capability_id)
    return f"/assessments/{assessment_id}"


@router.get("/assessments/{assessment_id}/confirm")
def confirm_preview(
    request: Request, user: PageUser, session: SessionDep, assessment_id: Id
) -> Response:
    """What would be confirmed: ?capability= or ?area= (neither: every area one may edit)."""
    assessment = assessments.get_assessment(session, user=user, assessment_id=assessment_id)
    capability_id, area_id = _scope(request.query_params)
    catalogue = assessments.catalogue_of(session, assessment)
    back = local_path(
        request.query_params.get("back"), _default_back(assessment.id, capability_id, catalogue)
    )
    return _confirm_page(
        request,
        session,
        user,
        assessment.id,
        capability_id=capability_id,
        area_id=area_id,
        back=back,
    )


@router.post("/assessments/{assessment_id}/confirm")
def confirm_carried_over(
    request: Request, user: PageUser, form: CheckedForm, session: SessionDep, assessment_id: Id
) -> Response:
    """Confirm the answers listed on the preview, at the versions it showed: all or none."""
    assessment = assessments.get_assessment(session, user=user, assessment_id=assessment_id)
    capability_id, area_id = _scope(form)
    catalogue = assessments.catalogue_of(session, assessment)
    back = local_path(
        text_field(form, "back"), _default_back(assessment.id, capability_id, catalogue)
    )
    expected = []
    for value in form.getlist("answer"):
        parts = value.split("|") if isinstance(value, str) else []
        if len(parts) != 3:
            raise Invalid("the list of answers to confirm is incomplete", field="answer")
        expected.append((parts[0], parts[1], form_int(parts[2], field="answer", minimum=1)))
    page = {"capability_id": capability_id, "area_id": area_id, "back": back}
    try:
        confirmed = assessments.confirm_carried_over(
            session, user=user, assessment_id=assessment.id, expected=expected, source="web"
        )
    except assessments.ConfirmationConflict as exc:
        return _confirm_page(
            request,
            session,
            user,
            assessment.id,
            **page,
            changed=exc.details.get("changed", []),
            status_code=409,
        )
    path, _hash, fragment = back.partition("#")
    joiner = "&" if "?" in path else "?"
    anchor = f"#{fragment}" if fragment else ("#bulk-confirm" if capability_id else "#my-areas")
    return redirect(f"{path}{joiner}confirmed={len(confirmed)}{anchor}")
