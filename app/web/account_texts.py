"""The words the log-in and account pages share for the accounts service's refusals."""

from __future__ import annotations

from app.core.errors import DomainError
from app.core.i18n import lazy_gettext as _

PASSWORD_RULES = {
    "too_short": _("The password needs at least 10 characters."),
    "too_long": _("The password can have at most 200 characters."),
    "guessable": _(
        "This password is too easy to guess: it is a common password, a pattern, or close "
        "to your name or e-mail address. Choose a longer phrase of several unrelated words."
    ),
}
# The first code of an enrolment: the most common cause of a refusal is a phone's clock.
FIRST_CODE_NOT_RIGHT = _(
    "This code is not right. Enter the six digits your app shows now; if it keeps failing, "
    "check that your phone's clock is set automatically."
)


def password_message(exc: DomainError) -> object:
    """The page's words for the password policy's refusal."""
    return PASSWORD_RULES.get(exc.details.get("rule", ""), exc.message)
