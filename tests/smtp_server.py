"""A real SMTP server on a free local port (aiosmtpd), keeping what it receives."""

from __future__ import annotations

import email
import email.policy
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage

from aiosmtpd.controller import Controller


@dataclass
class Received:
    sender: str
    recipients: list[str]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    def part(self, subtype: str) -> str:
        body = self.message.get_body(preferencelist=(subtype,))
        return body.get_content().replace("\r\n", "\n") if body is not None else ""

    @property
    def text(self) -> str:
        return self.part("plain")

    @property
    def html(self) -> str:
        return self.part("html")

    def link(self, path: str) -> str:
        """The link in the text body that goes to path (e.g. '/invitation')."""
        found = re.search(rf"https?://\S+{re.escape(path)}\?token=[\w-]+", self.text)
        assert found, f"no {path} link in: {self.text}"
        return found.group(0)


@dataclass
class Inbox:
    messages: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    refuse: bool = False  # answer every message with a temporary failure

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd's hook
        if self.refuse:
            return "451 try again later"
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append(
                Received(envelope.mail_from, list(envelope.rcpt_tos), message)  # type: ignore[arg-type]
            )
        return "250 OK"

    def to(self, address: str) -> list[Received]:
        with self.lock:
            return [
                m for m in self.messages if address.lower() in [r.lower() for r in m.recipients]
            ]

    def wait_for(self, address: str, count: int = 1, timeout: float = 10.0) -> list[Received]:
        """The messages to address, once at least count have arrived."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.to(address)
            if len(found) >= count:
                return found
            time.sleep(0.05)
        raise AssertionError(
            f"{count} message(s) to {address} did not arrive; got {self.to(address)}"
        )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SMTPServer:
    """Start with `with SMTPServer() as server:`; server.port, server.inbox."""

    def __init__(self) -> None:
        self.inbox = Inbox()
        self.port = free_port()
        self._controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> SMTPServer:
        self._controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self._controller.stop()

    def mail_settings(self) -> dict:
        return {"host": "127.0.0.1", "port": self.port, "security": "none", "timeout": 5}
