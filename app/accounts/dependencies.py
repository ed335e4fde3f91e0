"""Who is calling: a bearer API token, or a web session cookie (with CSRF protection)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.accounts import permissions, service
from app.accounts.models import User
from app.core.db import SessionDep
from app.core.errors import Forbidden, NotAuthenticated
from app.core.security import same

SESSION_COOKIE = "gsr_session"
CSRF_HEADER = "x-csrf-token"
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def optional_user(request: Request, session: SessionDep) -> User | None:
    """The calling user, or None. Remembers the web session for the CSRF check."""
    authorization = request.headers.get("authorization", "")
    if authorization.lower().startswith("bearer "):
        user = service.token_user(session, authorization[7:].strip())
        if user is None:
            raise NotAuthenticated("the API token is unknown, revoked or its user disabled")
        request.state.auth = "token"
        return user
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    found = service.session_user(session, token)
    if found is None:
        return None
    user, web_session = found
    request.state.auth = "session"
    request.state.csrf_token = web_session.csrf_token
    # JSON calls made by our own pages carry the CSRF token in a header.
    if request.method in UNSAFE_METHODS and request.url.path.startswith("/api/"):
        verify_csrf(request, request.headers.get(CSRF_HEADER, ""))
    return user


def current_user(user: Annotated[User | None, Depends(optional_user)]) -> User:
    if user is None:
        raise NotAuthenticated("log in, or send an API token as 'Authorization: Bearer ...'")
    return user


def verify_csrf(request: Request, submitted: str | None) -> None:
    """Refuse a cookie-authenticated change whose CSRF token does not match the session's."""
    expected = getattr(request.state, "csrf_token", None)
    if getattr(request.state, "auth", None) == "token":
        return
    if not expected or not submitted or not same(expected, submitted):
        raise Forbidden("the form has expired or did not come from this site; reload the page")


def require_admin(user: Annotated[User, Depends(current_user)]) -> User:
    """Administrators only, refused before the request body is read."""
    if not permissions.can_manage_users(user):
        raise Forbidden("only an administrator can manage users")
    return user


CurrentUser = Annotated[User, Depends(current_user)]
OptionalUser = Annotated[User | None, Depends(optional_user)]
AdminUser = Annotated[User, Depends(require_admin)]
