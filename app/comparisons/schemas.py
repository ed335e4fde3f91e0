"""What clients send to the comparisons API (the answers are the service's dataclasses)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, StrictBool


class SharingUpdate(BaseModel):
    """The coordinator's choice: count the country in anonymised aggregates, or not."""

    model_config = ConfigDict(extra="forbid")

    include_in_aggregates: StrictBool
