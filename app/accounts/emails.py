"""The accounts' e-mails, in the recipient's language: links to the product, never data."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from app.accounts.models import User
from app.core import i18n
from app.core.i18n import gettext as _
from app.mail import service as mail


@contextmanager
def _language_of(user: User) -> Iterator[str]:
    """Write in the user's chosen language (English when they follow their browser's)."""
    locale = i18n.SOURCE_LOCALE
    if user.locale and user.locale in i18n.available_locales():
        locale = user.locale
    token = i18n.activate(locale)
    try:
        yield locale
    finally:
        i18n.reset(token)


def _send(session: Session, user: User, kind: str, subject: str, paragraphs, link, label, lang):
    text, html = mail.render_bodies(paragraphs, link=link, link_label=label, lang=lang)
    mail.enqueue(session, user.email, subject, text, html_body=html, kind=kind)


def send_invitation(session: Session, *, user: User, link: str, days: int) -> None:
    with _language_of(user) as lang:
        _send(
            session,
            user,
            "invitation",
            _("Your account for the GSR self-assessment"),
            [
                _("Hello %(name)s,", name=user.full_name),
                _(
                    "An account has been made for you in the self-assessment against the "
                    "Global Strategic Response. Choose your password with the link above; it "
                    "works once and for %(days)s days.",
                    days=days,
                ),
                _("If you did not expect this message, you can ignore it."),
            ],
            link,
            _("Choose your password"),
            lang,
        )


def send_password_reset(session: Session, *, user: User, link: str, minutes: int) -> None:
    with _language_of(user) as lang:
        _send(
            session,
            user,
            "password_reset",
            _("Reset your password for the GSR self-assessment"),
            [
                _("Hello %(name)s,", name=user.full_name),
                _(
                    "Someone asked to reset the password of your account. Choose a new password "
                    "with the link above; it works once and for %(minutes)s minutes. All your "
                    "log-ins will be ended.",
                    minutes=minutes,
                ),
                _(
                    "If you did not ask for this, ignore this message: your password stays "
                    "as it is."
                ),
            ],
            link,
            _("Choose a new password"),
            lang,
        )


def send_password_changed(session: Session, *, user: User, link: str) -> None:
    with _language_of(user) as lang:
        _send(
            session,
            user,
            "password_changed",
            _("Your password was changed"),
            [
                _("Hello %(name)s,", name=user.full_name),
                _(
                    "The password of your account for the GSR self-assessment was just "
                    "changed, and your other log-ins were ended."
                ),
                _(
                    "If this was not you, ask your administrator at once to reset your "
                    "password, or use the link above to ask for a reset link yourself."
                ),
            ],
            link,
            _("Reset my password"),
            lang,
        )
