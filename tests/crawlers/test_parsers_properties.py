"""Properties: whatever bytes arrive, parse_document returns a result or raises ParseError."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aggregator.errors import ParseError
from aggregator.raw import SourceDefaults
from crawlers.parsers import ParseResult, parse_document

DATA = Path(__file__).resolve().parents[1] / "data"
SAMPLES = sorted(
    p
    for family in ("ical", "feeds", "html")
    for p in (DATA / family).iterdir()
    if not p.name.endswith(".expected.json")
)
DEFAULTS = SourceDefaults(
    window_start=datetime(2026, 9, 1, tzinfo=UTC), window_end=datetime(2027, 3, 1, tzinfo=UTC)
)
CONTENT_TYPES = st.sampled_from(
    [None, "text/html", "text/calendar", "application/rss+xml", "application/json", "text/plain"]
)


def parse_or_error(body: bytes, content_type: str | None, url: str) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    try:
        result = parse_document(body, url=url, headers=headers, defaults=DEFAULTS)
    except ParseError:
        return
    assert isinstance(result, ParseResult)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=st.binary(max_size=2000), content_type=CONTENT_TYPES)
def test_random_bytes_give_a_result_or_a_parse_error(body: bytes, content_type: str | None) -> None:
    parse_or_error(body, content_type, "https://example.fr/x")


@st.composite
def mutated_samples(draw: st.DrawFn) -> tuple[bytes, str]:
    path = draw(st.sampled_from(SAMPLES))
    body = bytearray(path.read_bytes())
    for _ in range(draw(st.integers(1, 6))):
        action = draw(st.sampled_from(["flip", "cut", "insert", "delete"]))
        at = draw(st.integers(0, max(len(body) - 1, 0)))
        if action == "flip" and body:
            body[at] = draw(st.integers(0, 255))
        elif action == "cut":
            del body[at:]
        elif action == "insert":
            body[at:at] = draw(
                st.sampled_from(
                    [
                        b"<",
                        b">",
                        b"&",
                        b"{",
                        b"}",
                        b'"',
                        b"\xff\xfe",
                        b"\r\n ",
                        b"<!ENTITY x 'y'>",
                        b"DTSTART:2026",
                        b"RRULE:FREQ=DAILY",
                        b"\x00",
                        b"\xc3",
                        b"]]>",
                    ]
                )
            )
        else:
            del body[at : at + draw(st.integers(1, 200))]
    return bytes(body), path.suffix


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sample=mutated_samples(), content_type=CONTENT_TYPES)
def test_mutated_corpus_files_give_a_result_or_a_parse_error(
    sample: tuple[bytes, str], content_type: str | None
) -> None:
    body, suffix = sample
    parse_or_error(body, content_type, f"https://example.fr/doc{suffix}")
