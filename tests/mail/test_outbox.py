"""The outbox: a message exists iff its transaction committed; each is sent once, over real
SMTP; failures are retried later; without a host nothing is sent."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from app.core.config import Settings
from app.core.db import make_engine, session_factory, utcnow
from app.mail import service as mail
from app.mail.models import OutboxMessage
from tests.conftest import BACKENDS
from tests.smtp_server import SMTPServer, free_port


@pytest.fixture(scope="module", params=BACKENDS)
def sessions(request, make_migrated_database):
    database = make_migrated_database(request.param)
    engine = make_engine(database.url)
    yield session_factory(engine)
    engine.dispose()


@pytest.fixture(scope="module")
def smtp(sessions):
    """A server of its own per backend, so that each inbox holds one backend's messages."""
    with SMTPServer() as server:
        yield server


def _settings(**mail_settings) -> Settings:
    return Settings(mail=mail_settings)


def _unsent(sessions) -> list[OutboxMessage]:
    with sessions() as session:
        return list(session.scalars(select(OutboxMessage).where(OutboxMessage.sent_at.is_(None))))


def _queue(sessions, to: str, subject: str = "Hello") -> int:
    text, html = mail.render_bodies(
        ["Dear reader,", "Second <paragraph> & more."],
        link="http://example.org/x?a=1&b=2",
        link_label="Open",
        lang="fr",
    )
    with sessions.begin() as session:
        return mail.enqueue(session, to, subject, text, html_body=html, kind="test").id


def test_a_message_exists_only_if_its_transaction_commits(sessions):
    with pytest.raises(RuntimeError), sessions.begin() as session:
        mail.enqueue(session, "rolled-back@example.org", "Never", "never sent")
        raise RuntimeError("the action failed")
    with sessions() as session:
        assert (
            session.scalar(
                select(OutboxMessage).where(OutboxMessage.to_address == "rolled-back@example.org")
            )
            is None
        )


def test_due_messages_are_sent_once_as_text_and_html(sessions, smtp):
    message_id = _queue(sessions, "once@example.org", "Subject é")
    settings = _settings(**smtp.mail_settings(), from_address="gsr@example.org")
    assert mail.deliver_pending(sessions, settings) >= 1
    assert mail.deliver_pending(sessions, settings) == 0  # nothing left to send
    [received] = smtp.inbox.wait_for("once@example.org")
    assert received.subject == "Subject é"
    assert received.sender == "gsr@example.org"
    assert "Open:\nhttp://example.org/x?a=1&b=2" in received.text
    assert "Second <paragraph> & more." in received.text
    # The HTML part escapes what it shows and links to the product.
    assert 'href="http://example.org/x?a=1&amp;b=2"' in received.html
    assert "Second &lt;paragraph&gt; &amp; more." in received.html
    assert '<html lang="fr">' in received.html
    assert f"gsr-outbox-{message_id}" in str(received.message["Message-ID"])
    with sessions() as session:
        row = session.get(OutboxMessage, message_id)
        assert row.sent_at is not None and row.attempts == 1


def test_two_senders_at_once_send_each_message_once(sessions, smtp):
    addresses = [f"race-{n}@example.org" for n in range(6)]
    for address in addresses:
        _queue(sessions, address)
    settings = _settings(**smtp.mail_settings())
    start = threading.Barrier(3)

    def sender():
        start.wait()
        mail.deliver_pending(sessions, settings)

    threads = [threading.Thread(target=sender) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for address in addresses:
        assert len(smtp.inbox.wait_for(address)) == 1


def test_a_failed_delivery_is_retried_later_with_growing_delays(sessions, smtp):
    message_id = _queue(sessions, "retry@example.org")
    # Nobody listens on this port: the delivery fails and waits for its next attempt.
    down = _settings(host="127.0.0.1", port=free_port(), security="none", timeout=2)
    assert mail.deliver_pending(sessions, down) == 0
    with sessions() as session:
        row = session.get(OutboxMessage, message_id)
        assert row.sent_at is None and row.attempts == 1 and row.claimed_until is None
        assert "ConnectionRefusedError" in row.last_error
        assert row.next_attempt_at > utcnow() + timedelta(seconds=20)
    # Not due yet: a working server gets nothing until the delay has passed.
    assert mail.deliver_pending(sessions, _settings(**smtp.mail_settings())) == 0
    assert smtp.inbox.to("retry@example.org") == []
    with sessions.begin() as session:
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id)
            .values(next_attempt_at=utcnow())
        )
    assert mail.deliver_pending(sessions, _settings(**smtp.mail_settings())) == 1
    assert len(smtp.inbox.wait_for("retry@example.org")) == 1
    assert mail.retry_delay(1) < mail.retry_delay(2) < mail.retry_delay(3)
    assert mail.retry_delay(50) == mail.LONGEST_RETRY


def test_a_refused_message_gives_up_after_the_last_attempt(sessions, smtp):
    message_id = _queue(sessions, "refused@example.org")
    smtp.inbox.refuse = True
    try:
        settings = _settings(**smtp.mail_settings(), max_attempts=2)
        for _ in range(2):
            mail.deliver_pending(sessions, settings)
            with sessions.begin() as session:
                session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id == message_id)
                    .values(next_attempt_at=utcnow())
                )
    finally:
        smtp.inbox.refuse = False
    with sessions() as session:
        row = session.get(OutboxMessage, message_id)
        assert row.failed_at is not None and row.sent_at is None and row.attempts == 2
        assert "451" in row.last_error
    assert mail.deliver_pending(sessions, _settings(**smtp.mail_settings())) == 0


def test_without_a_host_nothing_is_sent_and_the_log_says_so(sessions, caplog):
    message_id = _queue(sessions, "nohost@example.org")
    with caplog.at_level(logging.WARNING, logger="gsr.mail"):
        assert mail.deliver_pending(sessions, Settings()) == 0
    assert "no SMTP host set" in caplog.text
    with sessions() as session:
        row = session.get(OutboxMessage, message_id)
        assert row.attempts == 0 and row.sent_at is None
