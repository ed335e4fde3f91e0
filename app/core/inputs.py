"""What every value a client sends must satisfy before a service or the database sees it.

Integers fit the database's integer columns, and text holds only characters that both
PostgreSQL text and the XML inside workbooks and reports can store. Routers annotate
parameters with `Id`, `DbInt`, `PageNumber` and `Text`; request bodies derive from
`InputModel`; pages read form integers through `form_int` and have every form field
checked by `check_form`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from app.core.errors import Invalid

# Ids and every stored integer are INTEGER columns: 32 bits on PostgreSQL (SQLite would
# take 64), so this is the range both backends hold.
MAX_DB_INT = 2**31 - 1
MIN_DB_INT = -(2**31)

# An id names a row: a positive integer of that range. Anything else names nothing and is
# refused as a malformed value (422 naming the parameter), which says nothing about any
# resource, unlike the 404 that answers one the caller may not see.
Id = Annotated[int, Field(ge=1, le=MAX_DB_INT)]
DbInt = Annotated[int, Field(ge=MIN_DB_INT, le=MAX_DB_INT)]
# A page number whose offset (LIMIT/OFFSET take 64 bits) fits at the largest page size.
PageNumber = Annotated[int, Field(ge=1, le=10**15)]

# The characters of XML 1.0 (which PostgreSQL text also holds): no NUL or other C0 control
# but tab, newline and carriage return, no U+FFFE/U+FFFF, no lone surrogate.
_UNSTORABLE = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def unstorable_reason(text: str) -> str | None:
    """Why text cannot be stored, naming the first offending character; None if it can."""
    found = _UNSTORABLE.search(text)
    if found is None:
        return None
    return (
        f"holds a character that cannot be stored (U+{ord(found.group()):04X} at "
        f"position {found.start() + 1}); remove control characters and non-characters"
    )


def replace_unstorable(text: str, replacement: str = "\ufffd") -> str:
    """text with every character that cannot be stored replaced (its length kept)."""
    return _UNSTORABLE.sub(replacement, text)


def _check_storable(text: str) -> str:
    reason = unstorable_reason(text)
    if reason is not None:
        raise ValueError(reason)
    return text


def _refuse_unstorable(value: Any) -> None:
    """Raise ValueError if value, or any text inside it (keys included), is unstorable."""
    if isinstance(value, str):
        _check_storable(value)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            _refuse_unstorable(key)
            _refuse_unstorable(item)
    elif isinstance(value, Iterable) and not isinstance(value, bytes | BaseModel):
        for item in value:
            _refuse_unstorable(item)


Text = Annotated[str, AfterValidator(_check_storable)]


class InputModel(BaseModel):
    """The base of every request body: unknown fields refused, every text storable."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        _refuse_unstorable(value)
        return value


def check_text(value: str, *, field: str) -> str:
    """value if it can be stored, else Invalid naming field."""
    reason = unstorable_reason(value)
    if reason is not None:
        raise Invalid(reason, field=field)
    return value


def check_form(items: Iterable[tuple[str, Any]]) -> None:
    """Refuse a posted form if any of its text fields (or their names) cannot be stored."""
    for name, value in items:
        if unstorable_reason(name) is not None:
            raise Invalid("a field name holds a character that cannot be stored", field="form")
        if isinstance(value, str):
            check_text(value, field=name)


def is_ascii_number(text: str) -> bool:
    """True for a non-empty run of ASCII digits only ('²' and '٣' are digits, not these)."""
    return text.isascii() and text.isdigit()


def form_int(
    text: str,
    *,
    field: str,
    minimum: int = 0,
    maximum: int = MAX_DB_INT,
    default: int | None = None,
) -> int:
    """A form's integer field: ASCII digits within [minimum, maximum], else Invalid."""
    text = text.strip()
    if not text and default is not None:
        return default
    # Length first: no need to convert a thousand digits to know they are too many.
    if not is_ascii_number(text) or len(text) > len(str(maximum)):
        raise Invalid(f"enter a whole number from {minimum} to {maximum}", field=field)
    number = int(text)
    if not minimum <= number <= maximum:
        raise Invalid(f"enter a whole number from {minimum} to {maximum}", field=field)
    return number
