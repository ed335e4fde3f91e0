"""Action plan items in and out of the API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.assessments.models import ActionStatus
from app.core.inputs import MAX_DB_INT, InputModel

Horizon = Literal["short", "medium", "long"]


class ActionItemOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    origin: str
    capability_id: str | None
    step_level: int | None
    title: str
    detail: str
    lead_sector: str | None
    owner_agency: str
    horizon: str
    due_date: date | None
    status: str
    notes: str
    position: int
    edited_by_user: bool
    version: int
    updated_at: datetime


class ActionItemUpdate(InputModel):
    """An edit to an item; `version` is the version the editor saw."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    version: Annotated[int, Field(ge=1, le=MAX_DB_INT)]
    owner_agency: Annotated[str, Field(max_length=200)] | None = None
    due_date: date | None = None
    status: ActionStatus | None = None
    notes: Annotated[str, Field(max_length=10_000)] | None = None
    title: Annotated[str, Field(min_length=1, max_length=300)] | None = None
    horizon: Horizon | None = None

    @field_validator("owner_agency", "status", "notes", "title", "horizon")
    @classmethod
    def _not_null(cls, value: object) -> object:
        # Leaving a field out keeps it; only the due date can be cleared with null.
        if value is None:
            raise ValueError("leave the field out to keep it; it cannot be emptied with null")
        return value


class ActionItemCreate(InputModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: Annotated[str, Field(min_length=1, max_length=300)]
    detail: Annotated[str, Field(max_length=10_000)] = ""
    capability_id: str | None = None
    lead_sector: str | None = None
    owner_agency: Annotated[str, Field(max_length=200)] = ""
    horizon: Horizon = "short"
    due_date: date | None = None
    notes: Annotated[str, Field(max_length=10_000)] = ""


class PlanProgress(BaseModel):
    total: int
    planned: int
    in_progress: int
    done: int
    dropped: int
