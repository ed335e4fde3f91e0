"""The password policy: one check for every way a password is chosen.

Length alone lets through `password12` or the user's own e-mail address, so the check also
asks zxcvbn (a strength estimator that knows common passwords, names, keyboard patterns,
dates and l33t substitutions) how guessable the password is, with what we know of the user
as extra words an attacker would try first.
"""

from __future__ import annotations

import re

from zxcvbn import zxcvbn

from app.core.errors import Invalid
from app.core.security import MIN_PASSWORD_LENGTH

MAX_PASSWORD_LENGTH = 200
# zxcvbn's scale: 0 too guessable ... 4 very unguessable. 3 resists an offline attack on a
# slow hash for a long time ("safely unguessable" in zxcvbn's terms).
MIN_SCORE = 3
# zxcvbn's matching grows quickly with length; a longer tail adds strength, never removes it.
_ANALYSED_LENGTH = 100
# Words of the product itself, which an attacker of this installation would try first.
_PRODUCT_WORDS = ("gsr", "gsr-assess", "weprotect", "assessment", "strategic", "response")


def user_words(email: str = "", full_name: str = "") -> list[str]:
    """What an attacker knows of a user: their address, its parts and their names."""
    email = email.strip().lower()
    local, _, domain = email.partition("@")
    words = [email, local, domain, *re.split(r"[._+\-]+", local), *domain.split(".")]
    words += [full_name.strip().lower(), *full_name.lower().split()]
    return [word for word in dict.fromkeys(words) if len(word) >= 3]


def check_password(password: str, *, email: str = "", full_name: str = "") -> None:
    """Refuse a password that is short, overlong or easy to guess (Invalid on 'password').

    The refusal carries `rule` ("too_short", "too_long" or "guessable") for the pages' own
    words; the message never repeats the password.
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Invalid(
            f"the password must have at least {MIN_PASSWORD_LENGTH} characters",
            field="password",
            rule="too_short",
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise Invalid(
            f"the password must have at most {MAX_PASSWORD_LENGTH} characters",
            field="password",
            rule="too_long",
        )
    inputs = [*user_words(email, full_name), *_PRODUCT_WORDS]
    result = zxcvbn(password[:_ANALYSED_LENGTH], user_inputs=inputs)
    personal = sum(
        len(match["token"])
        for match in result["sequence"]
        if match.get("dictionary_name") == "user_inputs"
    )
    # Mostly made of the user's own address or name: guessable whatever the score says.
    if result["score"] < MIN_SCORE or personal * 2 >= len(password[:_ANALYSED_LENGTH]):
        raise Invalid(
            "this password is too easy to guess: it is a common password, a pattern, or "
            "close to your name or e-mail address; choose a longer phrase of several "
            "unrelated words",
            field="password",
            rule="guessable",
        )
