"""Email messages built only through :class:`email.message.EmailMessage`.

Header values pass through :func:`clean_header`, which folds every run of whitespace
(CR and LF included) into one space, so no title or name can add a header. The
``email`` package then encodes non-ASCII text and refuses anything still unsafe.
"""

from __future__ import annotations

import binascii
import email
import email.policy
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address, BaseHeader
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from functools import lru_cache
from typing import cast
from urllib.parse import quote

from aggregator.settings import Settings


def clean_header(value: str, *, limit: int = 200) -> str:
    """One line of at most ``limit`` characters: control characters and CR/LF removed."""
    flat = " ".join("".join(ch if ch.isprintable() else " " for ch in value).split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def sender_domain(settings: Settings) -> str:
    """The domain of ``settings.mail_from`` (used in Message-ID and List-Id)."""
    return _domain_of(settings.mail_from)


@lru_cache(maxsize=16)
def _domain_of(mail_from: str) -> str:
    _name, addr = parseaddr(mail_from)
    domain = addr.rpartition("@")[2].strip().lower()
    return domain or "techagenda.localhost"


def sender_address(settings: Settings) -> str:
    """The bare address of ``settings.mail_from``."""
    return _address_of(settings.mail_from)


@lru_cache(maxsize=16)
def _address_of(mail_from: str) -> str:
    return parseaddr(mail_from)[1] or f"digest@{_domain_of(mail_from)}"


def delivery_message_id(settings: Settings, *, region: str, week: str, subscriber_id: int) -> str:
    """A stable Message-ID for one subscriber's copy of one digest (resends reuse it)."""
    seed = f"{settings.secret_key}|{region}|{week}|{subscriber_id}".encode()
    digest = hashlib.sha256(seed).hexdigest()[:12]
    return f"<{week}.{subscriber_id}.{digest}@{sender_domain(settings)}>"


def list_id(settings: Settings, *, region: str, region_name: str) -> str:
    """``Techagenda Aix-Marseille <aix-marseille.digest.example.org>`` (RFC 2919)."""
    return _list_id(sender_domain(settings), region, region_name)


@lru_cache(maxsize=16)
def _list_id(domain: str, region: str, region_name: str) -> str:
    label = clean_header(f"Techagenda {region_name}", limit=80).replace('"', "")
    return f"{label} <{region}.digest.{domain}>"


def build_message(
    settings: Settings,
    *,
    to: str,
    subject: str,
    text_body: str,
    html_body: str,
    date: datetime,
    message_id: str | None = None,
    unsubscribe_url: str | None = None,
    list_id_value: str | None = None,
) -> EmailMessage:
    """A multipart/alternative message (text first, then HTML) with bulk-mail headers.

    With ``unsubscribe_url`` it carries ``List-Unsubscribe`` (HTTPS and mailto) and
    ``List-Unsubscribe-Post: List-Unsubscribe=One-Click`` (RFC 8058). Both bodies are
    UTF-8 in quoted-printable; the headers every copy shares are parsed once
    (:func:`_header`), and the boundary is fixed, so flattening does not scan the
    bodies for one.
    """
    msg = EmailMessage()
    msg["From"] = _header("From", clean_header(settings.mail_from))
    msg["To"] = Address(addr_spec=clean_header(to))
    msg["Subject"] = _header("Subject", clean_header(subject, limit=150))
    msg["Date"] = _header("Date", format_datetime(date))
    msg["Message-ID"] = message_id or _fresh_id(settings, to, date)
    msg["Auto-Submitted"] = _header("Auto-Submitted", "auto-generated")
    if list_id_value:
        msg["List-Id"] = _header("List-Id", list_id_value)
        msg["Precedence"] = _header("Precedence", "bulk")
    if unsubscribe_url:
        token = unsubscribe_url.rstrip("/").rpartition("/")[2]
        mailto = f"mailto:{sender_address(settings)}?subject={quote('unsubscribe ' + token)}"
        msg["List-Unsubscribe"] = f"<{unsubscribe_url}>, <{mailto}>"
        msg["List-Unsubscribe-Post"] = _header(
            "List-Unsubscribe-Post", "List-Unsubscribe=One-Click"
        )
    msg["MIME-Version"] = _header("MIME-Version", "1.0")
    msg["Content-Type"] = _header("Content-Type", f'multipart/alternative; boundary="{_BOUNDARY}"')
    msg.attach(_text_part(text_body, "plain"))
    msg.attach(_text_part(html_body, "html"))
    return msg


# "=_" never occurs in quoted-printable text (every "=" there starts a hex pair or a soft
# line break), so one boundary per process cannot collide with a body.
_BOUNDARY = f"=_{secrets.token_hex(12)}"


@lru_cache(maxsize=256)
def _header(name: str, value: str) -> BaseHeader:
    """A parsed header of the default policy (immutable: copies share it)."""
    return cast(BaseHeader, email.policy.default.header_factory(name, value))


def _text_part(body: str, subtype: str) -> EmailMessage:
    """One ``text/<subtype>`` UTF-8 part, quoted-printable (binascii: C speed)."""
    part = EmailMessage()
    part["Content-Type"] = _header("Content-Type", f'text/{subtype}; charset="utf-8"')
    part["Content-Transfer-Encoding"] = _header("Content-Transfer-Encoding", "quoted-printable")
    if not body.endswith("\n"):
        body += "\n"
    part.set_payload(binascii.b2a_qp(body.encode("utf-8"), istext=True).decode("ascii"))
    return part


@dataclass(frozen=True, slots=True)
class RawMessage:
    """A message flattened once, as SMTP carries it: ASCII bytes with CRLF line ends."""

    sender: str  # the envelope's MAIL FROM
    recipients: tuple[str, ...]
    message_id: str
    data: bytes

    def as_email(self) -> EmailMessage:
        """The message parsed back (for mailers that want an EmailMessage)."""
        return cast(EmailMessage, email.message_from_bytes(self.data, policy=email.policy.default))


Outgoing = EmailMessage | RawMessage

# an address or Message-ID that the header policy would write unchanged
_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
                            r"@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?")
_PLAIN_ID = re.compile(r"<[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9.-]+>")
_PLAIN_URL = re.compile(r"[!-~]+")  # printable ASCII, no space
_LINE = re.compile(r"\r\n|\r|\n")


def build_raw_message(
    settings: Settings,
    *,
    to: str,
    subject: str,
    text_body: str,
    html_body: str,
    date: datetime,
    message_id: str,
    unsubscribe_url: str,
    list_id_value: str,
) -> Outgoing:
    """:func:`build_message`'s digest copy flattened straight to SMTP bytes.

    The headers every copy shares are folded once (:func:`_folded`); the per-reader ones
    (To, Message-ID, List-Unsubscribe) are plain ASCII written as the policy writes
    them, except List-Unsubscribe, which is folded between its two URLs instead of into
    encoded words (RFC 2369 wants the URLs as they are). The bytes equal flattening
    :func:`build_message`'s message for SMTP in every other header and in the bodies
    (``tests/newsletter/test_send_pool.py``). An address or id outside that plain form
    gets :func:`build_message`'s EmailMessage instead.
    """
    to_addr = clean_header(to)
    token = unsubscribe_url.rstrip("/").rpartition("/")[2]
    mailto = f"mailto:{sender_address(settings)}?subject={quote('unsubscribe ' + token)}"
    sender = sender_address(settings)
    plain = (
        _PLAIN_ADDRESS.fullmatch(to_addr) is not None
        and len(to_addr) < 70
        and _PLAIN_ID.fullmatch(message_id) is not None
        and len(message_id) < 64
        and _PLAIN_URL.fullmatch(unsubscribe_url) is not None
        and sender.isascii()
    )
    if not plain:
        return build_message(
            settings, to=to, subject=subject, text_body=text_body, html_body=html_body,
            date=date, message_id=message_id, unsubscribe_url=unsubscribe_url,
            list_id_value=list_id_value,
        )
    unsubscribe = f"List-Unsubscribe: <{unsubscribe_url}>, <{mailto}>"
    if len(unsubscribe) > 78:
        unsubscribe = f"List-Unsubscribe: <{unsubscribe_url}>,\r\n <{mailto}>"
    head = b"".join((
        _folded("From", clean_header(settings.mail_from)),
        f"To: {to_addr}\r\n".encode("ascii"),
        _folded("Subject", clean_header(subject, limit=150)),
        _folded("Date", format_datetime(date)),
        f"Message-ID: {message_id}\r\n".encode("ascii"),
        _folded("Auto-Submitted", "auto-generated"),
        _folded("List-Id", list_id_value),
        _folded("Precedence", "bulk"),
        unsubscribe.encode("ascii") + b"\r\n",
        _folded("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
        _folded("MIME-Version", "1.0"),
        _folded("Content-Type", f'multipart/alternative; boundary="{_BOUNDARY}"'),
    ))
    boundary = _BOUNDARY.encode("ascii")
    data = b"".join((
        head, b"\r\n--", boundary, b"\r\n", _raw_part(text_body, "plain"),
        b"\r\n--", boundary, b"\r\n", _raw_part(html_body, "html"),
        b"\r\n--", boundary, b"--\r\n",
    ))
    return RawMessage(sender, (to_addr,), message_id, data)


@lru_cache(maxsize=512)
def _folded(name: str, value: str) -> bytes:
    """``Name: value`` folded by the default policy for SMTP (CRLF), once per value."""
    policy = email.policy.default.clone(linesep="\r\n")
    return policy.fold_binary(name, _header(name, value))


def _raw_part(body: str, subtype: str) -> bytes:
    """A :func:`_text_part` as the generator writes it (CRLF line ends)."""
    if not body.endswith("\n"):
        body += "\n"
    if "\r" in body:
        payload = binascii.b2a_qp(body.encode("utf-8"), istext=True).decode("ascii")
        encoded = "\r\n".join(_LINE.split(payload)).encode("ascii")
    else:
        encoded = _qp_lines(body)
    return b"".join((
        _folded("Content-Type", f'text/{subtype}; charset="utf-8"'),
        _folded("Content-Transfer-Encoding", "quoted-printable"),
        b"\r\n",
        encoded,
    ))


_QP: dict[str, bytes] = {}  # a line (without its newline) -> its quoted-printable, CRLF
_MAX_QP_LINES = 20_000  # ~200 bytes each; the lines of a week's pieces, a few thousand


def _qp_lines(body: str) -> bytes:
    """``b2a_qp(body)`` with CRLF line ends, for a ``body`` ending with a newline and
    holding no CR: quoted-printable is line-local (soft breaks count columns from the
    line's start, a line's end whitespace is encoded by what follows it), so each line is
    encoded with its newline on its own, and the lines every copy shares (the cached
    pieces of :class:`newsletter.render.DigestRenderer`) once a process. Byte-identical
    to encoding the whole body (``tests/newsletter/test_qp_lines.py``)."""
    cache = _QP
    out = []
    for line in body.split("\n")[:-1]:
        found = cache.get(line)
        if found is None:
            if len(cache) >= _MAX_QP_LINES:
                cache.clear()
            qp = binascii.b2a_qp((line + "\n").encode("utf-8"), istext=True)
            found = cache[line] = qp.replace(b"\n", b"\r\n")
        out.append(found)
    return b"".join(out)


def _fresh_id(settings: Settings, to: str, date: datetime) -> str:
    seed = f"{settings.secret_key}|{to}|{date.isoformat()}".encode()
    return f"<{hashlib.sha256(seed).hexdigest()[:24]}@{sender_domain(settings)}>"
