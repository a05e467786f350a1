"""The digest's MIME message carries both bodies intact through SMTP-style flattening."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy

from aggregator.settings import Settings
from newsletter.messages import build_message

AWKWARD = (
    "Ligne très longue " + "é=à " * 60 + "\n"
    "espaces en fin de ligne   \n"
    ".\n"
    "From the start of a line\n"
    "--=_ ressemble à une frontière\n"
    "a=b&c <tag> ☕\n"
)


def test_long_lines_equals_signs_and_accents_survive_quoted_printable(settings: Settings) -> None:
    when = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)
    html = f"<p>{AWKWARD}</p>\n"
    msgs = [
        build_message(
            settings,
            to=f"r{i}@example.org",
            subject="Aix : 2 événements",
            text_body=AWKWARD,
            html_body=html,
            date=when,
            message_id=f"<{i}@example.org>",
            unsubscribe_url=f"https://agenda.example.org/unsubscribe/T{i}",
        )
        for i in range(2)
    ]
    for i, msg in enumerate(msgs):
        raw = msg.as_bytes(policy=policy.SMTP)
        assert max(len(line) for line in raw.split(b"\r\n")) <= 78
        parsed = message_from_bytes(raw, policy=policy.default)
        assert parsed["To"] == f"r{i}@example.org"
        assert parsed["Subject"] == "Aix : 2 événements"
        assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert f"unsubscribe/T{i}" in parsed["List-Unsubscribe"]
        assert parsed.get_content_type() == "multipart/alternative"
        plain, rich = parsed.get_body(("plain",)), parsed.get_body(("html",))
        assert plain is not None and rich is not None
        assert plain.get_content().replace("\r\n", "\n") == AWKWARD  # wire form is CRLF
        assert rich.get_content().replace("\r\n", "\n") == html
        assert [p.get_content_type() for p in parsed.iter_parts()] == ["text/plain", "text/html"]
