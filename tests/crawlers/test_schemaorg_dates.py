"""A schema.org event whose start date cannot be a day (year 0, 99999, "2026-13-45") is
dropped with a note for the admin, in French; the page's other events stay."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.raw import SourceDefaults
from aggregator.regions import load_region
from crawlers.document import Fetched, read_document
from crawlers.parsers import parse_document
from crawlers.parsers.common import parse_iso
from crawlers.parsers.schemaorg import _PLAIN_ISO, OUT_OF_RANGE, _when, impossible_start
from web.translations_en import EN

PAGE = Path(__file__).resolve().parents[1] / "data" / "html" / "jsonld-dates-out-of-range.html"
WINDOW = SourceDefaults(
    window_start=datetime(2026, 3, 1, tzinfo=UTC), window_end=datetime(2027, 3, 1, tzinfo=UTC)
)
URL = "https://provence-python.example.org/agenda"


def page(*starts: str, end: str | None = None) -> bytes:
    nodes = [{"@context": "https://schema.org", "@type": "Event", "name": f"Rencontre {n}",
              "startDate": start, **({"endDate": end} if end else {})}
             for n, start in enumerate(starts)]  # fmt: skip
    scripts = "".join(f'<script type="application/ld+json">{json.dumps(n)}</script>' for n in nodes)
    return f"<!doctype html><html><head>{scripts}</head><body></body></html>".encode()


def parse(body: bytes):  # type: ignore[no-untyped-def]
    return parse_document(body, url=URL, headers={"content-type": "text/html"}, defaults=WINDOW)


def test_the_fixtures_impossible_dates_are_named_in_one_french_note() -> None:
    result = parse(PAGE.read_bytes())
    assert [e.title for e in result.events] == [
        "Provence Python #31 : typage et mypy", "Provence Python #32 : Django et HTMX"]
    expected = OUT_OF_RANGE.format(
        n=3, dates="0000-12-03T18:30:00+01:00, 99999-12-17, 2026-13-45T19:00:00+01:00")
    assert result.warnings == [expected]
    assert expected.startswith("3 événement(s) ignoré(s) : date de début impossible")


def test_the_note_reaches_the_admin_as_a_finding() -> None:
    fetched = Fetched(PAGE.read_bytes(), URL, {"content-type": "text/html"})
    reading = read_document(fetched, WINDOW, region=load_region("aix-marseille"))
    notes = [f for f in reading.findings if f.code == "parser_notes"]
    assert notes and "3 événement(s) ignoré(s)" in notes[0].message_fr
    assert len(reading.normalized) == 2


def test_the_note_has_its_english_with_the_same_fields() -> None:
    assert OUT_OF_RANGE in EN
    fields = sorted(part.split("}")[0] for part in OUT_OF_RANGE.split("{")[1:])
    assert fields == ["dates", "n"]
    assert sorted(part.split("}")[0] for part in EN[OUT_OF_RANGE].split("{")[1:]) == fields


@pytest.mark.parametrize("bad", ["0000-01-01", "99999-06-01T18:00:00Z", "2026-13-45",
                                 "2026-02-30T19:00:00+01:00", "0001-01-01T00:30:00+01:00"])
def test_one_impossible_start_drops_that_event_only(bad: str) -> None:
    result = parse(page(bad, "2026-12-01T18:30:00+01:00"))
    assert [e.title for e in result.events] == ["Rencontre 1"]
    assert result.warnings == [OUT_OF_RANGE.format(n=1, dates=bad)]


def test_a_page_whose_only_event_has_an_impossible_date_still_says_so() -> None:
    result = parse(page("2026-13-45"))
    assert result.events == []
    assert OUT_OF_RANGE.format(n=1, dates="2026-13-45") in result.warnings


def test_the_note_quotes_three_dates_at_most_and_counts_them_all() -> None:
    result = parse(page("0000-01-01", "0000-01-01", "2026-13-45", "99999-01-01", "2026-00-10"))
    assert result.warnings[0] == OUT_OF_RANGE.format(
        n=5, dates="0000-01-01, 2026-13-45, 99999-01-01")


def test_what_is_not_written_as_a_date_and_a_bad_end_say_nothing() -> None:
    assert impossible_start({"@type": "Event", "name": "Apéro", "startDate": "bientôt"}) is None
    assert impossible_start({"@type": "Event", "startDate": "2026-13-45"}) is None  # no title
    result = parse(page("2026-12-01T18:30:00+01:00", end="2026-12-45T21:00:00+01:00"))
    assert [(e.title, e.end) for e in result.events] == [("Rencontre 0", None)]
    assert result.warnings == []


SHAPES = ["2026-11-19T19:00:00+01:00", "2026-11-19T19:00:00Z", "2026-11-19T19:00",
          "2026-11-19T19:00:00.250000-05:00", "2026-02-30T19:00:00+01:00",
          "2026-11-19T24:00:00+01:00", "0001-01-01T00:30:00+01:00", "9999-12-31T23:30:00-02:00",
          "0999-06-01T10:00:00Z", "2026-03-29T02:30:00+01:00", "2026-11-19T19:00:00+14:00",
          "2027-01-28T19:00:00+0100", "2027-01-28T19:00:00-0930", "0001-01-01T00:30:00+0100"]


@pytest.mark.parametrize("text", SHAPES)
def test_schema_dates_read_as_parse_iso_reads_them(text: str) -> None:
    got, want = _when(text), parse_iso(text)
    assert (got, type(got), getattr(got, "tzinfo", None)) == (
        want, type(want), getattr(want, "tzinfo", None))


@settings(max_examples=300, deadline=None)
@given(st.from_regex(_PLAIN_ISO, fullmatch=True))
def test_every_plain_iso_shape_reads_as_parse_iso_reads_it(text: str) -> None:
    got, want = _when(text), parse_iso(text)
    assert (got, type(got), getattr(got, "tzinfo", None)) == (
        want, type(want), getattr(want, "tzinfo", None))
