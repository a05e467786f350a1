"""Several SMTP connections in flight (SMTP_CONNECTIONS) against the loopback aiosmtpd server:
each reader gets exactly one message, and a connection the server drops loses none and
doubles none."""

from __future__ import annotations

import email.generator
import io
from collections import Counter
from datetime import UTC, datetime

import pytest
from aiosmtpd.smtp import SMTP, Envelope
from aiosmtpd.smtp import Session as SMTPSession
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from aggregator.errors import ConfigError
from aggregator.models import Delivery, DeliveryStatus
from aggregator.settings import Settings, load_settings
from newsletter.messages import RawMessage, build_message, build_raw_message
from newsletter.send import send_digest
from tests.newsletter.conftest import NOW, WEEK, add_subscriber, seed_week
from tests.support.smtpserver import LoopbackSMTPServer, _Handler

READERS = [f"lecteur{i:03d}@example.org" for i in range(200)]


def _seed(engine: Engine, readers: list[str] = READERS) -> None:
    with Session(engine) as s:
        seed_week(s)
        for address in readers:
            add_subscriber(s, address)
        s.commit()


def _conf(settings: Settings, server: LoopbackSMTPServer, **kw: object) -> Settings:
    return settings.model_copy(update={"mail_url": server.url, "smtp_connections": 4, **kw})


def _statuses(engine: Engine) -> Counter[str]:
    with Session(engine) as s:
        return Counter(s.exec(select(Delivery.status)).all())


class _Handler2(_Handler):
    """Notes each message's connection (its peer); before accepting the ``drop_at``-th
    message, closes that connection (the message is not kept) and answers the next
    ``then_fail`` messages with a 451."""

    def __init__(self, owner: LoopbackSMTPServer, *, drop_at: int = 0, then_fail: int = 0) -> None:
        super().__init__(owner)
        self.seen, self.drop_at, self.then_fail = 0, drop_at, then_fail
        self.dropped = False
        self.peers: set[object] = set()

    async def handle_DATA(self, server: SMTP, session: SMTPSession, envelope: Envelope) -> str:
        with self.owner.lock:
            self.seen += 1
            self.peers.add(session.peer)
            drop = self.seen == self.drop_at
        if drop and server.transport is not None:
            self.dropped = True
            self.owner.fail_next(451, self.then_fail)
            server.transport.close()
            return "421 closing"
        return await super().handle_DATA(server, session, envelope)


def test_four_connections_give_each_of_200_readers_exactly_one_message(
    sqlite_engine: Engine, settings: Settings, smtp_server: LoopbackSMTPServer
) -> None:
    _seed(sqlite_engine)
    handler = _Handler2(smtp_server)
    smtp_server._controller.handler = handler  # each new connection gets this handler
    report = send_digest(sqlite_engine, _conf(settings, smtp_server), week=WEEK, now=NOW)
    messages = smtp_server.wait_for_messages(len(READERS))
    counts = Counter(str(m["To"]) for m in messages)
    assert sorted(counts) == READERS and set(counts.values()) == {1}
    assert len({str(m["Message-ID"]) for m in messages}) == len(READERS)
    assert (report.sent, report.pending, report.in_flight) == (len(READERS), 0, 0)
    assert _statuses(sqlite_engine) == {DeliveryStatus.sent: len(READERS)}
    # the copies really went over several connections at once
    assert 1 < len(handler.peers) <= 4


def test_a_connection_dropped_mid_send_loses_and_doubles_nothing(
    sqlite_engine: Engine, settings: Settings, smtp_server: LoopbackSMTPServer
) -> None:
    _seed(sqlite_engine)
    handler = _Handler2(smtp_server, drop_at=57, then_fail=3)
    smtp_server._controller.handler = handler
    conf = _conf(settings, smtp_server)
    first = send_digest(sqlite_engine, conf, week=WEEK, now=NOW, attempts=1)
    assert handler.dropped
    # the copies that met the drop and the 451s are recorded, pending for the next run
    assert first.sent + first.pending == len(READERS) and first.pending >= 1
    assert first.last_error and first.last_error.startswith("451")
    with Session(sqlite_engine) as s:
        held = s.exec(select(Delivery).where(Delivery.status == DeliveryStatus.pending)).all()
        assert held and all(d.last_error for d in held)
    assert len(smtp_server.messages) == first.sent
    second = send_digest(sqlite_engine, conf, week=WEEK, now=NOW)
    assert second.sent == first.pending and second.pending == 0
    counts = Counter(str(m["To"]) for m in smtp_server.wait_for_messages(len(READERS)))
    assert sorted(counts) == READERS and set(counts.values()) == {1}
    assert _statuses(sqlite_engine) == {DeliveryStatus.sent: len(READERS)}


def test_smtp_connections_is_bounded(tmp_path: object) -> None:
    assert load_settings(data_dir=f"{tmp_path}/a", smtp_connections=16).smtp_connections == 16
    for wrong in (0, 17):
        with pytest.raises(ConfigError):
            load_settings(data_dir=f"{tmp_path}/b", smtp_connections=wrong)


@pytest.mark.parametrize("subject", ["Marseille : 3 événements", "plain " * 30])
def test_the_copy_flattened_once_is_the_bytes_smtplib_would_send(
    settings: Settings, subject: str
) -> None:
    values = {
        "to": "lea@example.org",
        "subject": subject,
        "text_body": "Bonjour Léa\n" * 40 + "=fin.",
        "html_body": "<p>été</p>\n" * 200,
        "date": datetime(2026, 11, 30, 8, tzinfo=UTC),
        "message_id": "<2026-W49.7.abcdef@techagenda.localhost>",
        "unsubscribe_url": "https://agenda.example.org/unsubscribe/" + "t" * 90,
        "list_id_value": "Techagenda Aix-Marseille <aix-marseille.digest.techagenda.localhost>",
    }
    raw = build_raw_message(settings, **values)  # type: ignore[arg-type]
    assert isinstance(raw, RawMessage)
    out = io.BytesIO()
    email.generator.BytesGenerator(out).flatten(build_message(settings, **values), linesep="\r\n")  # type: ignore[arg-type]
    ours, theirs = raw.data.split(b"\r\nList-Unsubscribe: "), out.getvalue()
    assert theirs.startswith(ours[0]) and theirs.endswith(ours[1].split(b"\r\n", 2)[2])
    # List-Unsubscribe keeps its URLs as they are (folded between them, no encoded words)
    parsed = raw.as_email()
    assert str(parsed["List-Unsubscribe"]).startswith(f"<{values['unsubscribe_url']}>, <mailto:")
    assert b"=?utf-8?" not in raw.data.split(b"List-Unsubscribe: ")[1].split(b"\r\nList-")[0]
    text = parsed.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert text.replace("\r\n", "\n") == values["text_body"] + "\n"


def test_an_address_outside_the_plain_form_gets_the_email_message_path(
    settings: Settings,
) -> None:
    msg = build_raw_message(
        settings, to='"lea x"@example.org', subject="s", text_body="t", html_body="h",
        date=datetime(2026, 11, 30, 8, tzinfo=UTC), message_id="<a@b>",
        unsubscribe_url="https://agenda.example.org/unsubscribe/x", list_id_value="L <l.x>",
    )
    assert not isinstance(msg, RawMessage) and msg["To"] == '"lea x"@example.org'
