"""Choosing one subscriber's week: pure data in, pure data out."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from newsletter.select import EventView, SubscriberPrefs, select_digest

PARIS = ZoneInfo("Europe/Paris")
MONDAY = date(2026, 11, 30)
LAST_DIGEST = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)


def ev(id: int, title: str, day: int, hour: int = 19, **kw: object) -> EventView:
    start = datetime(2026, 11, 30, hour, 0, tzinfo=PARIS) + timedelta(days=day)
    values: dict[str, object] = {
        "insee": "13055",
        "city": "Marseille",
        "topics": ("web-mobile",),
        "created_at": datetime(2026, 11, 20, tzinfo=UTC),
    }
    values.update(kw)
    return EventView(id=id, title=title, start=start.astimezone(UTC), **values)  # type: ignore[arg-type]


def choose(events: list[EventView], prefs: SubscriberPrefs | None = None, **kw: object):  # type: ignore[no-untyped-def]
    return select_digest(
        events,
        prefs or SubscriberPrefs(email="a@example.org"),
        week_start=MONDAY,
        tz=PARIS,
        announced_ids=kw.get("announced_ids", set()),  # type: ignore[arg-type]
        last_digest_at=kw.get("last_digest_at"),  # type: ignore[arg-type]
    )


def test_events_are_grouped_by_local_day_in_time_order() -> None:
    content = choose(
        [ev(1, "Mercredi soir", 2, 19), ev(2, "Lundi", 0, 18), ev(3, "Mercredi midi", 2, 12)]
    )
    assert [g.day for g in content.days] == [date(2026, 11, 30), date(2026, 12, 2)]
    assert [i.event.title for i in content.days[1].items] == ["Mercredi midi", "Mercredi soir"]


def test_a_late_evening_utc_start_lands_on_the_local_day() -> None:
    # 00:30 on Tuesday in Paris is 23:30 UTC on Monday
    content = choose([ev(1, "Hackathon de nuit", 1, 0)])
    assert content.days[0].day == date(2026, 12, 1)


def test_the_week_after_goes_to_save_the_date_and_later_is_left_out() -> None:
    content = choose(
        [ev(1, "Cette semaine", 3), ev(2, "Semaine suivante", 8), ev(3, "Trop loin", 15)]
    )
    assert [i.event.id for i in content.week_items] == [1]
    assert [i.event.id for i in content.save_the_date] == [2]
    assert content.count == 1 and content.later_count == 1


def test_topics_filter_keeps_only_shared_topics() -> None:
    prefs = SubscriberPrefs(email="a@example.org", topics=frozenset({"ia-data"}))
    content = choose(
        [ev(1, "Web", 1), ev(2, "IA", 2, topics=("ia-data", "recherche-formation"))], prefs
    )
    assert content.event_ids == (2,)


def test_towns_filter_counts_marseille_arrondissements_as_marseille() -> None:
    from aggregator.regions import load_region
    from newsletter.compose import events_on_whole_communes, prefs_on_whole_communes

    region = load_region("aix-marseille")  # the pack's commune_parts say so, not the code
    events = [
        ev(1, "Marseille 2e", 1, insee="13202"),
        ev(2, "Aix", 2, insee="13001", city="Aix-en-Provence"),
        ev(3, "En ligne", 3, online=True, insee=None, city=None),
    ]
    prefs = SubscriberPrefs(email="a@example.org", towns=frozenset({"13055"}), include_online=False)
    assert choose(events, prefs).event_ids == ()  # the selection compares codes as given
    placed = events_on_whole_communes(region, events)
    assert [e.insee for e in placed] == ["13055", "13001", None]
    assert choose(placed, prefs).event_ids == (1,)
    third = prefs_on_whole_communes(region, replace(prefs, towns=frozenset({"13203"})))
    assert third.towns == {"13055"} and choose(placed, third).event_ids == (1,)


def test_online_events_follow_the_include_online_choice() -> None:
    online = ev(1, "Webinaire", 1, online=True, insee=None, city=None)
    yes = SubscriberPrefs(email="a@example.org", towns=frozenset({"13001"}))
    no = SubscriberPrefs(email="a@example.org", include_online=False)
    assert choose([online], yes).event_ids == (1,)
    assert choose([online], no).event_ids == ()


def test_cancelled_event_appears_only_when_announced_before() -> None:
    cancelled = ev(7, "Meetup annulé", 2, status="cancelled")
    assert choose([cancelled]).is_empty
    content = choose([cancelled], announced_ids={7})
    item = content.week_items[0]
    assert item.is_cancelled and content.count == 0


def test_new_marks_only_events_created_since_the_last_digest() -> None:
    old = ev(1, "Annoncé", 1, created_at=datetime(2026, 11, 10, tzinfo=UTC))
    fresh = ev(2, "Tout nouveau", 2, created_at=datetime(2026, 11, 25, tzinfo=UTC))
    content = choose([old, fresh], announced_ids={1}, last_digest_at=LAST_DIGEST)
    assert [(i.event.id, i.is_new) for i in content.week_items] == [(1, False), (2, True)]
    assert content.new_count == 1
    # a first digest marks nothing new
    assert choose([old, fresh]).new_count == 0


def test_all_day_and_running_multi_day_events_are_placed_on_dates() -> None:
    fair = EventView(
        id=1,
        title="Salon",
        start=None,
        all_day=True,
        start_date=date(2026, 11, 28),
        end_date=date(2026, 12, 1),
        insee="13055",
    )
    day = EventView(
        id=2, title="Journée", start=None, all_day=True, start_date=date(2026, 12, 4), insee="13055"
    )
    content = choose([fair, day])
    assert [(g.day, g.items[0].local_start) for g in content.days] == [
        (date(2026, 11, 30), None),
        (date(2026, 12, 4), None),
    ]
