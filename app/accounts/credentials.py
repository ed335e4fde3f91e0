"""Passwords over an account's life: invitations, reset links, changes.

Every way of setting a password goes through `check_password` (the one policy) and
`_store_password`, which ends the user's other web sessions and voids any link still open.
API tokens are kept: they are separate, named credentials the user revokes on the account
page (docs/accounts.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from app.accounts import emails
from app.accounts.models import AccountLink, LinkPurpose, LoginChallenge, User, UserSession
from app.accounts.passwords import check_password
from app.audit import service as audit
from app.core.config import Settings
from app.core.db import utcnow
from app.core.errors import Invalid, NotFound
from app.core.security import hash_password, new_token, token_hash

# A user asking again and again for reset links gets no more than this many an hour (the
# answer does not change, so nobody learns that the limit was reached).
MAX_RESETS_PER_HOUR = 3
LINK_PATHS = {LinkPurpose.RESET: "/password/reset", LinkPurpose.INVITATION: "/invitation"}


@dataclass(frozen=True)
class IssuedLink:
    url: str
    expires_in: timedelta


def check_password_for(user: User, password: str) -> None:
    """The password policy, with this user's address and name as words to avoid."""
    check_password(password, email=user.email, full_name=user.full_name)


def _store_password(
    session: Session, *, user: User, password: str, keep_session_id: int | None = None
) -> None:
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    ended = delete(UserSession).where(UserSession.user_id == user.id)
    if keep_session_id is not None:
        ended = ended.where(UserSession.id != keep_session_id)
    session.execute(ended)
    session.execute(delete(LoginChallenge).where(LoginChallenge.user_id == user.id))
    session.execute(
        update(AccountLink)
        .where(AccountLink.user_id == user.id, AccountLink.used_at.is_(None))
        .values(used_at=utcnow())
    )
    session.flush()


def _lifetime(purpose: LinkPurpose, settings: Settings) -> timedelta:
    if purpose == LinkPurpose.INVITATION:
        return timedelta(days=settings.security.invitation_days)
    return timedelta(minutes=settings.security.reset_link_minutes)


def issue_link(
    session: Session,
    *,
    user: User,
    purpose: LinkPurpose,
    settings: Settings,
    actor: User | None = None,
) -> IssuedLink:
    """A new single-use link to set user's password; earlier open links of theirs are void."""
    if not user.is_active:
        raise Invalid("this account is disabled: enable it first", field="email")
    now = utcnow()
    session.execute(
        update(AccountLink)
        .where(AccountLink.user_id == user.id, AccountLink.used_at.is_(None))
        .values(used_at=now)
    )
    secret = new_token()
    lifetime = _lifetime(purpose, settings)
    row = AccountLink(
        user_id=user.id,
        purpose=purpose.value,
        token_hash=token_hash(secret),
        created_by_id=actor.id if actor else None,
        created_at=now,
        expires_at=now + lifetime,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,  # None: the user's own request, or the server's command line
        action="user.password_link_issued",
        country_id=user.country_id,
        target=("user", user.id),
        details={"purpose": purpose.value, "by_admin": actor is not None},
    )
    return IssuedLink(f"{settings.public_url}{LINK_PATHS[purpose]}?token={secret}", lifetime)


def invite(session: Session, *, user: User, settings: Settings, actor: User | None) -> IssuedLink:
    """Send user an invitation to choose their password (and return its link)."""
    link = issue_link(
        session, user=user, purpose=LinkPurpose.INVITATION, settings=settings, actor=actor
    )
    emails.send_invitation(
        session, user=user, link=link.url, days=settings.security.invitation_days
    )
    return link


def send_reset(
    session: Session, *, user: User, settings: Settings, actor: User | None
) -> IssuedLink:
    """Send user a reset link (an administrator's doing, or their own request)."""
    link = issue_link(session, user=user, purpose=LinkPurpose.RESET, settings=settings, actor=actor)
    emails.send_password_reset(
        session, user=user, link=link.url, minutes=settings.security.reset_link_minutes
    )
    return link


def request_reset(session: Session, *, email: str, settings: Settings) -> None:
    """'Forgot password': e-mail a reset link if the address belongs to an active user.

    Says nothing either way: the caller answers the same whether the account exists.
    """
    user = session.scalar(select(User).where(User.email == email.strip().lower()[:254]))
    if user is None or not user.is_active:
        return
    recent = session.scalar(
        select(func.count()).where(
            AccountLink.user_id == user.id,
            AccountLink.purpose == LinkPurpose.RESET.value,
            AccountLink.created_at > utcnow() - timedelta(hours=1),
        )
    )
    if (recent or 0) >= MAX_RESETS_PER_HOUR:
        return
    send_reset(session, user=user, settings=settings, actor=None)


def open_link(session: Session, token: str) -> tuple[AccountLink, User] | None:
    """The open (unused, unexpired) link of this secret and its active user, or None."""
    found = session.execute(
        select(AccountLink, User)
        .join(User, User.id == AccountLink.user_id)
        .where(AccountLink.token_hash == token_hash(token))
    ).first()
    if found is None:
        return None
    link, user = found
    if link.used_at is not None or link.expires_at <= utcnow() or not user.is_active:
        return None
    return link, user


def redeem_link(session: Session, *, token: str, password: str) -> User:
    """Set the password with a reset or invitation link; the link is spent, all sessions end."""
    found = open_link(session, token)
    if found is None:
        raise NotFound("this link is unknown, already used or expired")
    link, user = found
    check_password_for(user, password)
    # Spent by a guarded update: of two uses at once, only one finds it unused.
    spent = session.execute(
        update(AccountLink)
        .where(AccountLink.id == link.id, AccountLink.used_at.is_(None))
        .values(used_at=utcnow())
    ).rowcount
    if not spent:
        raise NotFound("this link is unknown, already used or expired")
    _store_password(session, user=user, password=password)
    audit.record(
        session,
        actor=user,
        action="user.password_set",
        country_id=user.country_id,
        target=("user", user.id),
        details={"by": link.purpose},
    )
    return user


def set_new_password(
    session: Session,
    *,
    user: User,
    password: str,
    settings: Settings | None = None,
    keep_session_id: int | None = None,
    actor: User | None = None,
) -> None:
    """Set user's password after the policy's check; other sessions end, open links void.

    With settings, the user is told by e-mail (so a change they did not make is noticed).
    """
    check_password_for(user, password)
    _store_password(session, user=user, password=password, keep_session_id=keep_session_id)
    audit.record(
        session,
        actor=actor or user,
        action="user.password_changed",
        country_id=user.country_id,
        target=("user", user.id),
    )
    if settings is not None:
        emails.send_password_changed(
            session, user=user, link=f"{settings.public_url}/password/forgot"
        )
