"""The application's settings as the request sees them (built once, at start-up)."""

from __future__ import annotations

from fastapi import Request

from app.core.config import Settings


def settings_of(request: Request) -> Settings:
    """The settings the running application was made with."""
    return request.app.state.settings


def min_group(request: Request) -> int:
    """The confidentiality threshold k of published, anonymised figures."""
    return settings_of(request).aggregate.min_group
