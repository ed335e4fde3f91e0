"""Who is calling: a bearer API token, or a web session cookie (with CSRF protection)."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Annotated

from fastapi import BackgroundTasks, Depends, Request
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from app.accounts import permissions, service
from app.accounts.models import User
from app.core.db import SessionDep, separate_write
from app.core.errors import Forbidden, NotAuthenticated
from app.core.security import same, unmask_token
from app.mail.service import deliver_pending

SESSION_COOKIE = "gsr_session"
CSRF_HEADER = "x-csrf-token"
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
NOT_LOGGED_IN = "log in, or send an API token as 'Authorization: Bearer ...'"


class TwoFactorSetupRequired(Forbidden):
    """Refused until the user sets up two-factor log-in (pages send them to do it)."""

    code = "two_factor_setup_required"
    page_location = "/account/two-factor"


logger = logging.getLogger("gsr.accounts")


def _record_last_seen(request: Request, **row: int) -> None:
    """After the response: note when a session or token was last used (best effort)."""
    interval = timedelta(seconds=request.app.state.settings.last_seen_interval)
    try:
        with separate_write(request) as session:
            service.record_last_seen(session, interval=interval, **row)
    except OperationalError:  # the database is busy: the next request will record it
        logger.info("last use of %s not recorded: database busy", row)


def optional_user(
    request: Request, session: SessionDep, background: BackgroundTasks
) -> User | None:
    """The calling user, or None. Remembers the web session for the CSRF check."""
    return authenticate(request, session, background)


def authenticate(request: Request, session: Session, background: BackgroundTasks) -> User | None:
    """The calling user, or None (see optional_user); for use in a worker thread."""
    interval = timedelta(seconds=request.app.state.settings.last_seen_interval)
    authorization = request.headers.get("authorization", "")
    if authorization.lower().startswith("bearer "):
        found_token = service.token_user(session, authorization[7:].strip())
        if found_token is None:
            raise NotAuthenticated("the API token is unknown, revoked or its user disabled")
        user, api_token = found_token
        if service.is_stale(api_token.last_used_at, interval=interval):
            background.add_task(_record_last_seen, request, token_id=api_token.id)
        request.state.auth = "token"
        return user
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    found = service.session_user(session, token)
    if found is None:
        return None
    user, web_session = found
    if service.is_stale(web_session.last_seen_at, interval=interval):
        background.add_task(_record_last_seen, request, session_id=web_session.id)
    request.state.auth = "session"
    request.state.csrf_token = web_session.csrf_token
    # JSON calls made by our own pages carry the CSRF token in a header.
    if request.method in UNSAFE_METHODS and request.url.path.startswith("/api/"):
        verify_csrf(request, request.headers.get(CSRF_HEADER, ""))
    return user


async def current_user(
    request: Request, user: Annotated[User | None, Depends(optional_user)]
) -> User:
    # Async because it does no I/O: a plain def would cost a hand-over to a worker thread.
    if user is None:
        raise NotAuthenticated(NOT_LOGGED_IN)
    refuse_until_enrolled(request, user)
    return user


def user_in_thread(request: Request, session: Session, background: BackgroundTasks) -> User:
    """current_user, for an endpoint that authenticates in its own worker thread.

    Such an endpoint is `async`, declares `credentials_given` and runs its work, this call
    first, in one worker thread: one hand-over to a thread per request instead of three
    (the user's look-up, the endpoint, the commit). Only the busiest write does this.
    """
    user = authenticate(request, session, background)
    if user is None:
        raise NotAuthenticated(NOT_LOGGED_IN)
    refuse_until_enrolled(request, user)
    return user


async def credentials_given(request: Request) -> None:
    """Refuse a request without any credentials before its body is validated, as
    current_user does; whether they are valid is checked by user_in_thread."""
    bearer = request.headers.get("authorization", "").lower().startswith("bearer ")
    if not bearer and not request.cookies.get(SESSION_COOKIE):
        raise NotAuthenticated(NOT_LOGGED_IN)


# What a user who must still set two-factor log-in up may reach with their session.
ENROLMENT_PATHS = ("/account/two-factor", "/logout")


def refuse_until_enrolled(request: Request, user: User) -> None:
    """A web session of a user who must use two-factor log-in but has not set it up (it began
    before the installation required it) reaches nothing but the set-up page.

    API tokens are not concerned: they are separate credentials (docs/accounts.md).
    """
    if getattr(request.state, "auth", None) != "session":
        return
    required = request.app.state.settings.security.require_two_factor
    if permissions.must_enrol(user, required=required) and not request.url.path.startswith(
        ENROLMENT_PATHS
    ):
        raise TwoFactorSetupRequired("set up two-factor log-in first, on /account/two-factor")


def verify_csrf(request: Request, submitted: str | None) -> None:
    """Refuse a cookie-authenticated change whose CSRF token does not match the session's."""
    expected = getattr(request.state, "csrf_token", None)
    if getattr(request.state, "auth", None) == "token":
        return
    if not expected or not submitted:
        raise Forbidden("the form has expired or did not come from this site; reload the page")
    # Pages carry the token masked (app/core/security.py, mask_token); scripts may send it plain.
    if not same(expected, submitted) and not same(expected, unmask_token(submitted) or ""):
        raise Forbidden("the form has expired or did not come from this site; reload the page")


async def require_admin(user: Annotated[User, Depends(current_user)]) -> User:
    """Administrators only, refused before the request body is read."""
    if not permissions.can_manage_users(user):
        raise Forbidden("only an administrator can manage users")
    return user


CurrentUser = Annotated[User, Depends(current_user)]
OptionalUser = Annotated[User | None, Depends(optional_user)]
AdminUser = Annotated[User, Depends(require_admin)]


def _deliver(request: Request) -> None:
    try:
        deliver_pending(request.app.state.sessions.write, request.app.state.settings)
    except OperationalError:  # the database is busy: the messages wait for the next sender
        logger.info("outbox not delivered now: database busy")


def deliver_mail_after_response(request: Request, background: BackgroundTasks) -> None:
    """Send what the request put in the outbox once it has committed and answered."""
    background.add_task(_deliver, request)
