"""What clients send and receive for assessments (validated at the edge)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from app.assessments.models import Confidence, Response
from app.core.inputs import MAX_DB_INT, Id, InputModel

MAX_TEXT = 100_000
MAX_LINKS = 20
MAX_COMMENT = 5_000  # a discussion or review comment, in characters


def _check_link(link: str) -> str:
    link = link.strip()
    parts = urlsplit(link)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("only http:// and https:// links with a host are accepted")
    if len(link) > 2000 or any(ch.isspace() or ord(ch) < 32 for ch in link):
        raise ValueError("the link is too long or holds spaces or control characters")
    return link


class AnswerInput(InputModel):
    """An answer as submitted; `version` is the version the client last saw (0: none yet)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    version: Annotated[int, Field(ge=0, le=MAX_DB_INT)]
    response: Response
    level: Annotated[int, Field(ge=0, le=9)] | None = None
    justification: Annotated[str, Field(max_length=5_000)] = ""
    evidence_notes: Annotated[str, Field(max_length=MAX_TEXT)] = ""
    evidence_links: Annotated[list[str], Field(max_length=MAX_LINKS)] = Field(default_factory=list)
    confidence: Confidence | None = None

    @field_validator("evidence_links", mode="before")
    @classmethod
    def _split_lines(cls, value: object) -> object:
        if isinstance(value, str):  # a web form sends one link per line
            return [line for line in value.splitlines() if line.strip()]
        return value

    @field_validator("evidence_links")
    @classmethod
    def _valid_links(cls, links: list[str]) -> list[str]:
        checked = []
        for index, link in enumerate(links):
            try:
                checked.append(_check_link(link))
            except ValueError as exc:
                raise ValueError(f"link {index + 1}: {exc}") from None
        return checked

    @model_validator(mode="after")
    def _consistent(self) -> AnswerInput:
        if self.response == Response.LEVEL and self.level is None:
            raise ValueError("level: choose a maturity level, or answer not applicable/unknown")
        if self.response != Response.LEVEL:
            self.level = None
        if self.response == Response.NOT_APPLICABLE and not self.justification:
            raise ValueError("justification: explain why this indicator does not apply")
        return self

    def content(self) -> dict:
        """The answer's content, without the version: what history records and compares."""
        return self.model_dump(mode="json", exclude={"version"})


class AnswerOut(BaseModel):
    capability_id: str
    indicator_id: str
    version: int
    response: Response | None
    level: int | None
    justification: str
    evidence_notes: str
    evidence_links: list[str]
    confidence: Confidence | None
    carried_over: bool
    updated_at: datetime | None
    updated_by: str | None


class AnswerChangeOut(BaseModel):
    version: int
    changed_at: datetime
    changed_by: str | None
    source: str
    old_value: dict | None
    new_value: dict


class AssessmentCreate(InputModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    country_code: Annotated[str, Field(min_length=3, max_length=3)]
    cycle: Annotated[
        str, Field(min_length=1, max_length=20, pattern=r"^[0-9A-Za-z][0-9A-Za-z.\- ]*$")
    ]
    deadline: date | None = None
    start_from_previous: bool = False


class Progress(BaseModel):
    answered: int
    total: int

    @property
    def percent(self) -> int:
        return round(100 * self.answered / self.total) if self.total else 100


class AssessmentOut(BaseModel):
    id: int
    country_code: str
    country_name: str
    cycle: str
    status: str
    catalogue_version: str
    catalogue_hash: str
    deadline: date | None
    revision: int
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None
    validated_at: datetime | None
    signoff_name: str | None
    signoff_position: str | None
    signoff_date: date | None
    progress: Progress


class TargetInput(InputModel):
    level: Annotated[int, Field(ge=0, le=9)]


class SignOff(InputModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: Annotated[str, Field(min_length=2, max_length=200)]
    position: Annotated[str, Field(min_length=2, max_length=200)]
    date: date


class ReturnInput(InputModel):
    comments: Annotated[
        dict[str, Annotated[str, Field(min_length=1, max_length=MAX_COMMENT)]], Field(min_length=1)
    ]


class CommentInput(InputModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    capability_id: str
    indicator_id: str | None = None
    body: Annotated[str, Field(min_length=1, max_length=MAX_COMMENT)]


class AssignmentInput(InputModel):
    area_id: str
    user_id: Id


class ReviewFlagInput(InputModel):
    """Marking an indicator for review, with an optional note saying what to look at."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    note: Annotated[str, Field(max_length=500)] = ""


class ReviewFlagOut(BaseModel):
    capability_id: str
    indicator_id: str
    note: str
    flagged_by: str | None
    flagged_at: datetime


class ConfirmItem(InputModel):
    """One carried-over answer to confirm, at the version the user reviewed."""

    capability_id: Annotated[str, Field(min_length=1, max_length=60)]
    indicator_id: Annotated[str, Field(min_length=1, max_length=60)]
    version: Annotated[int, Field(ge=1, le=MAX_DB_INT)]


class ConfirmInput(InputModel):
    answers: Annotated[list[ConfirmItem], Field(min_length=1, max_length=1000)]
