"""WordPress: The Events Calendar REST (zones, all-day, bare offsets, virtual events,
paging) and ``wp/v2`` items read through the usual plugin keys or a source's mapping."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from aggregator.raw import SourceDefaults
from crawlers.parsers import ParseResult, parse_document
from crawlers.parsers.tec import offset_zone
from crawlers.parsers.wordpress import lookup

DATA = Path(__file__).resolve().parents[1] / "data" / "platforms"
DEFAULTS = SourceDefaults(timezone=None)
SITE = "https://lacantine.example.fr/wp-json/tribe/events/v1/events/"


def parse(body: bytes, url: str = SITE, defaults: SourceDefaults = DEFAULTS) -> ParseResult:
    return parse_document(body, url=url, headers={}, defaults=defaults)


def test_a_tec_listing_is_recognised_and_gives_its_next_page_on_the_same_site() -> None:
    result = parse((DATA / "tec" / "events-page.json").read_bytes())
    assert result.platform == "tribe-rest"
    assert result.links == [SITE + "?page=2&per_page=4"]
    assert parse((DATA / "tec" / "events-page.json").read_bytes(), "https://other.fr/x").links == []


def test_tec_reads_zones_all_day_offsets_and_virtual_events() -> None:
    by_title = {e.title: e for e in parse((DATA / "tec" / "events-page.json").read_bytes()).events}
    salon = by_title["Salon du numérique varois"]
    assert (salon.start, salon.end) == (date(2026, 11, 20), date(2026, 11, 21))
    no_code = by_title["Atelier no-code"]
    assert no_code.start == datetime(2027, 1, 14, 13, 0, tzinfo=UTC)
    assert no_code.start.utcoffset() == timedelta(hours=1)
    webinar = by_title["Webinaire RGPD pour les associations"]
    assert (webinar.online, webinar.online_url) == (True, "https://visio.example.fr/rgpd-assos")


def test_the_tec_ical_export_is_named_by_its_prodid() -> None:
    result = parse((DATA / "tec" / "ical-export.ics").read_bytes(), "https://x.fr/?ical=1")
    assert result.platform == "tribe-ical" and len(result.events) == 2


def test_one_tec_event_object_is_read_too() -> None:
    result = parse((DATA / "tec" / "single-event.json").read_bytes())
    assert result.platform == "tribe-rest" and [e.title for e in result.events] == ["Pitch Night"]


@pytest.mark.parametrize(
    ("text", "offset"),
    [("UTC+1", 1), ("UTC-5:30", -5.5), ("+02:00", 2), ("UTC+0", 0)],
)
def test_bare_offsets_become_fixed_zones(text: str, offset: float) -> None:
    found = offset_zone(text)
    assert found is not None
    assert found.utcoffset(None) == timedelta(hours=offset)
    assert offset_zone("Europe/Paris") is None


def test_wp_items_with_the_usual_acf_keys_need_no_mapping() -> None:
    result = parse(
        (DATA / "wordpress" / "agenda-acf.json").read_bytes(), "https://x.fr/wp-json/wp/v2/agenda"
    )
    assert result.platform == "wp-rest"
    assert [e.title for e in result.events][:1] == ["Atelier impression 3D – niveau 1"]
    assert any("mapping" in w for w in result.warnings)  # the item with no date


def test_a_source_mapping_says_where_a_custom_post_type_keeps_its_dates() -> None:
    item = {
        "id": 51,
        "link": "https://assos.example.fr/rdv/hackathon/",
        "title": {"rendered": "Hackathon des assos"},
        "acf": {"quand": {"jour": "2026-12-12", "debut": "9h30"}, "salle": "Grande salle"},
        "meta": {"fin": 1797094800},
    }
    mapping = {"start": "acf.quand.jour", "start_time": "acf.quand.debut", "end": "meta.fin",
               "venue": "acf.salle"}  # fmt: skip
    defaults = SourceDefaults(timezone=None, mapping=mapping)
    (event,) = parse(json.dumps([item]).encode(), "https://assos.example.fr/wp-json/wp/v2/rdv",
                     defaults).events  # fmt: skip
    assert event.start == datetime(2026, 12, 12, 9, 30)
    assert event.end == datetime.fromtimestamp(1797094800, UTC)
    assert event.venue == "Grande salle"
    without = parse(json.dumps([item]).encode(), "https://assos.example.fr/wp-json/wp/v2/rdv")
    assert without.events == [] and without.warnings


def test_lookup_walks_dicts_lists_and_single_value_meta_lists() -> None:
    item = {"meta": {"_EventStartDate": ["2026-05-01 10:00:00"]}, "acf": {"l": [{"n": "A"}]}}
    assert lookup(item, "meta._EventStartDate") == "2026-05-01 10:00:00"
    assert lookup(item, "acf.l.0.n") == "A"
    assert lookup(item, "acf.missing.x") is None


def test_an_agenda_item_with_no_date_field_is_dated_from_its_text() -> None:
    body = (DATA / "wordpress" / "agenda-acf.json").read_bytes()
    events = parse(body, "https://x.fr/wp-json/wp/v2/agenda").events
    games = next(e for e in events if e.uid == "9240")
    assert (games.start, games.end) == (datetime(2026, 12, 3, 19, 0), datetime(2026, 12, 3, 22, 0))
    assert games.venue == "Fablab du tiers-lieu"
