"""The JSON exchange format of a whole assessment, version 1 (docs/exchange-format.md).

An assessment moves between installations as one JSON document: its answers with their
full history, targets, action plan items and comments. People are named, not numbered:
user ids mean nothing in another installation. The models here are the format; reading a
document checks it completely before anything touches the database.
"""

from __future__ import annotations

import json
import re
from datetime import date
from itertools import accumulate
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, Field, ValidationError, model_validator

from app.actionplan.schemas import CostAmount, Currency, FundingSource, cost_problem
from app.assessments.models import ActionStatus, Confidence, Response, Status
from app.assessments.schemas import MAX_LINKS, MAX_TEXT
from app.core.errors import Invalid
from app.core.inputs import MAX_DB_INT, DbInt, InputModel

FORMAT = "gsr-assess/assessment"
FORMAT_VERSION = 1

# Checked on the text before it is parsed: json.loads builds the whole document at once,
# and a small value costs far more memory than its text. A real document nests seven deep
# (answers, history, values, links) and holds tens of thousands of values, not millions.
MAX_DOCUMENT_BYTES = 20 * 1024 * 1024
MAX_DEPTH = 16
MAX_ITEMS = 500_000
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_A_BRACKET = re.compile(rb"[^\[\]{}]")

Name = Annotated[str, Field(max_length=200)] | None
Id = Annotated[str, Field(min_length=1, max_length=60)]
Level = Annotated[int, Field(ge=0, le=9)]
Version = Annotated[int, Field(ge=1, le=MAX_DB_INT)]


class _Record(InputModel):
    """A part of the document: unknown fields refused, every text storable."""


class AnswerValue(_Record):
    """An answer's content, as recorded in its history."""

    response: Response
    level: Level | None = None
    justification: Annotated[str, Field(max_length=5_000)] = ""
    evidence_notes: Annotated[str, Field(max_length=MAX_TEXT)] = ""
    evidence_links: Annotated[
        list[Annotated[str, Field(max_length=2_000)]], Field(max_length=MAX_LINKS)
    ] = Field(default_factory=list)
    confidence: Confidence | None = None

    @model_validator(mode="after")
    def _level_iff_level_response(self) -> AnswerValue:
        if (self.response == Response.LEVEL) != (self.level is not None):
            raise ValueError("a level is given exactly when the response is 'level'")
        return self


class HistoryEntry(_Record):
    version: Version
    changed_at: AwareDatetime
    changed_by: Name = None
    source: Annotated[str, Field(min_length=1, max_length=20)]
    old_value: AnswerValue | None = None
    new_value: AnswerValue


class AnswerRecord(AnswerValue):
    capability_id: Id
    indicator_id: Id
    carried_over: bool = False
    version: Version
    updated_at: AwareDatetime
    updated_by: Name = None
    history: list[HistoryEntry] = Field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.capability_id}.{self.indicator_id}"

    def content(self) -> dict[str, Any]:
        return AnswerValue.model_validate(
            self.model_dump(include=set(AnswerValue.model_fields))
        ).model_dump(mode="json")

    @model_validator(mode="after")
    def _history_versions(self) -> AnswerRecord:
        versions = [entry.version for entry in self.history]
        if len(set(versions)) != len(versions):
            raise ValueError("the history lists a version more than once")
        if versions and max(versions) > self.version:
            raise ValueError("the history holds a version later than the answer's")
        return self


class TargetRecord(_Record):
    capability_id: Id
    level: Level
    version: Version = 1
    set_at: AwareDatetime
    set_by: Name = None


class ActionItemRecord(_Record):
    origin: Literal["catalogue", "manual"]
    capability_id: Id | None = None
    step_level: Level | None = None
    action_index: Annotated[int, Field(ge=0, le=MAX_DB_INT)] | None = None
    title: Annotated[str, Field(min_length=1, max_length=300)]
    detail: Annotated[str, Field(max_length=MAX_TEXT)] = ""
    lead_sector: Annotated[str, Field(max_length=60)] | None = None
    owner_agency: Annotated[str, Field(max_length=200)] = ""
    horizon: Literal["short", "medium", "long"]
    due_date: date | None = None
    status: ActionStatus = ActionStatus.PLANNED
    notes: Annotated[str, Field(max_length=MAX_TEXT)] = ""
    position: DbInt = 0
    edited_by_user: bool = False
    cost_amount: CostAmount | None = None
    cost_currency: Currency | None = None
    funding_source: FundingSource = ""
    version: Version = 1
    created_at: AwareDatetime
    updated_at: AwareDatetime

    @model_validator(mode="after")
    def _cost_has_currency(self) -> ActionItemRecord:
        problem = cost_problem(self.cost_amount, self.cost_currency)
        if problem is not None:
            raise ValueError(f"{problem[0]}: {problem[1]}")
        return self


class CommentRecord(_Record):
    capability_id: Id
    indicator_id: Id | None = None
    kind: Literal["discussion", "review"] = "discussion"
    author: Name = None
    body: Annotated[str, Field(min_length=1, max_length=MAX_TEXT)]
    created_at: AwareDatetime


class AssessmentRecord(_Record):
    country_code: Annotated[str, Field(min_length=3, max_length=3)]
    cycle: Annotated[
        str, Field(min_length=1, max_length=20, pattern=r"^[0-9A-Za-z][0-9A-Za-z.\- ]*$")
    ]
    status: Status
    deadline: date | None = None
    revision: Annotated[int, Field(ge=0, le=MAX_DB_INT)] = 0
    created_at: AwareDatetime
    updated_at: AwareDatetime
    created_by: Name = None
    submitted_at: AwareDatetime | None = None
    validated_at: AwareDatetime | None = None
    signoff_name: Annotated[str, Field(max_length=200)] | None = None
    signoff_position: Annotated[str, Field(max_length=200)] | None = None
    signoff_date: date | None = None


class CatalogueRef(_Record):
    key: Annotated[str, Field(min_length=1, max_length=40)]
    version: Annotated[str, Field(min_length=1, max_length=40)]
    content_hash: Annotated[str, Field(min_length=1, max_length=80)]


class Application(_Record):
    name: str
    version: str


class AssessmentDocument(_Record):
    """A whole assessment, as one JSON document."""

    format: Literal["gsr-assess/assessment"] = FORMAT
    format_version: Literal[1] = FORMAT_VERSION
    exported_at: AwareDatetime
    exported_by: Name = None
    application: Application
    catalogue: CatalogueRef
    assessment: AssessmentRecord
    answers: list[AnswerRecord] = Field(default_factory=list)
    targets: list[TargetRecord] = Field(default_factory=list)
    action_items: list[ActionItemRecord] = Field(default_factory=list)
    comments: list[CommentRecord] = Field(default_factory=list)


def check_shape(text: bytes) -> None:
    """Refuse a document too big, too deep or with too many values to parse safely."""
    if len(text) > MAX_DOCUMENT_BYTES:
        raise Invalid(
            f"the file is larger than the {MAX_DOCUMENT_BYTES // (1024 * 1024)} MB accepted; "
            "an assessment export is far smaller, so nothing was imported"
        )
    # Strings may hold any character; only what is outside them gives the structure.
    skeleton = _STRING.sub(b'""', text)
    items = skeleton.count(b",") + skeleton.count(b"[") + skeleton.count(b"{")
    if items > MAX_ITEMS:
        raise Invalid(
            f"the file holds more than {MAX_ITEMS} values, far more than an assessment "
            "export; it was refused to protect the service and nothing was imported"
        )
    brackets = _NOT_A_BRACKET.sub(b"", skeleton)
    opening = b"[{"
    depth = max(accumulate(1 if c in opening else -1 for c in brackets), default=0)
    if depth > MAX_DEPTH:
        raise Invalid(
            f"the file nests values more than {MAX_DEPTH} levels deep, which an assessment "
            "export never does; it was refused to protect the service and nothing was imported"
        )


def parse_document(raw: bytes | str | dict[str, Any]) -> AssessmentDocument:
    """The document in raw, checked against the format; Invalid naming what is wrong."""
    if isinstance(raw, bytes | str):
        check_shape(raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw)
        try:
            raw = json.loads(raw)
        except (ValueError, RecursionError):
            raise Invalid(
                "the file is not valid JSON; upload the file exported from gsr-assess unchanged",
                field="file",
            ) from None
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise Invalid(
            f"this is not a gsr-assess assessment export: its 'format' must be '{FORMAT}'",
            field="format",
        )
    if raw.get("format_version") != FORMAT_VERSION:
        raise Invalid(
            f"format version {raw.get('format_version')!r} is not supported; this "
            f"installation reads version {FORMAT_VERSION}",
            field="format_version",
        )
    try:
        return AssessmentDocument.model_validate(raw)
    except ValidationError as error:
        problems = [
            {
                "where": ".".join(str(part) for part in item["loc"]) or "(document)",
                "reason": str(item["msg"]).removeprefix("Value error, "),
            }
            for item in error.errors()[:20]
        ]
        shown = "; ".join(f"{p['where']}: {p['reason']}" for p in problems[:5])
        raise Invalid(
            f"the file does not follow format version {FORMAT_VERSION}: {shown}",
            field=problems[0]["where"] if problems else None,
            problems=problems,
        ) from None
