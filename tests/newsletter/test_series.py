"""Series, not spam: a weekly meetup appears once, its special occurrences on their own."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from aggregator.settings import Settings
from newsletter.render import DigestLinks, render_digest
from newsletter.select import EventView, SubscriberPrefs, select_digest

PARIS = ZoneInfo("Europe/Paris")
MONDAY = date(2026, 11, 30)


def tuesday(week: int, hour: int = 19, **kw: object) -> EventView:
    start = datetime(2026, 12, 1, hour, 0, tzinfo=PARIS) + timedelta(weeks=week)
    values: dict[str, object] = {
        "title": "Apéro Python Marseille",
        "venue": "La Coque",
        "insee": "13055",
        "city": "Marseille",
        "topics": ("web-mobile",),
        "series_uid": "apero-python@meetup.com",
    }
    values.update(kw)
    return EventView(id=10 + week, start=start.astimezone(UTC), **values)  # type: ignore[arg-type]


def choose(events: list[EventView], lang: str = "fr"):  # type: ignore[no-untyped-def]
    return select_digest(
        events, SubscriberPrefs(email="a@example.org", language=lang), week_start=MONDAY, tz=PARIS
    )


def test_a_weekly_series_is_folded_into_one_line_with_its_dates() -> None:
    content = choose([tuesday(0), tuesday(1)])
    [group] = content.series
    assert group.weekday == 1 and group.dates == (date(2026, 12, 1), date(2026, 12, 8))
    assert content.week_items == [] and content.save_the_date == ()
    assert content.count == 1 and content.later_count == 1 and content.event_ids == (10, 11)


def test_an_occurrence_with_a_special_speaker_or_another_venue_is_listed_on_its_own() -> None:
    special = tuesday(1, title="Apéro Python Marseille : spécial Django 6 avec Carlton Gibson")
    moved_venue = tuesday(1, venue="Le Village by CA")
    content = choose([tuesday(0), special])
    assert content.series == ()  # only one plain occurrence left: no group
    content = choose([tuesday(0), tuesday(1), EventView(**{**_fields(special), "id": 30})])
    [group] = content.series
    assert group.dates == (date(2026, 12, 1), date(2026, 12, 8))
    assert [i.event.id for i in content.save_the_date] == [30]
    content = choose([tuesday(0), tuesday(1), EventView(**{**_fields(moved_venue), "id": 31})])
    assert [i.event.venue for i in content.save_the_date] == ["Le Village by CA"]


def _fields(event: EventView) -> dict[str, object]:
    return {name: getattr(event, name) for name in EventView.__slots__}  # type: ignore[attr-defined]


def test_same_title_and_venue_without_a_series_uid_is_a_series_too() -> None:
    content = choose([tuesday(0, series_uid=None), tuesday(1, series_uid=None)])
    assert len(content.series) == 1


def test_the_series_line_reads_every_tuesday_in_both_languages(settings: Settings) -> None:
    links = DigestLinks(unsubscribe="https://x/u", preferences="https://x/p")
    for lang, expected in (("fr", "Tous les mardis :"), ("en", "Every Tuesday:")):
        content = choose([tuesday(0), tuesday(1)], lang)
        prefs = SubscriberPrefs(email="a@example.org", language=lang)
        html, text = render_digest(content, prefs, settings, region_name="Aix-Marseille",
                                   links=links)
        assert expected in text and text.count("Apéro Python Marseille") == 1
        assert html.count("Apéro Python Marseille</a>") == 1
