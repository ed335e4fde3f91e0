"""An answer's fields as text to show: the questionnaire's history and conflict views and
the workbook upload's preview describe answers the same way."""

from __future__ import annotations

from typing import Any

from app.catalogue.schema import Catalogue
from app.core.i18n import lazy_gettext as _
from app.web.pages.common import CONFIDENCE_LABELS, RESPONSE_LABELS

# The name of each field describe() returns, as the history and the previews label it.
FIELD_NAMES = {
    "answer": _("Answer"),
    "justification": _("Justification"),
    "evidence_notes": _("Evidence notes"),
    "evidence_links": _("Evidence links"),
    "confidence": _("Confidence"),
}


def describe_choice(content: dict | None, catalogue: Catalogue, locale: str):
    """How an answer's response reads: 'Level 2 · Developing', 'Not applicable', ..."""
    if not content or not content.get("response"):
        return _("No answer")
    if content["response"] == "level" and content.get("level") is not None:
        level = content["level"]
        name = catalogue.level_name(level, locale) if level <= catalogue.max_level else str(level)
        return _("Level %(level)s · %(name)s", level=level, name=name)
    return RESPONSE_LABELS.get(content["response"], content["response"])


def describe(content: dict | None, catalogue: Catalogue, locale: str) -> dict[str, Any]:
    """Every field of an answer as text to show."""
    content = content or {}
    confidence = content.get("confidence")
    return {
        "answer": describe_choice(content, catalogue, locale),
        "justification": content.get("justification") or "",
        "evidence_notes": content.get("evidence_notes") or "",
        "evidence_links": list(content.get("evidence_links") or []),
        "confidence": CONFIDENCE_LABELS.get(confidence, "") if confidence else "",
    }
