"""A digest copy signs one reader token and derives each personal link from it: the
scope is bound by a MAC, so no link can be turned into another, another reader's token
is refused, and the links sent before (one token per scope) keep working."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from aggregator.errors import InvalidTokenError
from aggregator.settings import Settings
from newsletter.compose import content_for, load_inputs
from newsletter.links import personal_links
from newsletter.subscribers import subscriber_from_token
from newsletter.tokens import derive_token, make_reader_token, make_token, read_token
from tests.newsletter.conftest import add_subscriber, seed_week

WEEK = "2026-W49"


def token_of(url: str, *, strip: str = "") -> str:
    path = url.removesuffix(strip) if strip else url
    return path.rstrip("/").rsplit("/", 1)[1]


def test_every_link_of_a_copy_derives_from_one_reader_token(
    engine: Engine, settings: Settings
) -> None:
    with Session(engine, expire_on_commit=False) as s:
        seed_week(s)
        reader = add_subscriber(s, "lea@exemple.fr")
        s.commit()
        links = personal_links(settings, reader, content_for(load_inputs(s, settings, week=WEEK), reader))
        unsubscribe = token_of(links.unsubscribe)
        preferences = token_of(links.preferences)
        feed = links.feed_ics.removesuffix("/events.ics").rsplit("/", 1)[1]
        assert links.feed_atom.endswith(f"/me/{feed}/feed.xml")
        heads = {t.split("~")[0] for t in (unsubscribe, preferences, feed)}
        heads |= {token_of(u).split("~")[0] for pair in links.feedback.values() for u in pair}
        assert len(heads) == 1
        for token, scope in ((unsubscribe, "unsubscribe"), (preferences, "preferences"),
                             (feed, "feed")):
            assert token.split("~")[1] == scope
            assert subscriber_from_token(s, settings, token, scope).id == reader.id


def test_a_link_cannot_become_another_scope_nor_name_another_reader(
    engine: Engine, settings: Settings
) -> None:
    with Session(engine, expire_on_commit=False) as s:
        seed_week(s)
        reader = add_subscriber(s, "lea@exemple.fr")
        other = add_subscriber(s, "max@exemple.fr")
        s.commit()
        mine = make_reader_token(settings, reader)
        theirs = make_reader_token(settings, other)
        feed = derive_token(settings, mine, "feed")
        head, _scope, mac = feed.split("~")
        forged = [
            f"{head}~preferences~{mac}",  # a feed link (calendar apps) as a preferences link
            f"{head}~preferences",
            f"{head}~preferences~",
            f"{theirs}~preferences~{mac}",  # the MAC of another reader's token
            f"{head}~preferences~{derive_token(settings, theirs, 'preferences').split('~')[2]}",
            f"{head[:-2]}xx~feed~{mac}",  # the signature of the reader token itself
            f"{feed}~feed",
            derive_token(settings, mine, "unsubscribe"),
        ]
        for bad in forged:
            with pytest.raises(InvalidTokenError):
                read_token(settings, bad, "preferences")
        assert read_token(settings, feed, "feed").subscriber_id == reader.id
        with pytest.raises(InvalidTokenError):  # a reader token alone is no link
            read_token(settings, mine, "preferences")
        with pytest.raises(ValueError):  # never a derived confirmation link
            derive_token(settings, mine, "confirm")
        with pytest.raises(InvalidTokenError):
            read_token(settings, f"{mine}~confirm~{mac}", "confirm")
        other_key = settings.model_copy(update={"secret_key": "another-secret"})
        with pytest.raises(InvalidTokenError):
            read_token(other_key, feed, "feed")


def test_a_new_token_version_or_link_secret_revokes_the_derived_links(
    engine: Engine, settings: Settings
) -> None:
    with Session(engine, expire_on_commit=False) as s:
        seed_week(s)
        reader = add_subscriber(s, "lea@exemple.fr")
        s.commit()
        reader_token = make_reader_token(settings, reader)
        prefs = derive_token(settings, reader_token, "preferences")
        old = make_token(settings, reader, "preferences")  # a link sent before: still valid
        assert subscriber_from_token(s, settings, prefs, "preferences").id == reader.id
        assert subscriber_from_token(s, settings, old, "preferences").id == reader.id
        reader.link_secret = "new-secret-at-re-subscription"
        s.add(reader)
        s.commit()
        for token in (prefs, old):
            with pytest.raises(InvalidTokenError):
                subscriber_from_token(s, settings, token, "preferences")
