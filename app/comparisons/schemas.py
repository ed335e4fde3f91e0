"""What clients send to the comparisons API (the answers are the service's dataclasses)."""

from __future__ import annotations

from pydantic import StrictBool

from app.core.inputs import InputModel


class SharingUpdate(InputModel):
    """The coordinator's choice: count the country in anonymised aggregates, or not."""

    include_in_aggregates: StrictBool
