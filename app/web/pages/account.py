"""My account (personal API tokens) and, for administrators, the users."""

from __future__ import annotations

from babel import Locale
from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import Response
from sqlalchemy import select

from app.accounts import credentials, permissions, two_factor
from app.accounts import service as accounts
from app.accounts.dependencies import SESSION_COOKIE, deliver_mail_after_response
from app.accounts.models import COUNTRY_ROLES, Role, User
from app.core import i18n
from app.core.db import SessionDep
from app.core.errors import DomainError, Forbidden, Invalid, Throttled
from app.core.i18n import lazy_gettext as _
from app.core.inputs import Id
from app.countries.models import Country
from app.web.account_texts import FIRST_CODE_NOT_RIGHT, password_message
from app.web.pages.common import CheckedForm, PageUser, redirect, render, text_field

router = APIRouter()

USER_MESSAGES = {
    "email": _("Enter a valid e-mail address that no other user has."),
    "full_name": _("Enter a name of 1 to 200 characters."),
    "role": _("Choose a role from the list."),
    "country_code": _(
        "A national role needs a valid three-letter country code; alliance roles have none."
    ),
    "password": _("The password needs at least 10 characters."),
}
THROTTLED = _("Too many failed attempts: wait 15 minutes, then try again.")


# ---------------------------------------------------------------- API tokens

_MESSAGES = {
    "revoked": _("Token revoked."),
    "language": _("Language saved."),
    "password": _("Password changed. Your other log-ins were ended; your API tokens still work."),
}


def _account(
    request: Request,
    session,
    user: User,
    *,
    issued: str | None = None,
    errors: dict | None = None,
    password_errors: dict | None = None,
    name: str = "",
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "account.html",
        {
            "tokens": accounts.list_api_tokens(session, user=user),
            "two_factor_on": user.two_factor_enabled,
            "issued": issued,
            "mail_configured": bool(request.app.state.settings.mail.host),
            "errors": errors or {},
            "password_errors": password_errors or {},
            "name": name,
            "message": _MESSAGES.get(next(iter(request.query_params), "")),
            "languages": [
                (code, Locale.parse(code).get_display_name(code).capitalize())
                for code in i18n.available_locales()
            ],
        },
        status_code=status_code,
        headers={"Cache-Control": "no-store"},
    )


@router.get("/account")
def account(request: Request, user: PageUser, session: SessionDep) -> Response:
    return _account(request, session, user)


@router.post("/account/tokens")
def create_token(
    request: Request, user: PageUser, form: CheckedForm, session: SessionDep
) -> Response:
    name = text_field(form, "name")
    try:
        secret, _row = accounts.issue_api_token(session, user=user, name=name)
    except Invalid:
        return _account(
            request,
            session,
            user,
            errors={"name": _("Give the token a name of 1 to 100 characters.")},
            name=name,
            status_code=422,
        )
    # The secret is shown in this answer only; it is never stored or shown again.
    return _account(request, session, user, issued=secret)


@router.post("/account/tokens/{token_id}/revoke")
def revoke_token(user: PageUser, form: CheckedForm, session: SessionDep, token_id: Id) -> Response:
    accounts.revoke_api_token(session, user=user, token_id=token_id)
    return redirect("/account?revoked=1")


@router.post("/account/language")
def set_language(user: PageUser, form: CheckedForm, session: SessionDep) -> Response:
    """Choose the interface language; empty means follow the browser."""
    chosen = text_field(form, "locale") or None
    accounts.set_locale(session, user=user, locale=chosen, allowed=i18n.available_locales())
    return redirect("/account?language=1")


def _client(request: Request) -> str:
    return request.client.host if request.client else ""


def _current_session_id(request: Request, session) -> int | None:
    found = accounts.session_user(session, request.cookies.get(SESSION_COOKIE, ""))
    return found[1].id if found else None


@router.post("/account/password")
def change_password(
    request: Request,
    user: PageUser,
    form: CheckedForm,
    session: SessionDep,
    background: BackgroundTasks,
) -> Response:
    """Change one's password: the current one is required; other log-ins end."""
    new = text_field(form, "new_password")
    if new != text_field(form, "confirm"):
        errors = {"confirm": _("The two new passwords are not the same.")}
    else:
        try:
            accounts.change_password(
                session,
                user=user,
                current=text_field(form, "current_password"),
                new=new,
                settings=request.app.state.settings,
                keep_session_id=_current_session_id(request, session),
                client=_client(request),
            )
        except Throttled:
            errors = {"current_password": THROTTLED}
        except Invalid as exc:
            if exc.field == "current_password":
                errors = {"current_password": _("Your current password is not right.")}
            else:
                errors = {"new_password": password_message(exc)}
        else:
            deliver_mail_after_response(request, background)
            return redirect("/account?password=1#password")
    return _account(request, session, user, password_errors=errors, status_code=422)


# ---------------------------------------------------------------- two-factor log-in

_TWO_FACTOR_MESSAGES = {
    "off": _("Two-factor log-in is off."),
}


def _two_factor_page(
    request: Request,
    session,
    user: User,
    *,
    errors: dict | None = None,
    status_code: int = 200,
) -> Response:
    required = request.app.state.settings.security.require_two_factor
    return render(
        request,
        "account_two_factor.html",
        {
            "enabled": user.two_factor_enabled,
            "must_enrol": permissions.must_enrol(user, required=required),
            "required_for_role": permissions.must_use_two_factor(user, required=required),
            "codes_left": two_factor.recovery_codes_left(session, user=user),
            "errors": errors or {},
            "message": _TWO_FACTOR_MESSAGES.get(next(iter(request.query_params), "")),
        },
        status_code=status_code,
        headers={"Cache-Control": "no-store"},
    )


def _setup_page(request: Request, user: User, *, errors: dict | None = None, status_code=200):
    required = request.app.state.settings.security.require_two_factor
    secret = user.totp_secret or ""
    return render(
        request,
        "two_factor_setup.html",
        {
            "action": "/account/two-factor/confirm",
            "form_field": ("csrf_token", getattr(request.state, "csrf_token", "")),
            "required": permissions.must_enrol(user, required=required),
            "qr": two_factor.qr_svg(
                two_factor.provisioning_uri(user, secret),
                title=str(_("QR code to scan with your authenticator app")),
            ),
            "secret": two_factor.grouped(secret),
            "errors": errors or {},
        },
        status_code=status_code,
        headers={"Cache-Control": "no-store"},
    )


@router.get("/account/two-factor")
def two_factor_page(request: Request, user: PageUser, session: SessionDep) -> Response:
    return _two_factor_page(request, session, user)


@router.post("/account/two-factor/start")
def start_two_factor(request: Request, user: PageUser, form: CheckedForm, session: SessionDep):
    """A new secret, shown as a QR code until the user confirms it with a first code."""
    if user.two_factor_enabled:
        return redirect("/account/two-factor")
    two_factor.begin_enrolment(session, user=user)
    return _setup_page(request, user)


@router.post("/account/two-factor/confirm")
def confirm_two_factor(
    request: Request, user: PageUser, form: CheckedForm, session: SessionDep
) -> Response:
    if user.two_factor_enabled or not user.totp_secret:
        return redirect("/account/two-factor")
    try:
        codes = accounts.confirm_two_factor(
            session, user=user, code=text_field(form, "code"), client=_client(request)
        )
    except Throttled:
        return _setup_page(request, user, errors={"form": THROTTLED}, status_code=429)
    except Invalid:
        return _setup_page(
            request,
            user,
            errors={"code": FIRST_CODE_NOT_RIGHT},
            status_code=422,
        )
    return render(
        request,
        "recovery_codes.html",
        {"codes": codes, "continue_to": "/account/two-factor", "first": True},
        headers={"Cache-Control": "no-store"},
    )


@router.post("/account/two-factor/disable")
def disable_two_factor(
    request: Request, user: PageUser, form: CheckedForm, session: SessionDep
) -> Response:
    """Turn two-factor log-in off: the password and a code are both required."""
    try:
        accounts.disable_two_factor(
            session,
            user=user,
            password=text_field(form, "password"),
            code=text_field(form, "code"),
            client=_client(request),
            required=request.app.state.settings.security.require_two_factor,
        )
    except Throttled:
        return _two_factor_page(
            request, session, user, errors={"disable": THROTTLED}, status_code=429
        )
    except Invalid as exc:
        message = (
            _("Your password is not right.")
            if exc.field == "current_password"
            else _("The code is not right, or was used already.")
        )
        return _two_factor_page(
            request, session, user, errors={"disable": message}, status_code=422
        )
    return redirect("/account/two-factor?off=1")


@router.post("/account/two-factor/recovery-codes")
def renew_recovery_codes(
    request: Request, user: PageUser, form: CheckedForm, session: SessionDep
) -> Response:
    """New recovery codes (the old ones stop working): the password is required."""
    try:
        codes = accounts.regenerate_recovery_codes(
            session, user=user, password=text_field(form, "password"), client=_client(request)
        )
    except Throttled:
        return _two_factor_page(
            request, session, user, errors={"renew": THROTTLED}, status_code=429
        )
    except Invalid:
        return _two_factor_page(
            request,
            session,
            user,
            errors={"renew": _("Your password is not right.")},
            status_code=422,
        )
    return render(
        request,
        "recovery_codes.html",
        {"codes": codes, "continue_to": "/account/two-factor", "first": False},
        headers={"Cache-Control": "no-store"},
    )


# ---------------------------------------------------------------- users (administrators)

# The rules are the accounts service's; these are the page's words for its refusals.
RULE_MESSAGES = {
    "own_account": _("You cannot disable your own account."),
    "last_admin": _(
        "This is the last active administrator: make another user an administrator first."
    ),
}


def _row_message(exc: DomainError) -> object:
    rule = exc.details.get("rule")
    if rule in RULE_MESSAGES:
        return RULE_MESSAGES[rule]
    return USER_MESSAGES.get(exc.field or "", exc.message)


def _users(
    request: Request,
    session,
    admin: User,
    *,
    form: dict | None = None,
    errors: dict | None = None,
    row_errors: dict | None = None,
    issued: tuple | None = None,
    status_code: int = 200,
) -> Response:
    users = accounts.list_users(session, actor=admin)
    codes = dict(
        session.execute(
            select(Country.id, Country.code).where(
                Country.id.in_({u.country_id for u in users if u.country_id})
            )
        ).all()
    )
    admins = accounts.active_admins(session)
    return render(
        request,
        "users.html",
        {
            "users": users,
            "codes": codes,
            # The same predicates the service refuses with, so no button leads to a refusal.
            "can_disable": {u.id: permissions.can_disable(admin, u) for u in users},
            "can_leave_admin": {
                u.id: permissions.can_leave_admin(u, active_admins=admins) for u in users
            },
            "roles": [role.value for role in Role],
            "country_roles": sorted(role.value for role in COUNTRY_ROLES),
            "form": form or {"role": "contributor", "password_choice": "invite"},
            "issued": issued,
            "mail_configured": bool(request.app.state.settings.mail.host),
            "errors": errors or {},
            "row_errors": row_errors or {},
            "message": _("Saved.") if request.query_params.get("saved") else None,
        },
        status_code=status_code,
        headers={"Cache-Control": "no-store"},
    )


@router.get("/admin/users")
def users(request: Request, user: PageUser, session: SessionDep) -> Response:
    return _users(request, session, user)


@router.post("/admin/users")
def create_user(
    request: Request,
    user: PageUser,
    form: CheckedForm,
    session: SessionDep,
    background: BackgroundTasks,
) -> Response:
    """Add a user: invited by e-mail to choose their password, or given one (for scripts)."""
    values = {
        "email": text_field(form, "email").strip(),
        "full_name": text_field(form, "full_name").strip(),
        "role": text_field(form, "role"),
        "country_code": text_field(form, "country_code").strip().upper() or None,
    }
    choice = text_field(form, "password_choice")
    # A form without the choice (a script's) sets the password it gives, if any.
    set_now = choice == "set" or (not choice and bool(text_field(form, "password")))
    password = text_field(form, "password") if set_now else ""
    try:
        if set_now and not password:
            raise Invalid("enter the initial password, or send an invitation", field="password")
        member = accounts.create_user(session, actor=user, password=password or None, **values)
    except Invalid as exc:
        field = exc.field or "form"
        message = password_message(exc) if field == "password" and password else None
        return _users(
            request,
            session,
            user,
            form={**values, "password_choice": "set" if set_now else "invite"},
            errors={field: message or USER_MESSAGES.get(field, exc.message)},
            status_code=422,
        )
    if set_now:
        return redirect("/admin/users?saved=1")
    link = credentials.invite(session, user=member, settings=request.app.state.settings, actor=user)
    deliver_mail_after_response(request, background)
    return _users(request, session, user, issued=(member, link.url, "invitation"))


@router.post("/admin/users/{user_id}/password-link")
def send_password_link(
    request: Request,
    user: PageUser,
    form: CheckedForm,
    session: SessionDep,
    background: BackgroundTasks,
    user_id: Id,
) -> Response:
    """E-mail a user a link to choose a password: a reset, or the invitation again for
    someone who never chose one. The link is also shown, to pass on another way."""
    member = accounts.get_user(session, user_id, actor=user)
    settings = request.app.state.settings
    try:
        if member.password_hash:
            link, kind = (
                credentials.send_reset(session, user=member, settings=settings, actor=user),
                "reset",
            )
        else:
            link, kind = (
                credentials.invite(session, user=member, settings=settings, actor=user),
                "invitation",
            )
    except Invalid:
        return _users(
            request,
            session,
            user,
            row_errors={user_id: _("Enable this account first.")},
            status_code=422,
        )
    deliver_mail_after_response(request, background)
    return _users(request, session, user, issued=(member, link.url, kind))


@router.post("/admin/users/{user_id}/two-factor-off")
def turn_off_two_factor(
    request: Request, user: PageUser, form: CheckedForm, session: SessionDep, user_id: Id
) -> Response:
    """For a user who lost their phone and their recovery codes: log-in asks for the
    password only (and, where the role requires it, for setting it up again)."""
    member = accounts.get_user(session, user_id, actor=user)
    two_factor.turn_off(session, user=member, actor=user)
    return redirect(f"/admin/users?saved=1#user-{user_id}")


@router.post("/admin/users/{user_id}/role")
def change_role(
    request: Request, user: PageUser, form: CheckedForm, session: SessionDep, user_id: Id
) -> Response:
    member = accounts.get_user(session, user_id, actor=user)
    try:
        accounts.set_role(
            session,
            user=member,
            role=text_field(form, "role"),
            country_code=text_field(form, "country_code").strip().upper() or None,
            actor=user,
        )
    except (Invalid, Forbidden) as exc:
        if exc.field is None:  # not a reason about this row: the ordinary refusal page
            raise
        session.rollback()
        return _users(
            request,
            session,
            user,
            row_errors={user_id: _row_message(exc)},
            status_code=exc.status_code,
        )
    return redirect(f"/admin/users?saved=1#user-{user_id}")


@router.post("/admin/users/{user_id}/active")
def set_active(
    request: Request, user: PageUser, form: CheckedForm, session: SessionDep, user_id: Id
) -> Response:
    member = accounts.get_user(session, user_id, actor=user)
    try:
        accounts.set_active(
            session, user=member, active=text_field(form, "active") == "1", actor=user
        )
    except Forbidden as exc:
        if exc.field is None:
            raise
        return _users(
            request,
            session,
            user,
            row_errors={user_id: _row_message(exc)},
            status_code=exc.status_code,
        )
    return redirect(f"/admin/users?saved=1#user-{user_id}")
