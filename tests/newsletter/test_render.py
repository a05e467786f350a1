"""Rendered digests say the right things, in French and in English, and stay safe."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from email import message_from_bytes, policy
from zoneinfo import ZoneInfo

from aggregator.settings import Settings
from newsletter.messages import build_message
from newsletter.render import DigestLinks, render_digest, subject_line
from newsletter.select import EventView, SubscriberPrefs, select_digest

PARIS = ZoneInfo("Europe/Paris")
MONDAY = date(2026, 11, 30)
LINKS = DigestLinks(
    unsubscribe="https://agenda.example.org/unsubscribe/TOKEN-U",
    preferences="https://agenda.example.org/preferences/TOKEN-P",
)


def events() -> list[EventView]:
    return [
        EventView(
            id=11,
            title="Marseille JUG : Java 25 en production",
            start=datetime(2026, 12, 1, 18, 30, tzinfo=PARIS).astimezone(UTC),
            end=datetime(2026, 12, 1, 21, 0, tzinfo=PARIS).astimezone(UTC),
            venue="La Coque",
            city="Marseille",
            insee="13055",
            topics=("web-mobile", "cloud-devops"),
            url="https://marsjug.org/reunions/2026-12-01",
        ),
        EventView(
            id=12,
            title="Webinaire French Tech",
            start=datetime(2026, 12, 3, 12, 0, tzinfo=PARIS).astimezone(UTC),
            online=True,
            topics=("startups-business",),
        ),
        EventView(
            id=13,
            title="Cloud Native Aix-Marseille #30",
            start=datetime(2026, 12, 8, 18, 30, tzinfo=PARIS).astimezone(UTC),
            city="Aix-en-Provence",
            insee="13001",
            topics=("cloud-devops",),
        ),
    ]


def render(
    settings: Settings, language: str, evs: list[EventView] | None = None
) -> tuple[str, str, str]:
    prefs = SubscriberPrefs(email="lea@example.org", language=language)
    content = select_digest(
        evs or events(),
        prefs,
        week_start=MONDAY,
        tz=PARIS,
        announced_ids=set(),
        last_digest_at=None,
    )
    html, text = render_digest(content, prefs, settings, region_name="Aix-Marseille", links=LINKS)
    return subject_line(content, region_name="Aix-Marseille"), html, text


def test_french_digest_names_days_times_counts_and_links(settings: Settings) -> None:
    subject, html, text = render(settings, "fr")
    assert subject == "Aix-Marseille : 2 événements tech, 30 nov. – 6 déc. 2026"
    for body in (html, text):
        assert "Semaine du 30 nov. – 6 déc. 2026" in body
        assert "2 événements cette semaine, 1 à noter pour la suivante." in body
        assert "18:30 – 21:00" in body
        assert "La Coque, Marseille" in body
        assert "https://marsjug.org/reunions/2026-12-01" in body
        assert f"{settings.base_url}/events/11.ics" in body
        assert "TOKEN-U" in body and "TOKEN-P" in body
        assert settings.legal_line in body
    assert "Cloud &amp; DevOps" in html and "Cloud & DevOps" in text
    assert "Mardi 1 décembre" in html and "MARDI 1 DÉCEMBRE" in text
    assert "Jeudi 3 décembre" in html
    assert "En ligne" in html and "(en ligne)" in text
    assert "mar. 8 déc." in html  # save the date
    assert 'href="https://calendar.google.com/calendar/render?action=TEMPLATE' in html
    assert "dates=20261201T173000Z%2F20261201T200000Z" in html


def test_english_digest_uses_english_words_and_twelve_hour_times(settings: Settings) -> None:
    subject, html, text = render(settings, "en")
    assert subject == "Aix-Marseille: 2 tech events, Nov 30 – Dec 6, 2026"
    assert "Tuesday, December 1" in html and "TUESDAY, DECEMBER 1" in text
    assert "6:30 PM – 9:00 PM" in text
    assert "Online" in html and "(online)" in text
    assert "2 events this week, 1 to save for the next." in text
    assert "Unsubscribe: https://agenda.example.org/unsubscribe/TOKEN-U" in text
    assert "Mardi" not in html


def test_html_is_a_table_layout_with_inlined_css(settings: Settings) -> None:
    _subject, html, _text = render(settings, "fr")
    assert '<table role="presentation"' in html
    assert re.search(r'<td class="header" style="[^"]*background-color: ?#12355b', html)
    assert 'name="viewport"' in html


HOSTILE = "<script>alert('x')</script>\r\nBcc: victim@example.org\r\n\r\nHello"


def test_hostile_titles_are_escaped_in_html_and_harmless_in_headers(settings: Settings) -> None:
    evil = EventView(
        id=66,
        title=HOSTILE,
        start=datetime(2026, 12, 2, 19, 0, tzinfo=PARIS).astimezone(UTC),
        venue='"><img src=x onerror=alert(1)>',
        city="Marseille",
        insee="13055",
        url="javascript:alert(1)",
    )
    _subject, html, text = render(settings, "fr", [evil])
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<img src=x" not in html
    assert "javascript:" not in html and f"{settings.base_url}/events/66" in html
    msg = build_message(
        settings,
        to="lea@example.org",
        subject=f"Aix-Marseille : {HOSTILE}",
        text_body=text,
        html_body=html,
        date=datetime(2026, 11, 30, 7, 0, tzinfo=UTC),
        unsubscribe_url=LINKS.unsubscribe,
    )
    parsed = message_from_bytes(msg.as_bytes(), policy=policy.default)
    assert parsed["Bcc"] is None
    assert "\n" not in str(parsed["Subject"]) and "Bcc: victim" in str(parsed["Subject"])
    assert parsed.get_all("To") == ["lea@example.org"]
