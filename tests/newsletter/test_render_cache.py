"""The digest renderer's cached pieces give each reader their own, correct copy."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import css_inline

from aggregator.settings import Settings
from newsletter.render import DigestLinks, DigestRenderer, attribute_text
from newsletter.select import EventView, SubscriberPrefs, select_digest

PARIS = ZoneInfo("Europe/Paris")
MONDAY = date(2026, 11, 30)
TOLD = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def at(d: int, h: int, mi: int = 0) -> datetime:
    return datetime(2026, 12, d, h, mi, tzinfo=PARIS).astimezone(UTC)


def week() -> list[EventView]:
    return [
        EventView(
            id=1,
            title="Marseille JUG : Java 25",
            start=at(1, 18, 30),
            end=at(1, 21),
            venue="La Coque",
            city="Marseille",
            insee="13055",
            topics=("web-mobile",),
        ),
        EventView(
            id=2,
            title="Atelier Rust & WebAssembly",
            start=at(2, 19),
            city="Aix-en-Provence",
            insee="13001",
            topics=("cloud-devops",),
        ),
        EventView(id=3, title="Webinaire IA", start=at(3, 12), online=True, topics=("ia-data",)),
        EventView(
            id=4,
            title="Apéro startups",
            start=at(9, 19),
            city="Marseille",
            insee="13055",
            topics=("startups-business",),
        ),
    ]


def links_for(reader: str, events: list[EventView]) -> DigestLinks:
    base = "https://agenda.example.org"
    return DigestLinks(
        unsubscribe=f"{base}/unsubscribe/U-{reader}",
        preferences=f"{base}/preferences/P-{reader}",
        feedback={
            e.id: (f"{base}/f/{reader}/{e.id}?v=more&n=1", f"{base}/f/{reader}/{e.id}?v=less")
            for e in events
        },
        feed_ics=f"{base}/me/{reader}/events.ics",
        feed_atom=f"{base}/me/{reader}/feed.xml",
    )


def test_two_readers_get_their_own_events_links_language_and_markers(settings: Settings) -> None:
    events = week()
    renderer = DigestRenderer(settings, region_name="Aix-Marseille")
    lea = SubscriberPrefs(email="lea@example.org", language="fr", id=1)
    tom = SubscriberPrefs(
        email="tom@example.org",
        language="en",
        id=2,
        towns=frozenset({"13001"}),
        include_online=False,
    )
    lea_content = select_digest(events, lea, week_start=MONDAY, tz=PARIS)
    tom_content = select_digest(
        events, tom, week_start=MONDAY, tz=PARIS, announced_ids={9}, last_digest_at=TOLD
    )  # had a digest before: unseen events are new
    lea_html, lea_text = renderer.render(lea_content, lea, links_for("lea", events))
    tom_html, tom_text = renderer.render(tom_content, tom, links_for("tom", events))
    again_html, again_text = renderer.render(lea_content, lea, links_for("lea", events))

    assert (again_html, again_text) == (lea_html, lea_text)  # from the cache, unchanged
    for body in (lea_html, lea_text):
        assert "Marseille JUG : Java 25" in body and "Webinaire IA" in body
        assert "Plus comme ça" in body and "Me désinscrire" in body
        assert "U-tom" not in body and "/f/tom/" not in body
        assert "Nouveau" not in body and "NOUVEAU" not in body
    assert "U-lea" in lea_html and "/f/lea/1?v=more&amp;n=1" in lea_html
    assert "/f/lea/1?v=more&n=1" in lea_text
    for body in (tom_html, tom_text):
        assert (
            "Atelier Rust &" in body and "Marseille JUG" not in body and "Webinaire IA" not in body
        )
        assert "Unsubscribe" in body and "More like this" in body and "Me désinscrire" not in body
        assert "U-lea" not in body and "/f/lea/" not in body
    assert "/f/tom/2?v=less" in tom_html and "U-tom" in tom_text
    assert 'class="badge badge-new"' in tom_html and "[NEW] Atelier Rust" in tom_text
    assert "1 event this week, 0 to save for the next." in tom_html


def test_a_reader_without_feedback_or_feeds_gets_none_of_the_cached_links(
    settings: Settings,
) -> None:
    events = week()
    renderer = DigestRenderer(settings, region_name="Aix-Marseille")
    first = SubscriberPrefs(email="a@example.org", id=1)
    renderer.render(
        select_digest(events, first, week_start=MONDAY, tz=PARIS), first, links_for("a", events)
    )
    bare = DigestLinks(unsubscribe="https://x.example/u/B", preferences="https://x.example/p/B")
    html, text = renderer.render(
        select_digest(events, first, week_start=MONDAY, tz=PARIS), first, bare
    )
    for body in (html, text):
        assert "Plus comme ça" not in body and "Mon agenda (iCal)" not in body
        assert "/f/a/" not in body and "urn:techagenda" not in body
        assert "https://x.example/u/B" in body


def test_a_changed_event_is_rendered_anew_not_taken_from_the_cache(settings: Settings) -> None:
    events = week()
    renderer = DigestRenderer(settings, region_name="Aix-Marseille")
    reader = SubscriberPrefs(email="a@example.org", id=1)
    links = links_for("a", events)
    renderer.render(select_digest(events, reader, week_start=MONDAY, tz=PARIS), reader, links)
    moved = [
        EventView(
            **{
                **{f: getattr(e, f) for f in e.__dataclass_fields__},
                "venue": "Le Phare",
                "start": e.start + timedelta(hours=1),
            }
        )
        if e.id == 1 and e.start
        else e
        for e in events
    ]
    html, text = renderer.render(
        select_digest(moved, reader, week_start=MONDAY, tz=PARIS), reader, links
    )
    assert "Le Phare" in html and "19:30 – 21:00" in html
    assert "La Coque" not in html and "La Coque" not in text


def test_per_reader_links_are_escaped_as_the_inliner_writes_attributes() -> None:
    value = "https://x.example/a?b=1&c=\"2\"&d='3'&e=<4>\u00a0f"
    inliner = css_inline.CSSInliner(keep_style_tags=True, load_remote_stylesheets=False)
    out = inliner.inline(
        f'<html><head></head><body><a href="{value.replace("&", "&amp;").replace(chr(34), "&quot;")}">x</a></body></html>'
    )
    assert f'href="{attribute_text(value)}"' in out
