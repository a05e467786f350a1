"""Replaying a "fewer like this" POST counts once, on SQLite and PostgreSQL, through the app."""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from aggregator.models import FeedbackVote, Subscriber
from aggregator.settings import Settings
from newsletter.feedback import apply_feedback, feedback_urls
from newsletter.subscribers import delete_subscriber, export_data
from tests.newsletter.conftest import add_subscriber, seed_week
from web.app import create_app
from web.security import CSRF_COOKIE

THURSDAY = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def token_of(url: str) -> str:
    return url.rsplit("/", 1)[1]


def test_the_same_click_replayed_counts_once_and_the_other_direction_still_counts(
    engine: Engine, settings: Settings
) -> None:
    with Session(engine, expire_on_commit=False) as s:
        events = seed_week(s)
        reader = add_subscriber(s, "lea@exemple.fr")
        s.commit()
        jug = events["jug"]
        assert jug.id is not None and reader.id is not None
        more, less = (token_of(u) for u in feedback_urls(settings, reader, jug.id))
        counted = [apply_feedback(s, settings, less, now=THURSDAY).counted for _ in range(3)]
        s.commit()
        assert counted == [True, False, False]
        sub = s.get(Subscriber, reader.id)
        assert sub is not None and sub.topic_weights == {"web-mobile": -1.0, "cloud-devops": -1.0}
        assert apply_feedback(s, settings, more, now=THURSDAY).counted
        s.commit()
        s.refresh(sub)
        assert sub.topic_weights == {}
        votes = s.exec(select(func.count()).select_from(FeedbackVote)).one()
        assert votes == 2
        exported = export_data(s, reader.id)["feedback"]
        assert [(v["event_id"], v["direction"]) for v in exported] == [(jug.id, "less"), (jug.id, "more")]
        delete_subscriber(s, reader.id)  # the votes go with the reader
        s.commit()
        assert s.exec(select(func.count()).select_from(FeedbackVote)).one() == 0


def test_a_replayed_feedback_post_through_the_app_counts_once(
    settings: Settings, sqlite_engine: Engine
) -> None:
    with Session(sqlite_engine, expire_on_commit=False) as s:
        events = seed_week(s)
        reader = add_subscriber(s, "lea@exemple.fr")
        s.commit()
    webinar = events["webinar"]
    assert webinar.id is not None
    _more, less = feedback_urls(settings, reader, webinar.id)
    path = re.sub(r"^https?://[^/]+", "", less)
    with TestClient(create_app(settings, clock=lambda: THURSDAY)) as client:
        client.get("/subscribe")
        for _ in range(2):
            answer = client.post(path, data={"csrf_token": client.cookies[CSRF_COOKIE]})
            assert answer.status_code == 200
    with Session(sqlite_engine) as s:
        sub = s.get(Subscriber, reader.id)
        assert sub is not None and sub.topic_weights == {"startups-business": -1.0}


@pytest.mark.postgres
def test_two_replays_at_the_same_moment_count_once_on_postgresql(
    pg_engine: Engine, settings: Settings
) -> None:
    with Session(pg_engine, expire_on_commit=False) as s:
        events = seed_week(s)
        reader = add_subscriber(s, "lea@exemple.fr")
        s.commit()
    ml = events["ml"]
    assert ml.id is not None
    less = token_of(feedback_urls(settings, reader, ml.id)[1])
    results: list[bool] = []

    def second_click() -> None:
        with Session(pg_engine) as other:
            results.append(apply_feedback(other, settings, less, now=THURSDAY).counted)
            other.commit()

    with Session(pg_engine) as first:
        assert apply_feedback(first, settings, less, now=THURSDAY).counted  # not committed yet
        thread = threading.Thread(target=second_click)
        thread.start()
        thread.join(1.0)
        assert thread.is_alive()  # waiting on the unique constraint held by the first
        first.commit()
    thread.join(10)
    assert results == [False]
    with Session(pg_engine) as s:
        sub = s.get(Subscriber, reader.id)
        assert sub is not None and sub.topic_weights == {"ia-data": -1.0}
