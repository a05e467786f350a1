"""A digest copy's feedback links share one signed reader token (its derived
``feedback`` link); the event and the direction ride beside it, and old links (one token
per event, or a ``feedback`` token per copy) keep working."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from aggregator.errors import InvalidTokenError, NotFoundError
from aggregator.settings import Settings
from newsletter.compose import content_for, load_inputs
from newsletter.feedback import apply_feedback, feedback_urls, read_feedback
from newsletter.links import personal_links
from tests.newsletter.conftest import add_subscriber, seed_week

THURSDAY = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def token_of(url: str) -> str:
    return url.rsplit("/", 1)[1]


def test_every_feedback_link_of_a_copy_carries_the_same_reader_token(
    engine: Engine, settings: Settings
) -> None:
    with Session(engine, expire_on_commit=False) as s:
        events = seed_week(s)
        reader = add_subscriber(s, "lea@exemple.fr")
        s.commit()
        week = "2026-W49"
        content = content_for(load_inputs(s, settings, week=week), reader)
        links = personal_links(settings, reader, content)
        assert len(links.feedback) >= 2
        readers = {token_of(u).split("~")[0] for pair in links.feedback.values() for u in pair}
        assert len(readers) == 1
        for event_id, (more, less) in links.feedback.items():
            found = read_feedback(s, settings, token_of(more))
            assert (found.event.id, found.direction) == (event_id, "more")
            assert read_feedback(s, settings, token_of(less)).direction == "less"
        assert events


def test_a_changed_event_id_must_name_an_existing_event_and_the_signature_still_binds(
    engine: Engine, settings: Settings
) -> None:
    with Session(engine, expire_on_commit=False) as s:
        events = seed_week(s)
        reader = add_subscriber(s, "lea@exemple.fr")
        other = add_subscriber(s, "max@exemple.fr")
        s.commit()
        jug = events["jug"]
        assert jug.id is not None
        content = content_for(load_inputs(s, settings, week="2026-W49"), reader)
        more = token_of(next(iter(personal_links(settings, reader, content).feedback.values()))[0])
        signed, _event, _direction = more.rsplit("~", 2)
        with pytest.raises(NotFoundError):
            read_feedback(s, settings, f"{signed}~999999~more")
        for bad in (f"{signed}~x1~more", f"{signed}~1~sideways", f"{signed}~1", f"{signed[:-2]}~1~more"):
            with pytest.raises(InvalidTokenError):
                read_feedback(s, settings, bad)
        assert read_feedback(s, settings, f"{signed}~{jug.id}~less").subscriber.id == reader.id
        other_content = content_for(load_inputs(s, settings, week="2026-W49"), other)
        theirs = personal_links(settings, other, other_content).feedback
        assert all(token_of(u).split("~")[0] != signed for pair in theirs.values() for u in pair)
        reader.token_version += 1  # revoking the reader's links revokes these too
        s.add(reader)
        s.commit()
        with pytest.raises(InvalidTokenError):
            read_feedback(s, settings, more)


def test_an_old_one_token_per_event_link_still_counts(engine: Engine, settings: Settings) -> None:
    with Session(engine, expire_on_commit=False) as s:
        events = seed_week(s)
        reader = add_subscriber(s, "lea@exemple.fr")
        s.commit()
        jug = events["jug"]
        assert jug.id is not None
        _more, less = (token_of(u) for u in feedback_urls(settings, reader, jug.id))
        assert "~" not in less
        assert apply_feedback(s, settings, less, now=THURSDAY).counted


def test_an_old_per_copy_feedback_link_still_counts(engine: Engine, settings: Settings) -> None:
    from newsletter.tokens import feedback_link_token, make_reader_feedback_token

    with Session(engine, expire_on_commit=False) as s:
        events = seed_week(s)
        reader = add_subscriber(s, "lea@exemple.fr")
        s.commit()
        jug = events["jug"]
        assert jug.id is not None
        old = feedback_link_token(make_reader_feedback_token(settings, reader), jug.id, "more")
        assert old.count("~") == 2
        found = read_feedback(s, settings, old)
        assert (found.subscriber.id, found.event.id, found.direction) == (reader.id, jug.id, "more")
        # the derived form's scope and MAC are not optional
        reader_part, event, direction = old.split("~")
        for bad in (f"{reader_part}~feedback~{event}~{direction}", f"{old}~more"):
            with pytest.raises(InvalidTokenError):
                read_feedback(s, settings, bad)
