"""A durable outbox: e-mails are written with the change that caused them, sent later.

`enqueue` adds a row in the caller's transaction, so a message exists if and only if the
action committed. `deliver_pending` sends what is due over SMTP, claiming each row first
(so two senders never send the same message) and retrying failures with growing delays.
It is a plain function of a session factory and the settings, with no web dependency, so
that a background job can run it as well as a request's after-response task.
"""

from __future__ import annotations

import html
import logging
import smtplib
import ssl
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from app.core.config import MailSettings, Settings
from app.core.db import utcnow
from app.mail.models import OutboxMessage

logger = logging.getLogger("gsr.mail")

# How long a sender holds a claimed row: long enough for a slow SMTP server.
CLAIM = timedelta(minutes=5)
FIRST_RETRY = timedelta(seconds=30)
LONGEST_RETRY = timedelta(hours=6)


def enqueue(
    session: Session,
    to: str,
    subject: str,
    text: str,
    *,
    html_body: str | None = None,
    kind: str = "",
) -> OutboxMessage:
    """Add an e-mail to the outbox, in the caller's transaction (sent after it commits)."""
    message = OutboxMessage(
        to_address=to, subject=subject[:300], text_body=text, html_body=html_body, kind=kind[:50]
    )
    session.add(message)
    session.flush()
    return message


def retry_delay(attempts: int) -> timedelta:
    """The wait after the attempts-th failure: 30 s, 1 min, 2 min ... at most 6 hours."""
    doublings = min(max(attempts - 1, 0), 20)  # 2**20 half-minutes is past the longest wait
    return min(FIRST_RETRY * 2**doublings, LONGEST_RETRY)


def render_bodies(paragraphs: list[str], *, link: str, link_label: str, lang: str):
    """The plain-text and the simple HTML body of a message of paragraphs and one link."""
    text = "\n\n".join([*paragraphs[:1], f"{link_label}:\n{link}", *paragraphs[1:]]) + "\n"
    escaped = [f"<p>{html.escape(p)}</p>" for p in paragraphs]
    button = f'<p><a href="{html.escape(link, quote=True)}">{html.escape(link_label)}</a></p>'
    body = "\n".join([*escaped[:1], button, *escaped[1:]])
    page = (
        f'<!DOCTYPE html>\n<html lang="{html.escape(lang)}"><head><meta charset="utf-8">'
        f'</head>\n<body style="font-family: sans-serif; line-height: 1.5">\n{body}\n'
        "</body></html>\n"
    )
    return text, page


@dataclass
class _Due:
    id: int
    to_address: str
    subject: str
    text_body: str
    html_body: str | None
    kind: str
    attempts: int


def _claimable(now):
    return (
        OutboxMessage.sent_at.is_(None),
        OutboxMessage.failed_at.is_(None),
        OutboxMessage.next_attempt_at <= now,
        or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now),
    )


def _claim(sessions: sessionmaker[Session], limit: int) -> list[_Due]:
    """Claim up to limit due messages, each by a guarded UPDATE (only one sender wins)."""
    claimed = []
    with sessions.begin() as session:
        now = utcnow()
        ids = session.scalars(
            select(OutboxMessage.id).where(*_claimable(now)).order_by(OutboxMessage.id).limit(limit)
        ).all()
        for message_id in ids:
            won = session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == message_id, *_claimable(now))
                .values(claimed_until=now + CLAIM, attempts=OutboxMessage.attempts + 1)
            ).rowcount
            if won:
                row = session.get(OutboxMessage, message_id)
                claimed.append(
                    _Due(
                        row.id,
                        row.to_address,
                        row.subject,
                        row.text_body,
                        row.html_body,
                        row.kind,
                        row.attempts,
                    )
                )
    return claimed


def _email(due: _Due, mail: MailSettings) -> EmailMessage:
    message = EmailMessage()
    message["From"] = mail.from_address
    message["To"] = due.to_address
    message["Subject"] = due.subject
    message["Date"] = format_datetime(utcnow())
    domain = mail.from_address.rpartition("@")[2] or "localhost"
    # One identifier per outbox row, so that a receiver can recognise a repeated delivery.
    message["Message-ID"] = make_msgid(idstring=f"gsr-outbox-{due.id}", domain=domain)
    message.set_content(due.text_body)
    if due.html_body:
        message.add_alternative(due.html_body, subtype="html")
    return message


def _connect(mail: MailSettings) -> smtplib.SMTP:
    context = ssl.create_default_context()
    if mail.security == "ssl":
        server: smtplib.SMTP = smtplib.SMTP_SSL(
            mail.host, mail.port, timeout=mail.timeout, context=context
        )
    else:
        server = smtplib.SMTP(mail.host, mail.port, timeout=mail.timeout)
        if mail.security == "starttls":
            server.starttls(context=context)
    if mail.user:
        server.login(mail.user, mail.password.get_secret_value())
    return server


def _settle(sessions: sessionmaker[Session], due: _Due, error: str | None, mail: MailSettings):
    now = utcnow()
    if error is None:
        values = {"sent_at": now, "claimed_until": None, "last_error": None}
    elif due.attempts >= mail.max_attempts:
        values = {"failed_at": now, "claimed_until": None, "last_error": error[:500]}
    else:
        values = {
            "next_attempt_at": now + retry_delay(due.attempts),
            "claimed_until": None,
            "last_error": error[:500],
        }
    with sessions.begin() as session:
        session.execute(update(OutboxMessage).where(OutboxMessage.id == due.id).values(values))


def pending_count(session: Session) -> int:
    """How many messages wait to be sent (due or not)."""
    return (
        session.scalar(
            select(func.count()).where(
                OutboxMessage.sent_at.is_(None), OutboxMessage.failed_at.is_(None)
            )
        )
        or 0
    )


def deliver_pending(sessions: sessionmaker[Session], settings: Settings, limit: int = 100) -> int:
    """Send the due messages of the outbox; returns how many were sent.

    Without an SMTP host nothing is sent (the messages wait, and the log says so).
    """
    mail = settings.mail
    if not mail.host:
        with sessions() as session:
            waiting = pending_count(session)
        if waiting:
            logger.warning(
                "%d e-mail(s) wait in the outbox: no SMTP host set (GSR_MAIL_HOST)", waiting
            )
        return 0
    sent = 0
    server: smtplib.SMTP | None = None
    try:
        for due in _claim(sessions, limit):
            error = None
            try:
                if server is None:
                    server = _connect(mail)
                server.send_message(_email(due, mail))
            except (OSError, smtplib.SMTPException) as exc:
                error = f"{type(exc).__name__}: {exc}"
                logger.warning("e-mail %d (%s) not sent: %s", due.id, due.kind, error)
                server = _close(server)
            _settle(sessions, due, error, mail)
            if error is None:
                sent += 1
                logger.info("e-mail %d (%s) sent", due.id, due.kind)
    finally:
        _close(server)
    return sent


def _close(server: smtplib.SMTP | None) -> None:
    if server is not None:
        try:
            server.quit()
        except (OSError, smtplib.SMTPException):
            server.close()
