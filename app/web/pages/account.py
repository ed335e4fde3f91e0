"""My account (personal API tokens) and, for administrators, the users."""

from __future__ import annotations

from babel import Locale
from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select

from app.accounts import permissions
from app.accounts import service as accounts
from app.accounts.models import COUNTRY_ROLES, Role, User
from app.core import i18n
from app.core.db import SessionDep
from app.core.errors import DomainError, Forbidden, Invalid
from app.core.i18n import lazy_gettext as _
from app.core.inputs import Id
from app.countries.models import Country
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


# ---------------------------------------------------------------- API tokens

_MESSAGES = {"revoked": _("Token revoked."), "language": _("Language saved.")}


def _account(
    request: Request,
    session,
    user: User,
    *,
    issued: str | None = None,
    errors: dict | None = None,
    name: str = "",
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "account.html",
        {
            "tokens": accounts.list_api_tokens(session, user=user),
            "issued": issued,
            "errors": errors or {},
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
            "form": form or {"role": "contributor"},
            "errors": errors or {},
            "row_errors": row_errors or {},
            "message": _("Saved.") if request.query_params.get("saved") else None,
        },
        status_code=status_code,
    )


@router.get("/admin/users")
def users(request: Request, user: PageUser, session: SessionDep) -> Response:
    return _users(request, session, user)


@router.post("/admin/users")
def create_user(
    request: Request, user: PageUser, form: CheckedForm, session: SessionDep
) -> Response:
    values = {
        "email": text_field(form, "email").strip(),
        "full_name": text_field(form, "full_name").strip(),
        "role": text_field(form, "role"),
        "country_code": text_field(form, "country_code").strip().upper() or None,
    }
    password = text_field(form, "password")
    try:
        accounts.create_user(session, actor=user, password=password or None, **values)
    except Invalid as exc:
        field = exc.field or "form"
        return _users(
            request,
            session,
            user,
            form=values,
            errors={field: USER_MESSAGES.get(field, exc.message)},
            status_code=422,
        )
    return redirect("/admin/users?saved=1")


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
