"""What the report endpoints answer besides PDFs."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class ReportStatus(BaseModel):
    """Where a report being prepared stands."""

    state: Literal["ready", "preparing", "failed", "unknown"] = Field(
        description="ready: download again; unknown: the data changed meanwhile, download "
        "again to ask for the current report; failed: try again later"
    )
    digest: str = Field(description="digest of the report's content")
    status_url: str | None = None
    download_url: str | None = None
    retry_after: int = Field(description="seconds to wait before asking again")
