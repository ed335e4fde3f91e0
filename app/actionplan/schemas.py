"""Action plan items in and out of the API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    computed_field,
    field_validator,
    model_validator,
)

from app.actionplan import funding
from app.assessments.models import ActionStatus
from app.core.inputs import MAX_DB_INT, InputModel

Horizon = Literal["short", "medium", "long"]
CostAmount = Annotated[int, Field(ge=0, le=funding.MAX_COST)]
Currency = Annotated[
    str,
    Field(min_length=3, max_length=3, description="ISO 4217 code, e.g. USD"),
    AfterValidator(funding.currency_code),
]
FundingSource = Annotated[str, Field(max_length=300)]


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
    cost_amount: int | None = Field(description="Indicative cost, in whole currency units")
    cost_currency: str | None = Field(description="ISO 4217 code of the cost's currency")
    funding_source: str
    version: int
    created_at: datetime
    updated_at: datetime

    @computed_field  # type: ignore[prop-decorator]
    @property
    def horizon_mismatch(self) -> funding.Mismatch | None:
        """ "later" or "sooner" when the due date falls outside the span the horizon promises,
        counted from the day the action entered the plan."""
        return funding.horizon_mismatch(self.horizon, self.due_date, self.created_at.date())


class ActionItemUpdate(InputModel):
    """An edit to an item; `version` is the version the editor saw."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    version: Annotated[int, Field(ge=1, le=MAX_DB_INT)]
    owner_agency: Annotated[str, Field(max_length=200)] | None = None
    due_date: date | None = None
    status: ActionStatus | None = None
    notes: Annotated[str, Field(max_length=10_000)] | None = None
    title: Annotated[str, Field(min_length=1, max_length=300)] | None = None
    detail: Annotated[str, Field(max_length=10_000)] | None = None
    horizon: Horizon | None = None
    cost_amount: CostAmount | None = None
    cost_currency: Currency | None = None
    funding_source: FundingSource | None = None

    @field_validator(
        "owner_agency", "status", "notes", "title", "detail", "horizon", "funding_source"
    )
    @classmethod
    def _not_null(cls, value: object) -> object:
        # Leaving a field out keeps it; only the due date and the cost (amount and currency
        # together) can be cleared with null.
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
    cost_amount: CostAmount | None = None
    cost_currency: Currency | None = None
    funding_source: FundingSource = ""

    @model_validator(mode="after")
    def _cost_has_currency(self) -> ActionItemCreate:
        problem = cost_problem(self.cost_amount, self.cost_currency)
        if problem is not None:
            raise ValueError(f"{problem[0]}: {problem[1]}")  # "field: message", as pages read it
        return self


def cost_problem(amount: int | None, currency: str | None) -> tuple[str, str] | None:
    """The field and what is wrong when a cost lacks its currency or a currency its amount:
    an amount means nothing without its currency, so both are set or neither."""
    if amount is not None and currency is None:
        return "cost_currency", "an amount needs its currency"
    if currency is not None and amount is None:
        return "cost_amount", "a currency needs an amount"
    return None


class PlanProgress(BaseModel):
    total: int
    planned: int
    in_progress: int
    done: int
    dropped: int
