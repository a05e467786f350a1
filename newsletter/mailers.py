"""Mailers chosen by URL, all behind one small interface.

* ``smtp://user:pass@host:587?starttls=1`` — plain SMTP, optionally upgraded with STARTTLS;
* ``smtps://user:pass@host:465`` — implicit TLS; ``?timeout=30`` on either;
* ``file:///path/to/outbox`` — one ``.eml`` per message, written atomically, named after
  the Message-ID (so a resend overwrites instead of duplicating): the embedded default;
* ``console://`` — prints each message to standard output.

``Mailer.send`` raises :class:`TemporaryMailError` (4xx, connection trouble: try later)
or :class:`PermanentMailError` (5xx: this address will not take it). The SMTP mailer
keeps one connection across messages and reconnects when the server dropped it.
:class:`MailerPool` keeps several of them in flight, one per worker thread.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import queue
import smtplib
import ssl
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Protocol, Self
from urllib.parse import parse_qs, unquote, urlsplit

from aggregator.errors import ConfigError, MailError, PermanentMailError, TemporaryMailError
from newsletter.messages import Outgoing, RawMessage


class Mailer(Protocol):
    """Hands messages over; a context manager that closes its connection on exit."""

    def send(self, msg: Outgoing) -> None: ...

    def close(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None: ...


class _Base:
    def close(self) -> None:
        return None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _truthy(value: str | None) -> bool:
    return (value or "").lower() in ("1", "true", "yes", "on")


class SMTPMailer(_Base):
    """One reused SMTP connection; a dropped connection is reopened once per message."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        username: str | None = None,
        password: str | None = None,
        implicit_tls: bool = False,
        starttls: bool = False,
        timeout: float = 30.0,
        local_hostname: str | None = None,
    ) -> None:
        self.host, self.port = host, port
        self.username, self.password = username, password
        self.implicit_tls, self.starttls = implicit_tls, starttls
        self.timeout = timeout
        self.local_hostname = local_hostname
        self._smtp: smtplib.SMTP | None = None
        self.connections = 0  # how many times we connected (reconnects included)

    def _connect(self) -> smtplib.SMTP:
        try:
            smtp: smtplib.SMTP
            if self.implicit_tls:
                smtp = smtplib.SMTP_SSL(
                    self.host,
                    self.port,
                    timeout=self.timeout,
                    local_hostname=self.local_hostname,
                    context=ssl.create_default_context(),
                )
            else:
                smtp = smtplib.SMTP(
                    self.host, self.port, timeout=self.timeout, local_hostname=self.local_hostname
                )
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
            if self.username:
                smtp.login(self.username, self.password or "")
        except smtplib.SMTPAuthenticationError as exc:
            raise ConfigError(f"SMTP login refused by {self.host}: {exc.smtp_code}") from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise TemporaryMailError(f"cannot connect to {self.host}:{self.port}: {exc}") from exc
        self.connections += 1
        return smtp

    def send(self, msg: Outgoing) -> None:
        """Send one message; reconnect once if the kept connection was dropped.

        A :class:`RawMessage` goes as its bytes (flattened once, by the caller)."""
        for attempt in (1, 2):
            if self._smtp is None:
                self._smtp = self._connect()
            try:
                if isinstance(msg, RawMessage):
                    refused = self._smtp.sendmail(msg.sender, list(msg.recipients), msg.data)
                else:
                    refused = self._smtp.send_message(msg)
            except smtplib.SMTPServerDisconnected as exc:
                self._drop()
                if attempt == 2:
                    raise TemporaryMailError(f"connection lost: {exc}") from exc
                continue
            except smtplib.SMTPRecipientsRefused as exc:
                codes = [code for code, _text in exc.recipients.values()]
                raise _classify(min(codes) if codes else 550, str(exc.recipients)) from exc
            except smtplib.SMTPResponseException as exc:
                if exc.smtp_code in (421,):
                    self._drop()
                raise _classify(exc.smtp_code, _decode(exc.smtp_error)) from exc
            except (OSError, smtplib.SMTPException) as exc:
                self._drop()
                raise TemporaryMailError(f"SMTP error: {exc}") from exc
            if refused:
                code = min(code for code, _text in refused.values())
                raise _classify(code, str(refused))
            return

    def _drop(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.close()
            finally:
                self._smtp = None

    def close(self) -> None:
        if self._smtp is not None:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                self._smtp.quit()
            self._drop()


def _decode(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _classify(code: int, detail: str) -> TemporaryMailError | PermanentMailError:
    text = f"{code} {detail}".strip()
    if 500 <= code < 600:
        return PermanentMailError(text)
    return TemporaryMailError(text)


class FileMailer(_Base):
    """Writes each message as ``<outbox>/<message-id>.eml`` (temp file, then rename)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def send(self, msg: Outgoing) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        if isinstance(msg, RawMessage):
            ident, data = msg.message_id, msg.data.replace(b"\r\n", b"\n")
        else:
            ident = str(msg.get("Message-ID", "")) or msg.as_string()
            data = msg.as_bytes()
        safe = "".join(c if c.isalnum() or c in ".-_" else "_" for c in ident.strip("<>"))[:120]
        name = f"{safe or hashlib.sha256(ident.encode()).hexdigest()}.eml"
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-", suffix=".eml")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.directory / name)
        except OSError as exc:
            Path(tmp).unlink(missing_ok=True)
            raise TemporaryMailError(f"cannot write to the outbox {self.directory}: {exc}") from exc


class ConsoleMailer(_Base):
    """Prints every message (for a first look, or piping into another tool)."""

    def __init__(self, write: Callable[[str], object] | None = None) -> None:
        self.write = write or sys.stdout.write

    def send(self, msg: Outgoing) -> None:
        text = msg.data.decode("ascii").replace("\r\n", "\n") if isinstance(msg, RawMessage) \
            else msg.as_string()
        self.write(text + "\n")


def make_mailer(url: str) -> Mailer:
    """The mailer a ``MAIL_URL`` names (see the module docstring for the forms)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    if scheme in ("smtp", "smtps"):
        if not parts.hostname:
            raise ConfigError(f"mail URL {url!r} names no host")
        implicit = scheme == "smtps" or _truthy(query.get("ssl")) or _truthy(query.get("tls"))
        return SMTPMailer(
            parts.hostname,
            parts.port or (465 if implicit else 25),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            implicit_tls=implicit,
            starttls=_truthy(query.get("starttls")),
            timeout=float(query.get("timeout", 30)),
        )
    if scheme == "file":
        path = unquote(parts.netloc + parts.path)
        if not path:
            raise ConfigError(f"mail URL {url!r} names no folder")
        return FileMailer(Path(path))
    if scheme == "console":
        return ConsoleMailer()
    raise ConfigError(f"unsupported mail URL {url!r}: use smtp://, smtps://, file:// or console://")


class RateLimiter:
    """At most ``per_second`` calls to :meth:`wait` per second (0: no limit)."""

    def __init__(
        self,
        per_second: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.interval = 1.0 / per_second if per_second > 0 else 0.0
        self.clock, self.sleep = clock, sleep
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        """Block until this caller's slot (threads share the rate)."""
        if not self.interval:
            return
        with self._lock:
            now = self.clock()
            slot = max(now, self._next)
            self._next = slot + self.interval
        if slot > now:
            self.sleep(slot - now)


def send_with_retries(mailer: Mailer, msg: Outgoing, *, attempts: int, backoff: float) -> None:
    """Send, retrying temporary failures with exponential backoff; re-raise the last one."""
    for attempt in range(attempts):
        try:
            mailer.send(msg)
            return
        except TemporaryMailError:
            if attempt == attempts - 1:
                raise
            time.sleep(backoff * (2**attempt))


Result = tuple[int, BaseException | None]  # (the caller's key, None when sent)


class Cancelled(Exception):
    """A message the pool did not send because :meth:`MailerPool.cancel` was called."""


class MailerPool(_Base):
    """``size`` worker threads, each with its own mailer from ``factory`` (its own SMTP
    connection), sending what :meth:`submit` hands over.

    Each message goes to exactly one worker, which waits for the rate limiter, sends with
    :func:`send_with_retries` and reports ``(key, None)`` or ``(key, the error)``;
    :meth:`results` collects the reports. A worker whose connection fails reports that
    message's error and reconnects for the next one; no message is retried on another
    connection, so none is sent twice by the pool. At most :attr:`room` (= ``size``)
    messages are outstanding, sent or not, before the caller collects their results (see
    :meth:`full`): that bounds what a crash can leave unrecorded to one message per
    connection. Connections open as the backlog needs them (one more when a message waits
    with every open one busy, from the third message on, so a send of two goes over one
    connection in order). :meth:`cancel` stops handing queued messages to the server.
    """

    def __init__(
        self,
        factory: Callable[[], Mailer],
        size: int,
        *,
        limiter: RateLimiter | None = None,
        attempts: int = 3,
        backoff: float = 0.5,
    ) -> None:
        self.size = max(1, size)
        self.room = self.size  # one message per connection between hand-over and record
        self.outstanding = 0
        self._submitted = 0
        self._cancelled = threading.Event()
        self._factory, self._limiter = factory, limiter
        self._attempts, self._backoff = attempts, backoff
        self._work: queue.SimpleQueue[tuple[int, Outgoing] | None] = queue.SimpleQueue()
        self._done: queue.SimpleQueue[Result] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._grow()

    def _grow(self) -> None:
        thread = threading.Thread(target=self._run, name=f"smtp-{len(self._threads)}", daemon=True)
        self._threads.append(thread)
        thread.start()

    def _run(self) -> None:
        mailer: Mailer | None = None
        failure: BaseException | None = None
        try:
            mailer = self._factory()
        except BaseException as exc:  # reported with the first message this worker takes
            failure = exc
        with contextlib.ExitStack() as stack:
            if mailer is not None:
                stack.enter_context(mailer)
            while (item := self._work.get()) is not None:
                key, msg = item
                if self._cancelled.is_set():
                    self._done.put((key, Cancelled("not sent: the run stopped")))
                    continue
                if mailer is None:
                    self._done.put((key, failure))
                    continue
                try:
                    if self._limiter is not None:
                        self._limiter.wait()
                    send_with_retries(mailer, msg, attempts=self._attempts, backoff=self._backoff)
                except BaseException as exc:  # the caller decides (temporary, permanent, bug)
                    self._done.put((key, exc))
                else:
                    self._done.put((key, None))

    def full(self) -> bool:
        return self.outstanding >= self.room

    def submit(self, key: int, msg: Outgoing) -> None:
        """Queue ``msg`` for the next free connection (never blocks)."""
        self.outstanding += 1
        self._submitted += 1
        busy = self.outstanding > len(self._threads)
        if busy and self._submitted > 2 and len(self._threads) < self.size:
            self._grow()
        self._work.put((key, msg))

    def results(self, *, wait: float | None = None) -> list[Result]:
        """What finished since the last call; with ``wait``, block up to that long for one."""
        out: list[Result] = []
        if wait is not None and self.outstanding:
            try:
                out.append(self._done.get(timeout=wait))
            except queue.Empty:
                return out
        while True:
            try:
                out.append(self._done.get_nowait())
            except queue.Empty:
                break
        self.outstanding -= len(out)
        return out

    def cancel(self) -> None:
        """Messages not yet handed to the server are reported :class:`Cancelled` instead."""
        self._cancelled.set()

    def close(self) -> None:
        """Let the workers finish what was submitted, close their connections, join them."""
        for _ in self._threads:
            self._work.put(None)  # one stop per worker
        for thread in self._threads:
            thread.join()


def send_quietly(outbox_url: str, message: Outgoing, *, what: str) -> bool:
    """Send one transactional mail now (a confirmation, an organizer's notice), after the
    web's answer: a failure is logged with ``what`` the mail was, never raised."""
    try:
        with make_mailer(outbox_url) as mailer:
            mailer.send(message)
    except (MailError, OSError) as exc:
        to = ", ".join(message.recipients) if isinstance(message, RawMessage) else message["To"]
        logging.getLogger(__name__).warning("%s mail to %s not sent: %s", what, to, exc)
        return False
    return True
