"""Format detection: Content-Type, then the body, only then the URL."""

from __future__ import annotations

from pathlib import Path

import pytest

from aggregator.errors import ParseError, UnsupportedFormatError
from crawlers.detect import detect_format

DATA = Path(__file__).resolve().parents[1] / "data"


def read(name: str) -> bytes:
    return (DATA / name).read_bytes()


def test_an_ical_file_served_as_text_plain_is_detected_as_ical() -> None:
    body = read("ical/meetup-marseille-python.ics")
    assert detect_format(body, url="https://x.fr/cal", content_type="text/plain") == "ical"


def test_an_rss_feed_served_as_text_html_is_detected_as_rss() -> None:
    body = read("feeds/agenda-du-libre-paca.rss")
    assert detect_format(body, url="https://x.fr/", content_type="text/html") == "rss"


def test_an_html_page_served_as_rss_is_detected_as_html() -> None:
    body = read("bad/html-served-as-rss.rss")
    fmt = detect_format(body, url="https://x.fr/feed", content_type="application/rss+xml")
    assert fmt == "html"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("feeds/meetup-recap.atom", "atom"),
        ("feeds/event-module.rss", "rss"),
        ("feeds/openagenda-export.json", "json"),
        ("html/sitemap-events.xml", "sitemap"),
        ("html/luma-event.html", "html"),
    ],
)
def test_the_body_names_the_format_whatever_the_content_type(name: str, expected: str) -> None:
    body = read(name)
    assert detect_format(body, url="https://x.fr/x", content_type="application/octet-stream") == (
        expected
    )


def test_the_url_decides_only_when_the_body_says_nothing() -> None:
    body = b"VERSION:2.0\r\nthis is not telling\r\n"
    assert detect_format(body, url="https://x.fr/agenda.ics", content_type=None) == "ical"


def test_a_declared_content_type_is_used_when_the_body_is_not_telling() -> None:
    body = b"   just some words"
    assert detect_format(body, url="https://x.fr/x", content_type="text/html") == "html"


def test_an_empty_body_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="empty"):
        detect_format(b"  \n", url="https://x.fr/", content_type="text/html")


def test_an_unknown_body_is_an_unsupported_format_error() -> None:
    with pytest.raises(UnsupportedFormatError, match="served as application/pdf"):
        detect_format(b"%PDF-1.7 binary", url="https://x.fr/doc", content_type="application/pdf")


def test_activitypub_and_guarded_json_are_json() -> None:
    body = b'{"type": "Event", "name": "x"}'
    assert (
        detect_format(body, url="https://m.fr/e/1", content_type="application/activity+json")
        == "json"
    )
    assert (
        detect_format(b')]}\'\n{"events": []}', url="https://x.fr/api", content_type=None) == "json"
    )
