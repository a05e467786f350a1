"""A real SMTP server on loopback (aiosmtpd) that records messages and can misbehave.

server.messages            -> list of email.message.EmailMessage received
server.fail_next(451, 2)   -> the next 2 DATA commands get a 451 (temporary)
server.fail_next(550, 1)   -> the next DATA gets a 550 (permanent)
server.drop_after(3)       -> after 3 accepted messages, close the connection once
"""

from __future__ import annotations

import email
import email.policy
import socket
import threading
import time
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


class _Handler:
    def __init__(self, owner: LoopbackSMTPServer) -> None:
        self.owner = owner

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        owner = self.owner
        with owner.lock:
            if owner._failures:
                code = owner._failures.pop(0)
                return f"{code} {'Try again later' if code < 500 else 'Mailbox unavailable'}"
            raw = envelope.original_content or envelope.content or b""
            data = raw if isinstance(raw, bytes) else raw.encode()
            msg = email.message_from_bytes(data, policy=email.policy.default)
            assert isinstance(msg, EmailMessage)
            owner.messages.append(msg)
            owner.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
            drop = owner._drop_after is not None and len(owner.messages) >= owner._drop_after
            if drop:
                owner._drop_after = None
        if drop and server.transport is not None:
            server.transport.close()
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LoopbackSMTPServer:
    """aiosmtpd on 127.0.0.1 at a free port."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str | None, list[str]]] = []
        self._failures: list[int] = []
        self._drop_after: int | None = None
        self._port = _free_port()
        self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=self._port)

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def fail_next(self, code: int, times: int = 1) -> None:
        with self.lock:
            self._failures.extend([code] * times)

    def drop_after(self, count: int) -> None:
        with self.lock:
            self._drop_after = len(self.messages) + count

    def wait_for_messages(self, count: int, timeout: float = 10.0) -> list[EmailMessage]:
        """The messages received once there are ``count`` of them (mail the app sends after
        its answer arrives a moment later), or all of them when ``timeout`` passes first."""
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                if len(self.messages) >= count or time.monotonic() >= deadline:
                    return list(self.messages)
            time.sleep(0.02)

    def recipients(self) -> list[str]:
        with self.lock:
            return [r for _f, rcpts in self.envelopes for r in rcpts]
