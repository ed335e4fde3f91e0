"""What every page shares: the template environment, the page user, forms with CSRF checks,
labels for stored codes, and the error pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from babel.dates import format_date, format_datetime
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import ValidationError
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException

from app.accounts import permissions as account_permissions
from app.accounts.dependencies import CurrentUser, verify_csrf
from app.accounts.models import User
from app.comparisons import permissions as comparison_permissions
from app.core import i18n, security
from app.core.db import SessionDep
from app.core.errors import DomainError, Forbidden, Invalid, NotFound, Throttled
from app.core.i18n import lazy_gettext as _
from app.core.inputs import check_form
from app.countries.models import Country
from app.web.assets import static_url

WEB_DIR = Path(__file__).resolve().parents[1]
TEMPLATES_DIR = WEB_DIR / "templates"
STATIC_DIR = WEB_DIR / "static"

ROLE_LABELS = {
    "admin": _("Administrator"),
    "secretariat": _("Alliance secretariat"),
    "coordinator": _("National coordinator"),
    "contributor": _("Contributor"),
    "viewer": _("Viewer"),
}
STATUS_LABELS = {
    "draft": _("Draft"),
    "submitted": _("Submitted"),
    "returned": _("Returned for changes"),
    "validated": _("Validated"),
}
RESPONSE_LABELS = {
    "level": _("Maturity level"),
    "not_applicable": _("Not applicable"),
    "unknown": _("Unknown"),
}
CONFIDENCE_LABELS = {
    "self_reported": _("Self-reported"),
    "documented": _("Documented"),
    "verified": _("Independently verified"),
}
FIELD_LABELS = {
    "response": _("Answer"),
    "level": _("Maturity level"),
    "justification": _("Justification"),
    "evidence_notes": _("Evidence notes"),
    "evidence_links": _("Evidence links"),
    "confidence": _("Confidence"),
}


def is_web_link(value: object) -> bool:
    """Only http(s) links with a host become clickable; anything else stays text."""
    if not isinstance(value, str):
        return False
    try:
        parts = urlsplit(value.strip())
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _formatting_locale(locale: str) -> str:
    """English pages use British conventions (1 May 2031); other languages their own."""
    return "en_GB" if locale == "en" else locale


def _format_datetime(value: datetime | None, locale: str) -> str:
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return format_datetime(
        value, "d MMM y, HH:mm 'UTC'", tzinfo=UTC, locale=_formatting_locale(locale)
    )


def _format_date(value: date | None, locale: str) -> str:
    return format_date(value, "medium", locale=_formatting_locale(locale)) if value else ""


def _environment() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(["html"], default_for_string=True, default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    i18n.install(environment)
    environment.globals.update(
        static_url=static_url,
        is_web_link=is_web_link,
        ROLE_LABELS=ROLE_LABELS,
        STATUS_LABELS=STATUS_LABELS,
        RESPONSE_LABELS=RESPONSE_LABELS,
        CONFIDENCE_LABELS=CONFIDENCE_LABELS,
        FIELD_LABELS=FIELD_LABELS,
    )
    return environment


templates = _environment()


# ---------------------------------------------------------------- who is asking


@dataclass(frozen=True)
class Viewer:
    """What the page header shows of the user: a copy that outlives the database session,
    so that error pages rendered after a rollback can still show it."""

    id: int
    email: str
    full_name: str
    role: str
    locale: str | None
    country_code: str | None
    country_name: str | None
    # Which sections the header links to, decided by the predicates the services refuse with.
    can_manage_users: bool = False
    can_compare_countries: bool = False


def page_user(request: Request, user: CurrentUser, session: SessionDep) -> User:
    """The logged-in user of a page, remembered with their country for the page header."""
    country = session.get(Country, user.country_id) if user.country_id else None
    request.state.web_user = Viewer(
        id=user.id,
        email=user.email,
        full_name=user.full_name,
        role=user.role,
        locale=user.locale,
        country_code=country.code if country else None,
        country_name=country.name if country else None,
        can_manage_users=account_permissions.can_manage_users(user),
        can_compare_countries=comparison_permissions.can_compare_countries(user),
    )
    return user


PageUser = Annotated[User, Depends(page_user)]


async def posted_form(request: Request) -> FormData:
    """The posted form, read before a page function runs in the thread pool; refused if
    any field holds what cannot be stored."""
    form = await request.form()
    check_form(form.multi_items())
    return form


PostedForm = Annotated[FormData, Depends(posted_form)]


async def checked_form(request: Request, user: PageUser) -> FormData:
    """The posted form, refused unless it carries this session's CSRF token."""
    form = await request.form()
    token = form.get("csrf_token")
    verify_csrf(request, token if isinstance(token, str) else None)
    check_form(form.multi_items())
    return form


CheckedForm = Annotated[FormData, Depends(checked_form)]


def text_field(form: FormData, name: str, default: str = "") -> str:
    value = form.get(name, default)
    return value if isinstance(value, str) else default


# ---------------------------------------------------------------- rendering


def locale_of(request: Request) -> str:
    user = getattr(request.state, "web_user", None)
    return i18n.negotiate(request, user.locale if user is not None else None)


def _masked(token: str | None) -> str | None:
    return security.mask_token(token) if token else None


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """Render a page in the reader's language."""
    locale = locale_of(request)
    settings = request.app.state.settings
    values = {
        "request": request,
        "user": getattr(request.state, "web_user", None),
        # Masked afresh for each page, so compression cannot reveal it (security.mask_token).
        "csrf_token": _masked(getattr(request.state, "csrf_token", None)),
        "demo_mode": settings.demo_mode,
        "locale": locale,
        "direction": i18n.direction(locale),
        "format_datetime": lambda value: _format_datetime(value, locale),
        "format_date": lambda value: _format_date(value, locale),
        "message": None,
        **(context or {}),
    }
    token = i18n.activate(locale)
    try:
        body = templates.get_template(template).render(values)
    finally:
        i18n.reset(token)
    return HTMLResponse(body, status_code=status_code, headers=headers)


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def local_path(target: str | None, default: str = "/") -> str:
    """target if it is a path on this site, else default: never send anyone elsewhere."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return default
    if any(ord(ch) < 32 or ch == "\\" for ch in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target


def render_error(
    request: Request, exc: Exception, fields: list[dict] | None = None
) -> HTMLResponse:
    """The error page for exc. A 404 never says whether the thing exists elsewhere."""
    status = getattr(exc, "status_code", 422 if fields is not None else 500)
    headers = {}
    if isinstance(exc, NotFound) or status == 404:
        title, detail = (
            _("Page not found"),
            _(
                "There is nothing at this address, or you do not have access to it. "
                "Check the address, or go back to your dashboard."
            ),
        )
    elif isinstance(exc, Forbidden) or status == 403:
        title = _("You cannot do this")
        detail = _(
            "Your role does not allow this action here, the assessment is read-only, or "
            "the form expired. Reload the page and try again."
        )
    elif isinstance(exc, Throttled):
        title, detail = _("Too many attempts"), _("Wait a few minutes and try again.")
        if "retry_after" in exc.details:
            headers["Retry-After"] = str(exc.details["retry_after"])
    elif fields is not None or isinstance(exc, Invalid) or status in (400, 413, 415, 422):
        title, detail = _("Some of what you sent could not be accepted"), None
    elif status == 405:
        title, detail = _("This address does not accept that request"), None
    else:
        title, detail = _("Something went wrong"), None
    reason = exc.message if isinstance(exc, DomainError) and not isinstance(exc, NotFound) else ""
    if isinstance(exc, HTTPException) and status in (400, 413, 415) and isinstance(exc.detail, str):
        reason = exc.detail  # the body parser's own words, e.g. a field over the size limit
    if fields is None and isinstance(exc, Invalid) and exc.field:
        fields = [{"field": exc.field, "reason": exc.message}]
        reason = ""
    return render(
        request,
        "error.html",
        {
            "title": title,
            "detail": detail,
            "reason": reason,
            "fields": fields or [],
            "status": status,
        },
        status_code=status,
        headers=headers,
    )


def field_errors(
    exc: ValidationError, messages: dict[str, object] | None = None
) -> dict[str, object]:
    """One message per field from a pydantic error: ours where given, else the rule's own."""
    messages = messages or {}
    errors: dict[str, object] = {}
    for error in exc.errors():
        location = [str(part) for part in error.get("loc", ())]
        message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
        field = location[0] if location else ""
        head, sep, rest = message.partition(": ")
        if not field and sep and head.isidentifier():
            field, message = head, rest
        field = field or "form"
        errors.setdefault(field, messages.get(field, message))
    return errors
