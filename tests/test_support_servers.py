"""The loopback servers the other tests rely on behave as documented."""

from __future__ import annotations

import smtplib
import urllib.error
import urllib.request
from email.message import EmailMessage

import pytest

from tests.support.httpserver import LoopbackHTTPServer
from tests.support.smtpserver import LoopbackSMTPServer


def test_http_server_answers_304_to_a_matching_etag(http_server: LoopbackHTTPServer) -> None:
    url = http_server.add("/feed.xml", b"<rss/>", content_type="application/rss+xml")
    with urllib.request.urlopen(url) as resp:
        etag = resp.headers["ETag"]
        assert resp.read() == b"<rss/>"
    req = urllib.request.Request(url, headers={"If-None-Match": etag})
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(req)
    assert info.value.code == 304
    assert http_server.hits("/feed.xml") == 2


def test_smtp_server_records_messages_and_scripted_failures(
    smtp_server: LoopbackSMTPServer,
) -> None:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "a@example.org", "b@example.org", "Salut"
    msg.set_content("Bonjour")
    smtp_server.fail_next(451)
    with smtplib.SMTP("127.0.0.1", smtp_server.port) as smtp:
        with pytest.raises(smtplib.SMTPDataError) as info:
            smtp.send_message(msg)
        assert info.value.smtp_code == 451
        smtp.send_message(msg)
    assert [m["Subject"] for m in smtp_server.messages] == ["Salut"]
    assert smtp_server.recipients() == ["b@example.org"]
