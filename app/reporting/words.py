"""Text typed by users, made safe to lay out before it reaches a report.

WeasyPrint hyphenates (`hyphens: auto`) by asking pyphen for the break points of the rest
of a word at every line it fills, so an unbroken run of letters costs far more than its
length: 4,000 letters took 45 s, 20,000 over a minute, past the render time limit. No
real word is longer than a few dozen letters, so long runs are given break opportunities
here, when the report data is built: a zero-width space every SEGMENT characters (which
prints nothing, and lets each piece be hyphenated on its own), and runs past MAX_RUN
characters are cut, with a note saying how much was left out. Links keep their address
untouched; the short runs of letters between the dots and slashes of a real URL are left
as they are, so a link copied from the PDF still works.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any, TypeVar

from markupsafe import Markup

from app.core.i18n import gettext as _
from app.reporting.render import format_number

LONG_RUN = 64  # longer than any word, and than a SHA-256 digest written in hex
SEGMENT = 32
MAX_RUN = 600
BREAK = "\u200b"  # zero-width space: a line may break here, and nothing is printed

_RUN = re.compile(rf"\w{{{LONG_RUN + 1},}}")
# Fields that name or address something rather than say it: never altered.
_KEPT_FIELDS = {"href", "id", "kind", "status", "locale", "horizon", "origin", "response"}

T = TypeVar("T")


def _segment(match: re.Match[str]) -> str:
    run = match.group()
    cut = ""
    if len(run) > MAX_RUN:
        left_out = len(run) - MAX_RUN
        run = run[:MAX_RUN]
        cut = " " + _(
            "[… %(count)s more characters without a space are not shown; the full text is in "
            "the assessment]",
            count=format_number(left_out),
        )
    return BREAK.join(run[i : i + SEGMENT] for i in range(0, len(run), SEGMENT)) + cut


def tame_text(text: str) -> str:
    """text with every run of letters longer than LONG_RUN broken into segments (and cut
    after MAX_RUN characters, with a pointer to the rest); shorter text is returned as is."""
    if len(text) <= LONG_RUN or isinstance(text, Markup):
        return text
    return _RUN.sub(_segment, text)


def tame(value: T) -> T:
    """value (a report's frozen data) with tame_text applied to every plain text in it.

    Markup (charts, already drawn) is left alone, as are the fields that name things
    (ids, links' addresses, codes) and the report's metadata, which users do not type.
    """
    return _tame(value)  # type: ignore[return-value]


def _tame(value: Any) -> Any:
    if isinstance(value, Markup):
        return value
    if isinstance(value, str):
        return tame_text(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        if type(value).__name__ == "ReportMeta":
            return value
        changes = {}
        for field in dataclasses.fields(value):
            if field.name in _KEPT_FIELDS or field.name.endswith(("_id", "_hash", "_code")):
                continue
            before = getattr(value, field.name)
            after = _tame(before)
            if after is not before:
                changes[field.name] = after
        return dataclasses.replace(value, **changes) if changes else value
    if isinstance(value, tuple | list):
        items = [_tame(item) for item in value]
        if all(a is b for a, b in zip(items, value, strict=True)):
            return value
        return type(value)(items)
    if isinstance(value, Mapping):
        pairs = {key: _tame(item) for key, item in value.items()}
        if all(pairs[key] is value[key] for key in value):
            return value
        return type(value)(pairs) if isinstance(value, dict) else pairs
    return value
