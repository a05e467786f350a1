"""iCalendar, Atom and JSON exports: parsed back with the libraries people use."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import feedparser
import pytest
from fastapi.testclient import TestClient
from icalendar import Calendar


def test_feed_ics_is_valid_icalendar_with_the_visible_upcoming_events(
    client: TestClient, events: dict[str, int]
) -> None:
    response = client.get("/feed.ics")
    assert response.headers["content-type"].startswith("text/calendar")
    cal = Calendar.from_ical(response.content)
    vevents = {str(e["SUMMARY"]): e for e in cal.walk("VEVENT")}
    assert "Meetup caché par un admin" not in vevents
    meetup = vevents["Meetup Python Marseille : typage et FastAPI"]
    assert meetup.decoded("DTSTART") == datetime(2026, 11, 27, 17, 30, tzinfo=UTC)
    assert "La Coque" in str(meetup["LOCATION"])
    assert str(meetup["UID"]).startswith(
        f"event-{events['Meetup Python Marseille : typage et FastAPI']}@"
    )
    weekend = vevents['Startup Weekend <Aix> & "friends"']
    assert weekend.decoded("DTSTART") == date(2026, 12, 11)
    assert weekend.decoded("DTEND") == date(2026, 12, 14)  # exclusive end, the day after the last


def test_feed_ics_takes_the_agenda_filters(client: TestClient, events: dict[str, int]) -> None:
    cal = Calendar.from_ical(client.get("/feed.ics?online=yes").content)
    assert [str(e["SUMMARY"]) for e in cal.walk("VEVENT")] == ["Webinaire Kubernetes en production"]


def test_feeds_answer_304_to_a_matching_etag_or_date(
    client: TestClient, events: dict[str, int]
) -> None:
    for path in ("/feed.ics", "/feed.xml", f"/events/{events['Atelier Arduino au LFO']}.ics"):
        first = client.get(path)
        etag, modified = first.headers["etag"], first.headers["last-modified"]
        again = client.get(path, headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b""
        assert client.get(path, headers={"If-Modified-Since": modified}).status_code == 304
        assert client.get(path, headers={"If-None-Match": '"stale"'}).status_code == 200


def test_single_event_ics_is_a_download(client: TestClient, events: dict[str, int]) -> None:
    event_id = events["Atelier Arduino au LFO"]
    response = client.get(f"/events/{event_id}.ics")
    assert "attachment" in response.headers["content-disposition"]
    (vevent,) = Calendar.from_ical(response.content).walk("VEVENT")
    assert str(vevent["SUMMARY"]) == "Atelier Arduino au LFO"
    assert client.get(f"/events/{events['Meetup caché par un admin']}.ics").status_code == 404


def test_feed_xml_is_an_atom_feed_feedparser_reads(
    client: TestClient, events: dict[str, int]
) -> None:
    parsed = feedparser.parse(client.get("/feed.xml").content)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.feed.title == "Agenda tech Aix-Marseille-Provence"
    titles = [entry.title for entry in parsed.entries]
    assert 'Startup Weekend <Aix> & "friends"' in titles
    assert "Meetup caché par un admin" not in titles
    first = parsed.entries[0]
    assert first.link.startswith("http://127.0.0.1:8000/events/")
    assert "La Coque" in first.summary and "18:30" in first.summary


def test_api_events_filters_and_paginates(client: TestClient, events: dict[str, int]) -> None:
    page = client.get("/api/events?limit=2").json()
    assert [item["title"] for item in page["items"]] == [
        "Meetup Python Marseille : typage et FastAPI",
        "Atelier Arduino au LFO",
    ]
    assert page["items"][0]["sources"] == ["https://agenda.example/e/0"]
    assert page["next"] and "offset=2" in page["next"]
    rest = client.get("/api/events?limit=2&offset=2").json()
    assert rest["items"][0]["title"] == "Soirée IA générative & data"
    last = client.get("/api/events?limit=50").json()
    assert last["next"] is None and len(last["items"]) == 5
    assert [i["title"] for i in client.get("/api/events?topic=cloud-devops").json()["items"]] == [
        "Webinaire Kubernetes en production"
    ]
    assert client.get("/api/events?limit=0").status_code == 422


def test_openapi_describes_the_public_api(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert "/api/events" in spec["paths"] and "/feed.ics" in spec["paths"]
    assert not any(path.startswith("/admin") for path in spec["paths"])
    assert client.get("/docs").status_code == 200


def test_the_api_and_the_cli_give_one_json_shape_of_an_event(
    client: TestClient,
    events: dict[str, int],
    sqlite_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from cli import main

    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "cli-var"))
    for name in ("REGION", "TIMEZONE", "TECHAGENDA_CONFIG", "BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    capsys.readouterr()
    assert main(["events", "list", "--json", "--week", "2026-W48"]) == 0  # 23-29 Nov 2026
    listed = {row["id"]: row for row in json.loads(capsys.readouterr().out)}
    api = client.get("/api/events?from=2026-11-23&to=2026-11-29").json()["items"]
    served = {item["id"]: item for item in api}
    meetup = events["Meetup Python Marseille : typage et FastAPI"]
    assert meetup in listed and set(listed) == set(served)
    assert listed == served  # same keys, same values, same UTC instants
    assert listed[meetup]["start"] == "2026-11-27T17:30:00Z"
    assert listed[meetup]["url"].endswith(f"/events/{meetup}")


def test_the_openapi_schema_of_an_event_is_the_read_shape(client: TestClient) -> None:
    from dataclasses import fields

    from aggregator.read import PublicEvent

    schema = client.get("/openapi.json").json()["components"]["schemas"]
    assert list(schema["PublicEvent"]["properties"]) == [f.name for f in fields(PublicEvent)]
