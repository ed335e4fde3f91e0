"""Two-factor log-in: time-based codes from an authenticator app (RFC 6238), recovery codes.

A code is accepted within one 30-second step either side of now (clocks drift), and never
twice: the last accepted step is stored and only a later one passes. Recovery codes are
random, shown once, stored as hashes and spent on use.
"""

from __future__ import annotations

import hmac
import secrets
import time

import pyotp
import segno
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from app.accounts.models import RecoveryCode, User
from app.audit import service as audit
from app.core.db import utcnow
from app.core.errors import Invalid
from app.core.security import token_hash

ISSUER = "GSR self-assessment"
STEP_SECONDS = 30
# Steps either side of now whose codes are still accepted.
DRIFT_STEPS = 1
RECOVERY_CODES = 10
# No 0/o, 1/l/i: the codes are copied by hand from paper.
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


def new_secret() -> str:
    """A shared secret for an authenticator app: 160 random bits, in base32."""
    return pyotp.random_base32(32)


def provisioning_uri(user: User, secret: str) -> str:
    """The otpauth:// address an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def qr_svg(uri: str, *, title: str) -> str:
    """The QR code of uri as an inline SVG element (no image file, nothing fetched)."""
    return segno.make(uri, error="m").svg_inline(scale=5, title=title, light="#fff", dark="#000")


def grouped(secret: str) -> str:
    """The secret in groups of four characters, for typing it in by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def _normalise(code: str) -> str:
    return "".join(ch for ch in code.lower() if ch.isalnum())


def _accept_step(session: Session, user: User, step: int) -> bool:
    """Record step as used, unless it or a later one was used already (atomic)."""
    won = session.execute(
        update(User)
        .where(User.id == user.id)
        .where((User.totp_last_step.is_(None)) | (User.totp_last_step < step))
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.expire(user, ["totp_last_step"])
    return bool(won)


def _authenticator_code_ok(session: Session, user: User, secret: str, code: str) -> bool:
    totp = pyotp.TOTP(secret)
    now_step = int(time.time()) // STEP_SECONDS
    for step in range(now_step - DRIFT_STEPS, now_step + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.at(step * STEP_SECONDS), code):
            return _accept_step(session, user, step)
    return False


def _recovery_hash(user: User, code: str) -> str:
    return token_hash(f"{user.id}:{code}")


def _recovery_code_ok(session: Session, user: User, code: str) -> bool:
    spent = session.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == _recovery_hash(user, code),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=utcnow())
    ).rowcount
    if spent:
        audit.record(
            session,
            actor=user,
            action="user.recovery_code_used",
            country_id=user.country_id,
            target=("user", user.id),
        )
    return bool(spent)


def verify_code(session: Session, user: User, code: str, *, recovery: bool = True) -> bool:
    """Whether code is a fresh authenticator code of user's, or (if allowed) an unused
    recovery code; a code that passes is used up."""
    secret = user.totp_secret
    code = _normalise(code)
    if not secret or not code:
        return False
    if len(code) == 6 and code.isdigit():
        return _authenticator_code_ok(session, user, secret, code)
    return recovery and user.two_factor_enabled and _recovery_code_ok(session, user, code)


def begin_enrolment(session: Session, *, user: User) -> str:
    """A new secret for user to put into their app; log-in asks for codes once confirmed."""
    if user.two_factor_enabled:
        raise Invalid("two-factor log-in is on already", field="code")
    user.totp_secret = new_secret()
    user.totp_last_step = None
    session.flush()
    return user.totp_secret


def new_recovery_codes(session: Session, *, user: User) -> list[str]:
    """Replace user's recovery codes by new ones; returns them (shown this once)."""
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
        session.add(RecoveryCode(user_id=user.id, code_hash=_recovery_hash(user, raw)))
    session.flush()
    return codes


def confirm_enrolment(session: Session, *, user: User, code: str) -> list[str]:
    """Turn two-factor log-in on with a first code from the app; returns recovery codes."""
    if user.two_factor_enabled or not user.totp_secret:
        raise Invalid("start setting up two-factor log-in first", field="code")
    if not verify_code(session, user, code, recovery=False):
        raise Invalid("the code is not right: check your app's clock and try again", field="code")
    user.totp_enabled_at = utcnow()
    session.flush()
    audit.record(
        session,
        actor=user,
        action="user.two_factor_enabled",
        country_id=user.country_id,
        target=("user", user.id),
    )
    return new_recovery_codes(session, user=user)


def turn_off(session: Session, *, user: User, actor: User | None = None) -> None:
    """Forget user's secret and recovery codes: log-in asks for the password only."""
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    session.flush()
    audit.record(
        session,
        actor=actor or user,
        action="user.two_factor_disabled",
        country_id=user.country_id,
        target=("user", user.id),
    )


def recovery_codes_left(session: Session, *, user: User) -> int:
    return (
        session.scalar(
            select(func.count()).where(
                RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)
            )
        )
        or 0
    )
