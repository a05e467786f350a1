"""The public pages: agenda, filters, one event, archive."""

from __future__ import annotations

import json
import re

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from aggregator.db import session_scope
from aggregator.models import Digest


def titles(html: str) -> list[str]:
    return re.findall(r'<h3><a href="/events/\d+">(.*?)</a></h3>', html)


def test_agenda_lists_upcoming_visible_events_in_order(
    client: TestClient, events: dict[str, int]
) -> None:
    html = client.get("/").text
    found = titles(html)
    assert found[0] == "Meetup Python Marseille : typage et FastAPI"
    assert "Atelier Arduino au LFO" in found
    assert "Meetup caché par un admin" not in found
    assert "Conférence sécurité passée" not in found
    # Paris local time (UTC+1 in November), French by default
    assert "18:30" in html and 'lang="fr"' in html
    assert "<svg" in html and "Événements par semaine" in html


def test_source_text_is_escaped_never_rendered_as_markup(
    client: TestClient, events: dict[str, int]
) -> None:
    html = client.get("/").text
    assert "Startup Weekend &lt;Aix&gt; &amp; &#34;friends&#34;" in html
    assert "<Aix>" not in html


def test_agenda_filters_by_topic_town_online_and_text(
    client: TestClient, events: dict[str, int]
) -> None:
    assert titles(client.get("/?topic=ia-data").text) == ["Soirée IA générative &amp; data"]
    # Online events are not tied to a town: they stay listed unless online=no.
    assert titles(client.get("/?town=13001").text) == [
        "Soirée IA générative &amp; data",
        "Webinaire Kubernetes en production",
        "Startup Weekend &lt;Aix&gt; &amp; &#34;friends&#34;",
    ]
    assert "Webinaire Kubernetes en production" not in titles(
        client.get("/?town=13001&online=no").text
    )
    assert titles(client.get("/?online=yes").text) == ["Webinaire Kubernetes en production"]
    assert "Webinaire Kubernetes en production" not in titles(client.get("/?online=no").text)
    assert titles(client.get("/?q=arduino").text) == ["Atelier Arduino au LFO"]
    assert "Aucun événement" in client.get("/?q=cobol").text


def test_agenda_date_range_limits_the_days(client: TestClient, events: dict[str, int]) -> None:
    found = titles(client.get("/?from=2026-11-27&to=2026-11-28").text)
    assert found == ["Meetup Python Marseille : typage et FastAPI", "Atelier Arduino au LFO"]


def test_event_page_has_local_time_map_link_calendar_links_and_json_ld(
    client: TestClient, events: dict[str, int]
) -> None:
    event_id = events["Meetup Python Marseille : typage et FastAPI"]
    html = client.get(f"/events/{event_id}").text
    assert "18:30" in html and "20:30" in html and "Europe/Paris" in html
    assert "https://www.openstreetmap.org/?mlat=43.29950&amp;mlon=5.37780" in html
    assert f'href="/events/{event_id}.ics"' in html
    assert "calendar.google.com" in html
    assert "https://agenda.example/e/0" in html
    block = re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    assert block
    data = json.loads(block.group(1))
    assert data["@type"] == "Event"
    assert data["name"] == "Meetup Python Marseille : typage et FastAPI"
    assert data["startDate"] == "2026-11-27T17:30:00+00:00"
    assert data["location"]["address"]["addressLocality"] == "Marseille"


def test_json_ld_cannot_be_closed_by_source_text(
    client: TestClient, events: dict[str, int]
) -> None:
    event_id = events['Startup Weekend <Aix> & "friends"']
    html = client.get(f"/events/{event_id}").text
    block = re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    assert block and "<" not in block.group(1)
    assert json.loads(block.group(1))["name"] == 'Startup Weekend <Aix> & "friends"'


def test_hidden_and_unknown_events_are_not_found(
    client: TestClient, events: dict[str, int]
) -> None:
    assert client.get(f"/events/{events['Meetup caché par un admin']}").status_code == 404
    assert client.get("/events/999999").status_code == 404


def test_archive_lists_sent_digests_only(client: TestClient, sqlite_engine: Engine) -> None:
    with session_scope(sqlite_engine) as session:
        session.add(
            Digest(region="aix-marseille", week="2026-W47", status="sent", subject="12 événements")
        )
        session.add(Digest(region="aix-marseille", week="2026-W48", status="composing"))
    html = client.get("/archive").text
    assert "2026-W47" in html and "12 événements" in html
    assert "2026-W48" not in html


def test_pages_switch_to_english_by_query_cookie_or_accept_language(client: TestClient) -> None:
    assert (
        "Upcoming tech events"
        in client.get("/", headers={"Accept-Language": "en-GB,en;q=0.8"}).text
    )
    assert (
        "Les prochains événements tech" in client.get("/", headers={"Accept-Language": "de"}).text
    )
    assert "Upcoming tech events" in client.get("/?lang=en").text
    assert "Upcoming tech events" in client.get("/").text  # the cookie remembers
    assert "Les prochains événements tech" in client.get("/?lang=fr").text


def test_an_archived_week_lists_that_weeks_events(
    client: TestClient, sqlite_engine: Engine, events: dict[str, int]
) -> None:
    with session_scope(sqlite_engine) as session:
        session.add(
            Digest(region="aix-marseille", week="2026-W49", status="sent", subject="Semaine 49")
        )
    html = client.get("/archive/2026-W49").text
    assert titles(html) == ["Soirée IA générative &amp; data", "Webinaire Kubernetes en production"]
    assert client.get("/archive/2026-W50").status_code == 404
