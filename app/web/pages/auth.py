"""Logging in and out of the web pages."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.accounts import service as accounts
from app.accounts.dependencies import SESSION_COOKIE
from app.core.db import SessionDep
from app.core.errors import Invalid, Throttled
from app.core.i18n import lazy_gettext as _
from app.core.inputs import Text
from app.core.security import new_token, same
from app.web.pages.common import (
    CheckedForm,
    PostedForm,
    local_path,
    redirect,
    render,
    text_field,
)

router = APIRouter()

# Before log-in there is no session to hold a CSRF token, so the log-in form carries one
# that must match a cookie set with the form (so another site cannot log you in as them).
LOGIN_CSRF_COOKIE = "gsr_login_csrf"


def _login_form(
    request: Request,
    *,
    next_path: str,
    email: str = "",
    errors: dict | None = None,
    status_code: int = 200,
    headers: dict | None = None,
) -> Response:
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or new_token()
    response = render(
        request,
        "login.html",
        {"next_path": next_path, "email": email, "errors": errors or {}, "login_csrf": token},
        status_code=status_code,
        headers=headers,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/login",
    )
    return response


@router.get("/login")
def login_page(request: Request, next: Text | None = None) -> Response:
    return _login_form(request, next_path=local_path(next))


@router.post("/login")
def login(request: Request, form: PostedForm, session: SessionDep) -> Response:
    email = text_field(form, "email").strip()
    password = text_field(form, "password")
    next_path = local_path(text_field(form, "next"))
    cookie_token = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    form_token = text_field(form, "login_csrf")
    if not cookie_token or not form_token or not same(cookie_token, form_token):
        return _login_form(
            request,
            next_path=next_path,
            email=email,
            errors={"form": _("The form expired. Please try again.")},
            status_code=403,
        )
    errors = {}
    if not email:
        errors["email"] = _("Enter your e-mail address.")
    if not password:
        errors["password"] = _("Enter your password.")
    if errors:
        return _login_form(
            request, next_path=next_path, email=email, errors=errors, status_code=422
        )
    client = request.client.host if request.client else ""
    try:
        user = accounts.authenticate(session, email=email, password=password, client=client)
    except Throttled as exc:
        return _login_form(
            request,
            next_path=next_path,
            email=email,
            errors={
                "form": _(
                    "Too many failed attempts. For your security, logging in is paused: "
                    "wait 15 minutes, then try again."
                )
            },
            status_code=429,
            headers={"Retry-After": str(exc.details.get("retry_after", 900))},
        )
    except Invalid:
        # The failed attempt is committed (the session is not rolled back) so it counts.
        return _login_form(
            request,
            next_path=next_path,
            email=email,
            errors={"password": _("E-mail address or password not recognised.")},
            status_code=401,
        )
    hours = request.app.state.settings.session_hours
    token, _row = accounts.start_session(session, user=user, hours=hours)
    response = redirect(next_path)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=hours * 3600,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(request: Request, form: CheckedForm, session: SessionDep) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        accounts.end_session(session, token)
    response = redirect("/login")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
