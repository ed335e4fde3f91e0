"""Logging in and out of the web pages, the second log-in step, and choosing a password
from a reset or invitation link."""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import Response

from app.accounts import credentials, permissions, two_factor
from app.accounts import service as accounts
from app.accounts.dependencies import SESSION_COOKIE, deliver_mail_after_response
from app.accounts.models import LinkPurpose, User
from app.core.db import SessionDep
from app.core.errors import Invalid, NotFound, Throttled
from app.core.i18n import lazy_gettext as _
from app.core.inputs import Text
from app.core.security import new_token, same
from app.web.account_texts import FIRST_CODE_NOT_RIGHT, password_message
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
# The second step of a log-in: the secret of its challenge (no session exists yet).
LOGIN_STEP_COOKIE = "gsr_login_step"
# The same protection for the forms about passwords, used before anyone is logged in.
PASSWORD_CSRF_COOKIE = "gsr_password_csrf"

THROTTLED = _(
    "Too many failed attempts. For your security, logging in is paused: "
    "wait 15 minutes, then try again."
)
LOGIN_MESSAGES = {
    "password_set": _("Your password is set. Log in with it."),
    "expired": _("That log-in was not finished in time. Please log in again."),
}


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def _form_token(request: Request, cookie: str) -> str:
    return request.cookies.get(cookie) or new_token()


def _set_form_cookie(request: Request, response: Response, cookie: str, token: str, path: str):
    response.set_cookie(
        cookie, token, httponly=True, samesite="strict", secure=_secure(request), path=path
    )


def _form_is_ours(request: Request, form, cookie: str, field: str) -> bool:
    cookie_token = request.cookies.get(cookie, "")
    form_token = text_field(form, field)
    return bool(cookie_token and form_token and same(cookie_token, form_token))


def _login_form(
    request: Request,
    *,
    next_path: str,
    email: str = "",
    errors: dict | None = None,
    status_code: int = 200,
    headers: dict | None = None,
) -> Response:
    token = _form_token(request, LOGIN_CSRF_COOKIE)
    response = render(
        request,
        "login.html",
        {
            "next_path": next_path,
            "email": email,
            "errors": errors or {},
            "login_csrf": token,
            "message": next(
                (text for key, text in LOGIN_MESSAGES.items() if key in request.query_params),
                None,
            ),
        },
        status_code=status_code,
        headers=headers,
    )
    _set_form_cookie(request, response, LOGIN_CSRF_COOKIE, token, "/login")
    return response


def _throttled_headers(exc: Throttled) -> dict:
    return {"Retry-After": str(exc.details.get("retry_after", 900))}


def _client(request: Request) -> str:
    return request.client.host if request.client else ""


@router.get("/login")
def login_page(request: Request, next: Text | None = None) -> Response:
    return _login_form(request, next_path=local_path(next))


@router.post("/login")
def login(request: Request, form: PostedForm, session: SessionDep) -> Response:
    email = text_field(form, "email").strip()
    password = text_field(form, "password")
    next_path = local_path(text_field(form, "next"))
    if not _form_is_ours(request, form, LOGIN_CSRF_COOKIE, "login_csrf"):
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
    required = request.app.state.settings.security.require_two_factor
    try:
        user = accounts.authenticate(
            session,
            email=email,
            password=password,
            client=_client(request),
            require_two_factor=required,
        )
    except Throttled as exc:
        return _login_form(
            request,
            next_path=next_path,
            email=email,
            errors={"form": THROTTLED},
            status_code=429,
            headers=_throttled_headers(exc),
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
    if permissions.needs_second_step(user, required=required):
        return _start_second_step(request, session, user, next_path)
    return _logged_in(request, session, user, redirect(next_path))


def _logged_in(request: Request, session, user: User, response: Response) -> Response:
    """Start the web session of a completed log-in and set its cookie on response."""
    hours = request.app.state.settings.session_hours
    token, _row = accounts.start_session(session, user=user, hours=hours)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=hours * 3600,
        httponly=True,
        samesite="lax",
        secure=_secure(request),
        path="/",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    response.delete_cookie(LOGIN_STEP_COOKIE, path="/login")
    return response


def _start_second_step(request: Request, session, user: User, next_path: str) -> Response:
    if user.two_factor_enabled:
        step, target = "code", "/login/code"
    else:  # required, not set up yet: set it up before anything else
        two_factor.begin_enrolment(session, user=user)
        step, target = "enrol", "/login/two-factor"
    secret, _row = accounts.start_challenge(session, user=user, step=step, next_path=next_path)
    response = redirect(target)
    response.set_cookie(
        LOGIN_STEP_COOKIE,
        secret,
        max_age=int(accounts.CHALLENGE_LIFETIME.total_seconds()),
        httponly=True,
        samesite="strict",
        secure=_secure(request),
        path="/login",
    )
    return response


def _challenge(request: Request, session, step: str):
    found = accounts.open_challenge(session, request.cookies.get(LOGIN_STEP_COOKIE, ""))
    if found is None or found[0].step != step:
        return None
    return found


def _code_form(
    request: Request, *, errors: dict | None = None, status_code: int = 200, headers=None
) -> Response:
    token = _form_token(request, LOGIN_CSRF_COOKIE)
    response = render(
        request,
        "login_code.html",
        {"errors": errors or {}, "login_csrf": token},
        status_code=status_code,
        headers=headers,
    )
    _set_form_cookie(request, response, LOGIN_CSRF_COOKIE, token, "/login")
    return response


def _start_again() -> Response:
    """A second step without a live challenge (expired, used, or none): log in again."""
    return redirect("/login?expired=1")


@router.get("/login/code")
def code_page(request: Request, session: SessionDep) -> Response:
    if _challenge(request, session, "code") is None:
        return _start_again()
    return _code_form(request)


@router.post("/login/code")
def enter_code(request: Request, form: PostedForm, session: SessionDep) -> Response:
    found = _challenge(request, session, "code")
    if found is None:
        return _start_again()
    if not _form_is_ours(request, form, LOGIN_CSRF_COOKIE, "login_csrf"):
        return _code_form(
            request, errors={"form": _("The form expired. Please try again.")}, status_code=403
        )
    challenge, user = found
    try:
        accounts.pass_challenge(
            session,
            challenge=challenge,
            user=user,
            code=text_field(form, "code"),
            client=_client(request),
        )
    except Throttled as exc:
        return _code_form(
            request, errors={"form": THROTTLED}, status_code=429, headers=_throttled_headers(exc)
        )
    except Invalid:
        return _code_form(
            request,
            errors={
                "code": _(
                    "This code is not right, or was used already. Enter the current code "
                    "from your app, or one of your recovery codes."
                )
            },
            status_code=401,
        )
    return _logged_in(request, session, user, redirect(local_path(challenge.next_path)))


def _enrol_form(
    request: Request,
    user: User,
    *,
    errors: dict | None = None,
    status_code: int = 200,
    headers=None,
) -> Response:
    token = _form_token(request, LOGIN_CSRF_COOKIE)
    secret = user.totp_secret or ""
    response = render(
        request,
        "two_factor_setup.html",
        {
            "action": "/login/two-factor",
            "form_field": ("login_csrf", token),
            "required": True,
            "qr": two_factor.qr_svg(
                two_factor.provisioning_uri(user, secret),
                title=str(_("QR code to scan with your authenticator app")),
            ),
            "secret": two_factor.grouped(secret),
            "errors": errors or {},
        },
        status_code=status_code,
        headers=headers,
    )
    _set_form_cookie(request, response, LOGIN_CSRF_COOKIE, token, "/login")
    return response


@router.get("/login/two-factor")
def enrol_page(request: Request, session: SessionDep) -> Response:
    found = _challenge(request, session, "enrol")
    if found is None:
        return _start_again()
    return _enrol_form(request, found[1])


@router.post("/login/two-factor")
def enrol(request: Request, form: PostedForm, session: SessionDep) -> Response:
    found = _challenge(request, session, "enrol")
    if found is None:
        return _start_again()
    challenge, user = found
    if not _form_is_ours(request, form, LOGIN_CSRF_COOKIE, "login_csrf"):
        return _enrol_form(
            request,
            user,
            errors={"form": _("The form expired. Please try again.")},
            status_code=403,
        )
    try:
        codes = accounts.finish_enrolment_challenge(
            session,
            challenge=challenge,
            user=user,
            code=text_field(form, "code"),
            client=_client(request),
        )
    except Throttled as exc:
        return _enrol_form(
            request,
            user,
            errors={"form": THROTTLED},
            status_code=429,
            headers=_throttled_headers(exc),
        )
    except Invalid:
        return _enrol_form(
            request,
            user,
            errors={"code": FIRST_CODE_NOT_RIGHT},
            status_code=422,
        )
    page = render(
        request,
        "recovery_codes.html",
        {"codes": codes, "continue_to": local_path(challenge.next_path), "first": True},
        headers={"Cache-Control": "no-store"},
    )
    return _logged_in(request, session, user, page)


@router.post("/logout")
def logout(request: Request, form: CheckedForm, session: SessionDep) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        accounts.end_session(session, token)
    response = redirect("/login")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# ---------------------------------------------------------------- forgotten passwords


def _password_page(
    request: Request, template: str, context: dict, *, status_code: int = 200
) -> Response:
    token = _form_token(request, PASSWORD_CSRF_COOKIE)
    response = render(
        request,
        template,
        {"errors": {}, **context, "password_csrf": token},
        status_code=status_code,
        headers={"Cache-Control": "no-store"},
    )
    _set_form_cookie(request, response, PASSWORD_CSRF_COOKIE, token, "/")
    return response


EXPIRED_FORM = _("The form expired. Please try again.")


@router.get("/password/forgot")
def forgot_page(request: Request) -> Response:
    return _password_page(request, "password_forgot.html", {"email": "", "sent": False})


@router.post("/password/forgot")
def forgot(
    request: Request, form: PostedForm, session: SessionDep, background: BackgroundTasks
) -> Response:
    email = text_field(form, "email").strip()[:254]
    if not _form_is_ours(request, form, PASSWORD_CSRF_COOKIE, "password_csrf"):
        return _password_page(
            request,
            "password_forgot.html",
            {"email": email, "sent": False, "errors": {"form": EXPIRED_FORM}},
            status_code=403,
        )
    if "@" not in email:
        return _password_page(
            request,
            "password_forgot.html",
            {
                "email": email,
                "sent": False,
                "errors": {"email": _("Enter the e-mail address of your account.")},
            },
            status_code=422,
        )
    accounts_settings = request.app.state.settings
    credentials.request_reset(session, email=email, settings=accounts_settings)
    deliver_mail_after_response(request, background)
    # The same answer whether or not the address has an account.
    return _password_page(request, "password_forgot.html", {"email": email, "sent": True})


def _choose_form(
    request: Request,
    *,
    purpose: str,
    token: str,
    user: User | None,
    errors: dict | None = None,
    status_code: int = 200,
) -> Response:
    return _password_page(
        request,
        "password_choose.html",
        {
            "purpose": purpose,
            "token": token,
            "member": user,
            "invalid": user is None,
            "errors": errors or {},
            "action": credentials.LINK_PATHS[LinkPurpose(purpose)],
        },
        status_code=status_code if user is not None else 404,
    )


def _link_user(session, token: str, purpose: str) -> User | None:
    found = credentials.open_link(session, token) if token else None
    if found is None or found[0].purpose != purpose:
        return None
    return found[1]


@router.get("/password/reset")
def reset_page(request: Request, session: SessionDep, token: Text = "") -> Response:
    purpose = LinkPurpose.RESET.value
    return _choose_form(
        request, purpose=purpose, token=token, user=_link_user(session, token, purpose)
    )


@router.get("/invitation")
def invitation_page(request: Request, session: SessionDep, token: Text = "") -> Response:
    purpose = LinkPurpose.INVITATION.value
    return _choose_form(
        request, purpose=purpose, token=token, user=_link_user(session, token, purpose)
    )


def _choose(request: Request, form, session, purpose: str) -> Response:
    token = text_field(form, "token")
    user = _link_user(session, token, purpose)
    if user is None:
        return _choose_form(request, purpose=purpose, token="", user=None)
    if not _form_is_ours(request, form, PASSWORD_CSRF_COOKIE, "password_csrf"):
        return _choose_form(
            request,
            purpose=purpose,
            token=token,
            user=user,
            errors={"form": EXPIRED_FORM},
            status_code=403,
        )
    password = text_field(form, "password")
    if password != text_field(form, "confirm"):
        return _choose_form(
            request,
            purpose=purpose,
            token=token,
            user=user,
            errors={"confirm": _("The two passwords are not the same.")},
            status_code=422,
        )
    try:
        credentials.redeem_link(session, token=token, password=password)
    except NotFound:
        return _choose_form(request, purpose=purpose, token="", user=None)
    except Invalid as exc:
        return _choose_form(
            request,
            purpose=purpose,
            token=token,
            user=user,
            errors={"password": password_message(exc)},
            status_code=422,
        )
    response = redirect("/login?password_set=1")
    # Whoever was logged in on this browser is logged out: every session of the user ended.
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.post("/password/reset")
def reset(request: Request, form: PostedForm, session: SessionDep) -> Response:
    return _choose(request, form, session, LinkPurpose.RESET.value)


@router.post("/invitation")
def accept_invitation(request: Request, form: PostedForm, session: SessionDep) -> Response:
    return _choose(request, form, session, LinkPurpose.INVITATION.value)
