"""One filter, three channels, and feedback from the email, through the web app."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime

import feedparser
import pytest
from fastapi.testclient import TestClient
from icalendar import Calendar
from sqlalchemy.engine import Engine
from sqlmodel import Session

from aggregator.models import Subscriber
from aggregator.settings import Settings
from newsletter.compose import select_for_subscriber
from newsletter.feedback import adjust_weights, feedback_urls
from newsletter.send import send_digest
from newsletter.tokens import make_token
from tests.newsletter.conftest import WEEK, add_subscriber, seed_week
from web.app import create_app
from web.security import CSRF_COOKIE

THURSDAY = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)  # inside WEEK


@pytest.fixture
def client(settings: Settings, sqlite_engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(settings, clock=lambda: THURSDAY)) as test_client:
        yield test_client


@pytest.fixture
def reader(sqlite_engine: Engine) -> Subscriber:
    """A reader of web and startup topics, in Marseille or online."""
    with Session(sqlite_engine, expire_on_commit=False) as s:
        seed_week(s)
        sub = add_subscriber(
            s, "lea@example.org", topics=["web-mobile", "cloud-devops", "startups-business"],
            towns=["13055"],
        )
        s.commit()
        return sub


def csrf(client: TestClient) -> str:
    if CSRF_COOKIE not in client.cookies:
        client.get("/subscribe")
    return str(client.cookies[CSRF_COOKIE])


def path_of(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


def test_the_email_the_ical_feed_and_the_atom_feed_list_the_same_events(
    client: TestClient, settings: Settings, sqlite_engine: Engine, reader: Subscriber
) -> None:
    report = send_digest(sqlite_engine, settings, week=WEEK, now=THURSDAY)
    assert report.sent == 1
    with Session(sqlite_engine) as s:
        emailed = list(select_for_subscriber(s, settings, reader, week=WEEK).event_ids)
    token = make_token(settings, reader, "feed")
    ics = client.get(f"/me/{token}/events.ics")
    atom = client.get(f"/me/{token}/feed.xml")
    assert ics.status_code == 200 and atom.status_code == 200
    in_ics = [int(str(c["uid"]).split("-")[1].split("@")[0])
              for c in Calendar.from_ical(ics.content).walk("VEVENT")]
    in_atom = [int(e.id.rsplit("-", 1)[1]) for e in feedparser.parse(atom.content).entries]
    assert sorted(in_ics) == sorted(in_atom)
    assert set(emailed) <= set(in_ics)  # the feeds then go on past the email's weeks
    assert len(emailed) == 3  # JUG, webinar, Cloud Native (save the date); not Aix, not fab lab


def test_the_preferences_page_shows_the_feed_urls_and_a_new_token_version_revokes_them(
    client: TestClient, settings: Settings, sqlite_engine: Engine, reader: Subscriber
) -> None:
    page = client.get(f"/preferences/{make_token(settings, reader, 'preferences')}")
    shown = re.search(r"/me/([^/\"]+)/events\.ics", page.text)
    assert shown is not None  # read from the page: a token made here may carry another second
    feed = shown.group(1)
    assert f"/me/{feed}/feed.xml" in page.text
    assert client.get(f"/me/{feed}/events.ics").status_code == 200
    with Session(sqlite_engine) as s:
        row = s.get(Subscriber, reader.id)
        assert row is not None
        row.token_version += 1
        s.add(row)
        s.commit()
    assert client.get(f"/me/{feed}/events.ics").status_code == 400
    assert client.get("/me/forged-token/feed.xml").status_code == 400


def test_a_feedback_get_changes_nothing_and_the_post_adjusts_the_next_selection(
    client: TestClient, settings: Settings, sqlite_engine: Engine, reader: Subscriber
) -> None:
    assert reader.id is not None
    with Session(sqlite_engine) as s:
        from tests.newsletter.conftest import add_event, paris

        add_event(s, "Pitch night des startups", paris(2026, 12, 4, 19, 0),
                  topics=["startups-business"])
        s.commit()
        before = select_for_subscriber(s, settings, reader, week=WEEK)
    webinar = next(i.event for i in before.all_items if i.event.title.startswith("Webinaire"))
    pitch = next(i.event for i in before.all_items if i.event.title.startswith("Pitch"))
    _more, less = feedback_urls(settings, reader, webinar.id)
    page = client.get(path_of(less))
    assert page.status_code == 200 and "<form" in page.text and webinar.title in page.text
    with Session(sqlite_engine) as s:
        assert s.get(Subscriber, reader.id).topic_weights == {}  # type: ignore[union-attr]
    # two "fewer like this" (a replayed click counts once): the topic is muted
    for url in (less, less, feedback_urls(settings, reader, pitch.id)[1]):
        done = client.post(path_of(url), data={"csrf_token": csrf(client)})
        assert done.status_code == 200
    with Session(sqlite_engine) as s:
        sub = s.get(Subscriber, reader.id)
        assert sub is not None and sub.topic_weights == {"startups-business": -2.0}
        after = select_for_subscriber(s, settings, sub, week=WEEK)
    assert webinar.id in before.event_ids and webinar.id not in after.event_ids
    assert client.post(path_of(less), data={}).status_code in (400, 403)  # no CSRF token


def test_more_like_this_puts_an_event_first_in_its_day(
    settings: Settings, sqlite_engine: Engine
) -> None:
    with Session(sqlite_engine, expire_on_commit=False) as s:
        events = seed_week(s)
        from tests.newsletter.conftest import add_event, paris

        add_event(s, "Pitch night : startups du Sud", paris(2026, 12, 1, 20, 0),
                  topics=["startups-business"])
        sub = add_subscriber(s, "max@example.org")
        s.commit()
        plain = select_for_subscriber(s, settings, sub, week=WEEK)
        sub.topic_weights = adjust_weights({}, ["startups-business"], "more")
        liked = select_for_subscriber(s, settings, sub, week=WEEK)
    tuesday = [i.event.title for i in plain.days[0].items]
    assert tuesday[0] == events["jug"].title  # 18:30 before 20:00
    assert liked.days[0].items[0].event.title.startswith("Pitch night")
