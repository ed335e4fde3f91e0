"""Accounts: users and roles, log-in with throttling, web sessions and API tokens."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import bindparam, delete, func, or_, select, update
from sqlalchemy.orm import Session

from app.accounts import credentials, permissions, two_factor
from app.accounts.models import (
    COUNTRY_ROLES,
    AccountLink,
    ApiToken,
    LoginAttempt,
    LoginChallenge,
    Role,
    User,
    UserSession,
)
from app.accounts.passwords import check_password
from app.audit import service as audit
from app.core.config import Settings
from app.core.db import utcnow
from app.core.errors import Forbidden, Invalid, NotFound, Throttled
from app.core.security import hash_password, new_token, token_hash, verify_password
from app.countries import service as country_service

THROTTLE_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_ACCOUNT = 5
MAX_FAILURES_PER_CLIENT = 20
API_TOKEN_PREFIX = "gsr_"


def normalise_email(email: str) -> str:
    email = email.strip().lower()
    local, _, domain = email.partition("@")
    if not local or "." not in domain or len(email) > 254 or " " in email:
        raise Invalid("enter a valid e-mail address", field="email")
    return email


def _require_manager(actor: User | None) -> None:
    """Refuse anyone but an administrator; no actor is the server's own command line."""
    if actor is not None and not permissions.can_manage_users(actor):
        raise Forbidden("only an administrator can manage users")


def active_admins(session: Session) -> int:
    """How many enabled administrators there are."""
    return (
        session.scalar(
            select(func.count()).where(User.role == Role.ADMIN, User.is_active.is_(True))
        )
        or 0
    )


def _require_an_admin_left(session: Session, user: User, *, field: str) -> None:
    if not permissions.can_leave_admin(user, active_admins=active_admins(session)):
        raise Forbidden(
            "this is the last active administrator; make another user an administrator first",
            field=field,
            rule="last_admin",
        )


def _role_and_country(
    session: Session, role: str, country_code: str | None
) -> tuple[Role, int | None]:
    try:
        parsed = Role(role)
    except ValueError:
        raise Invalid(
            f"unknown role; choose one of {', '.join(r.value for r in Role)}", field="role"
        ) from None
    if parsed in COUNTRY_ROLES:
        country = country_service.get_by_code(session, country_code or "")
        if country is None:
            raise Invalid("a country role needs a valid country code", field="country_code")
        return parsed, country.id
    if country_code:
        raise Invalid("alliance roles belong to no country", field="country_code")
    return parsed, None


def create_user(
    session: Session,
    *,
    email: str,
    full_name: str,
    role: str,
    country_code: str | None = None,
    password: str | None = None,
    actor: User | None = None,
) -> User:
    """Create a user; a user without a password cannot log in until one is set."""
    _require_manager(actor)
    email = normalise_email(email)
    full_name = full_name.strip()
    if not full_name or len(full_name) > 200:
        raise Invalid("enter a name of 1 to 200 characters", field="full_name")
    parsed_role, country_id = _role_and_country(session, role, country_code)
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Invalid("a user with this e-mail address already exists", field="email")
    if password is not None:
        check_password(password, email=email, full_name=full_name)
    user = User(
        email=email,
        full_name=full_name,
        role=parsed_role.value,
        country_id=country_id,
        password_hash=hash_password(password) if password else None,
    )
    session.add(user)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="user.created",
        country_id=country_id,
        target=("user", user.id),
        details={"role": user.role},
    )
    return user


def get_user(session: Session, user_id: int, *, actor: User | None = None) -> User:
    """A user by id; actor, when given, must be allowed to manage users."""
    _require_manager(actor)
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("user not found")
    return user


def find_user(session: Session, email: str) -> User:
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise NotFound(f"no user with e-mail address {email}")
    return user


def list_users(session: Session, *, actor: User | None = None) -> list[User]:
    _require_manager(actor)
    return list(session.scalars(select(User).order_by(User.email)))


def set_role(
    session: Session, *, user: User, role: str, country_code: str | None, actor: User | None = None
) -> User:
    """Change a user's role; the last active administrator cannot give the role up."""
    _require_manager(actor)
    parsed_role, country_id = _role_and_country(session, role, country_code)
    if parsed_role != Role.ADMIN:
        _require_an_admin_left(session, user, field="role")
    old = (user.role, user.country_id)
    user.role, user.country_id = parsed_role.value, country_id
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="user.role_changed",
        country_id=country_id,
        target=("user", user.id),
        details={"from": old[0], "to": user.role, "from_country": old[1]},
    )
    return user


def set_password(session: Session, *, user: User, password: str, actor: User | None = None) -> None:
    """Set user's password (the policy applies); their sessions end and open links void."""
    credentials.set_new_password(session, user=user, password=password, actor=actor)


def set_locale(
    session: Session, *, user: User, locale: str | None, allowed: tuple[str, ...]
) -> None:
    """Choose the interface language, or None to follow the browser's."""
    if locale is not None and locale not in allowed:
        raise Invalid("choose one of the available languages", field="locale")
    user.locale = locale
    session.flush()


def set_active(session: Session, *, user: User, active: bool, actor: User | None = None) -> None:
    """Enable or disable a user; disabling ends their sessions, revokes their tokens and
    voids their open password links.

    Nobody disables their own account, nor the last active administrator.
    """
    _require_manager(actor)
    if not active:
        if actor is not None and not permissions.can_disable(actor, user):
            raise Forbidden(
                "you cannot disable your own account", field="is_active", rule="own_account"
            )
        _require_an_admin_left(session, user, field="is_active")
    user.is_active = active
    if not active:
        session.execute(delete(UserSession).where(UserSession.user_id == user.id))
        session.execute(
            update(ApiToken)
            .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )
        # Links to set a password die too, so enabling the account again revives none.
        session.execute(
            update(AccountLink)
            .where(AccountLink.user_id == user.id, AccountLink.used_at.is_(None))
            .values(used_at=utcnow())
        )
        session.execute(delete(LoginChallenge).where(LoginChallenge.user_id == user.id))
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="user.enabled" if active else "user.disabled",
        country_id=user.country_id,
        target=("user", user.id),
    )


def _recent_failures(session: Session, column, value: str, *, reset_by_success: bool) -> int:
    since = utcnow() - THROTTLE_WINDOW
    if reset_by_success:
        last_success = session.scalar(
            select(func.max(LoginAttempt.attempted_at)).where(
                column == value, LoginAttempt.succeeded.is_(True)
            )
        )
        if last_success and last_success > since:
            since = last_success
    return (
        session.scalar(
            select(func.count()).where(
                column == value,
                LoginAttempt.succeeded.is_(False),
                LoginAttempt.attempted_at > since,
            )
        )
        or 0
    )


def _refuse_if_throttled(session: Session, *, email: str, client: str) -> int:
    """Refuse when the account or the client failed too often lately; returns the account's
    recent failures.

    The account's owner logging in fully clears the account's count; a client's failures are
    never cleared by a success, or an attacker could reset them with an account of their own.
    """
    account_failures = _recent_failures(session, LoginAttempt.email, email, reset_by_success=True)
    client_failures = (
        _recent_failures(session, LoginAttempt.client, client, reset_by_success=False)
        if client
        else 0
    )
    if account_failures >= MAX_FAILURES_PER_ACCOUNT or client_failures >= MAX_FAILURES_PER_CLIENT:
        raise Throttled(
            "too many failed log-ins: wait 15 minutes before trying again",
            retry_after=int(THROTTLE_WINDOW.total_seconds()),
        )
    return account_failures


def _record_attempt(session: Session, *, email: str, client: str, ok: bool, before: int) -> None:
    session.add(LoginAttempt(email=email, client=client, succeeded=ok, failures_before=before))
    session.flush()


def authenticate(
    session: Session,
    *,
    email: str,
    password: str,
    client: str = "",
    require_two_factor: bool = False,
) -> User:
    """The user for these credentials; throttled after repeated failures.

    Unknown e-mail and wrong password get the same answer, so the form cannot be used
    to find out who has an account. When the user has a second step to pass
    (`permissions.needs_second_step`) the log-in is not complete: no success is recorded
    (it would clear the account's failures, letting codes be guessed without end) until
    `complete_login` after the code.
    """
    email = email.strip().lower()[:254]
    client = client[:64]
    account_failures = _refuse_if_throttled(session, email=email, client=client)
    user = session.scalar(select(User).where(User.email == email))
    ok = verify_password(password, user.password_hash if user else None)
    ok = ok and user is not None and user.is_active
    if not ok:
        _record_attempt(session, email=email, client=client, ok=False, before=account_failures)
        raise Invalid("e-mail address or password not recognised", field="password")
    if not permissions.needs_second_step(user, required=require_two_factor):
        complete_login(session, user=user, client=client)
    return user


def complete_login(session: Session, *, user: User, client: str = "") -> None:
    """Record a finished log-in: it clears the account's failure count."""
    _record_attempt(session, email=user.email, client=client[:64], ok=True, before=0)
    user.last_login_at = utcnow()
    audit.record(session, actor=user, action="user.logged_in", country_id=user.country_id)


CHALLENGE_LIFETIME = timedelta(minutes=10)


def start_challenge(
    session: Session, *, user: User, step: str, next_path: str
) -> tuple[str, LoginChallenge]:
    """The second step of a log-in; returns the cookie secret (shown once) and the row."""
    session.execute(delete(LoginChallenge).where(LoginChallenge.expires_at <= utcnow()))
    secret = new_token()
    row = LoginChallenge(
        token_hash=token_hash(secret),
        user_id=user.id,
        step=step,
        next_path=next_path[:2000],
        expires_at=utcnow() + CHALLENGE_LIFETIME,
    )
    session.add(row)
    session.flush()
    return secret, row


def open_challenge(session: Session, secret: str) -> tuple[LoginChallenge, User] | None:
    """The live challenge of this secret and its active user, or None."""
    found = session.execute(
        select(LoginChallenge, User)
        .join(User, User.id == LoginChallenge.user_id)
        .where(LoginChallenge.token_hash == token_hash(secret))
    ).first()
    if found is None:
        return None
    row, user = found
    if row.expires_at <= utcnow() or not user.is_active:
        return None
    return row, user


def check_code(
    session: Session, *, user: User, code: str, client: str = "", recovery: bool = True
) -> None:
    """Check a second-step code under the same throttle as passwords (Invalid if wrong).

    Every wrong code counts as a failed log-in of the account and of the client.
    """
    client = client[:64]
    failures = _refuse_if_throttled(session, email=user.email, client=client)
    if not two_factor.verify_code(session, user, code, recovery=recovery):
        _record_attempt(session, email=user.email, client=client, ok=False, before=failures)
        raise Invalid("the code is not right, or was used already", field="code")


def pass_challenge(
    session: Session, *, challenge: LoginChallenge, user: User, code: str, client: str
) -> None:
    """The code step of a log-in: a right code completes it and spends the challenge."""
    check_code(session, user=user, code=code, client=client)
    session.delete(challenge)
    complete_login(session, user=user, client=client)


def confirm_two_factor(session: Session, *, user: User, code: str, client: str = "") -> list[str]:
    """Turn two-factor log-in on with a first code (throttled like a log-in); returns the
    recovery codes."""
    client = client[:64]
    failures = _refuse_if_throttled(session, email=user.email, client=client)
    try:
        return two_factor.confirm_enrolment(session, user=user, code=code)
    except Invalid:
        _record_attempt(session, email=user.email, client=client, ok=False, before=failures)
        raise


def finish_enrolment_challenge(
    session: Session, *, challenge: LoginChallenge, user: User, code: str, client: str
) -> list[str]:
    """The enrolment step of a log-in: turn two-factor log-in on, complete the log-in."""
    codes = confirm_two_factor(session, user=user, code=code, client=client)
    session.delete(challenge)
    complete_login(session, user=user, client=client)
    return codes


def check_own_password(session: Session, *, user: User, password: str, client: str = "") -> None:
    """Confirm a signed-in user's password before a sensitive change (throttled)."""
    client = client[:64]
    failures = _refuse_if_throttled(session, email=user.email, client=client)
    if not verify_password(password, user.password_hash):
        _record_attempt(session, email=user.email, client=client, ok=False, before=failures)
        raise Invalid("your current password is not right", field="current_password")


def change_password(
    session: Session,
    *,
    user: User,
    current: str,
    new: str,
    settings: Settings,
    keep_session_id: int | None = None,
    client: str = "",
) -> None:
    """Change one's own password: the current one is required; other sessions end."""
    check_own_password(session, user=user, password=current, client=client)
    credentials.set_new_password(
        session, user=user, password=new, settings=settings, keep_session_id=keep_session_id
    )


def disable_two_factor(
    session: Session,
    *,
    user: User,
    password: str,
    code: str,
    client: str = "",
    required: bool = False,
) -> None:
    """Turn one's two-factor log-in off: the password and a code are required. Refused
    where the installation requires it for the user's role (`required`)."""
    if permissions.must_use_two_factor(user, required=required):
        raise Forbidden("your role requires two-factor log-in", field="code", rule="required")
    check_own_password(session, user=user, password=password, client=client)
    check_code(session, user=user, code=code, client=client)
    two_factor.turn_off(session, user=user)


def regenerate_recovery_codes(
    session: Session, *, user: User, password: str, client: str = ""
) -> list[str]:
    """New recovery codes for one's account (the old ones stop working)."""
    if not user.two_factor_enabled:
        raise Invalid("two-factor log-in is off", field="password")
    check_own_password(session, user=user, password=password, client=client)
    codes = two_factor.new_recovery_codes(session, user=user)
    audit.record(
        session,
        actor=user,
        action="user.recovery_codes_renewed",
        country_id=user.country_id,
        target=("user", user.id),
    )
    return codes


def start_session(session: Session, *, user: User, hours: int) -> tuple[str, UserSession]:
    """A new web session; returns the cookie token (shown once) and the stored row."""
    token = new_token()
    row = UserSession(
        token_hash=token_hash(token),
        user_id=user.id,
        csrf_token=new_token(),
        expires_at=utcnow() + timedelta(hours=hours),
    )
    session.add(row)
    session.flush()
    return token, row


def session_user(session: Session, token: str) -> tuple[User, UserSession] | None:
    """The user of a live session token, or None if unknown, expired or disabled."""
    row = session.scalar(select(UserSession).where(UserSession.token_hash == token_hash(token)))
    if row is None or row.expires_at <= utcnow():
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.is_active:
        return None
    return user, row


def end_session(session: Session, token: str) -> None:
    session.execute(delete(UserSession).where(UserSession.token_hash == token_hash(token)))


def issue_api_token(session: Session, *, user: User, name: str) -> tuple[str, ApiToken]:
    """A personal API token: the secret is returned once and only its hash is kept."""
    name = name.strip()
    if not name or len(name) > 100:
        raise Invalid("give the token a name of 1 to 100 characters", field="name")
    token = new_token(API_TOKEN_PREFIX)
    row = ApiToken(user_id=user.id, name=name, prefix=token[:10], token_hash=token_hash(token))
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=user,
        action="api_token.issued",
        country_id=user.country_id,
        target=("api_token", row.id),
    )
    return token, row


class TokenUse(NamedTuple):
    """What a request needs of the API token it came with: which one, and its last use."""

    id: int
    last_used_at: datetime | None


# Built once: every API request runs it, so SQLAlchemy reuses its compiled form. One query
# on the unique token hash; a revoked token or a disabled user finds nothing.
_TOKEN_USER = (
    select(User, ApiToken.id, ApiToken.last_used_at)
    .join(ApiToken, ApiToken.user_id == User.id)
    .where(
        ApiToken.token_hash == bindparam("token_hash"),
        ApiToken.revoked_at.is_(None),
        User.is_active.is_(True),
    )
)


def token_user(session: Session, token: str) -> tuple[User, TokenUse] | None:
    """The user of a live API token and the token's use, or None (one query)."""
    found = session.execute(_TOKEN_USER, {"token_hash": token_hash(token)}).first()
    if found is None:
        return None
    user, token_id, last_used_at = found
    return user, TokenUse(token_id, last_used_at)


def is_stale(last: datetime | None, *, interval: timedelta) -> bool:
    """Whether a last-seen time is old enough to be recorded again."""
    return last is None or last < utcnow() - interval


def record_last_seen(
    session: Session,
    *,
    session_id: int | None = None,
    token_id: int | None = None,
    interval: timedelta,
) -> None:
    """Record that a web session or API token was used, at most once per interval.

    Runs in a short transaction of its own, after the response: a request never holds a
    lock for it, and concurrent requests of one token update its row once.
    """
    now = utcnow()
    if session_id is not None:
        column, model, key = UserSession.last_seen_at, UserSession, session_id
    else:
        column, model, key = ApiToken.last_used_at, ApiToken, token_id
    session.execute(
        update(model)
        .where(model.id == key, or_(column.is_(None), column < now - interval))
        .values({column.key: now})
    )


def list_api_tokens(session: Session, *, user: User) -> list[ApiToken]:
    return list(
        session.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id))
    )


def revoke_api_token(session: Session, *, user: User, token_id: int) -> ApiToken:
    row = session.get(ApiToken, token_id)
    if row is None or row.user_id != user.id:
        raise NotFound("token not found")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        audit.record(
            session,
            actor=user,
            action="api_token.revoked",
            country_id=user.country_id,
            target=("api_token", row.id),
        )
    return row
