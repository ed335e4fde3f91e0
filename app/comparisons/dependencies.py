"""Who may reach the secretariat's API routes: shared by every router under /alliance."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from app.accounts.dependencies import current_user
from app.accounts.models import User
from app.comparisons import permissions
from app.core.errors import NotFound


def require_alliance(user: Annotated[User, Depends(current_user)]) -> User:
    """Alliance staff only; anyone else gets 404, as if the page did not exist."""
    if not permissions.can_compare_countries(user):
        raise NotFound("not found")
    return user
