"""A deleted subscriber's old links never act on the next person to get her row id.

On SQLite a deleted row's id is handed to the next insert. Carol subscribes through the
form, confirms, gets a digest in the file outbox, erases her data; Dave subscribes and
gets her id. Every link of Carol's mails is then tried against the app.
"""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from aggregator.db import make_engine, session_scope, upgrade
from aggregator.models import Subscriber
from aggregator.settings import Settings
from newsletter.send import send_digest
from tests.newsletter.conftest import WEEK, seed_week
from web.app import create_app
from web.security import CSRF_COOKIE

THURSDAY = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)  # inside WEEK
BASE = "http://127.0.0.1:8000"


@pytest.fixture
def client(settings: Settings, sqlite_engine: Engine) -> Iterator[TestClient]:
    with Session(sqlite_engine) as s:
        seed_week(s)
        s.commit()
    with TestClient(create_app(settings, clock=lambda: THURSDAY)) as test_client:
        yield test_client


def outbox(settings: Settings, to: str) -> list[EmailMessage]:
    """The messages the file outbox holds for ``to``."""
    found = []
    for path in sorted(Path(settings.outbox_url.removeprefix("file://")).glob("*.eml")):
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        if msg["To"] == to:
            found.append(msg)
    return found


def links_of(msg: EmailMessage) -> list[str]:
    """Every link of our site in a message: its text body and its List-Unsubscribe header."""
    body = msg.get_body(preferencelist=("plain",))
    assert body is not None
    text = f"{body.get_content()}\n{msg.get('List-Unsubscribe', '')}"
    return sorted({m.removeprefix(BASE) for m in re.findall(rf"{re.escape(BASE)}/[^\s<>\"]+", text)})


def form(client: TestClient, path: str, data: dict[str, object] | None = None) -> object:
    if CSRF_COOKIE not in client.cookies:
        client.get("/subscribe")
    payload = {**(data or {}), "csrf_token": client.cookies[CSRF_COOKIE]}
    return client.post(path, data=payload, follow_redirects=False)


def sign_up(client: TestClient, settings: Settings, address: str, topics: list[str]) -> str:
    """Subscribe and confirm through the pages; the confirm link as mailed."""
    answer = form(client, "/subscribe", {"email": address, "topic": topics, "online": "yes"})
    assert answer.status_code == 200  # type: ignore[attr-defined]
    (mail,) = outbox(settings, address)
    (confirm,) = [link for link in links_of(mail) if link.startswith("/confirm/")]
    done = form(client, confirm)
    assert done.status_code == 303  # type: ignore[attr-defined]
    return confirm


def row(engine: Engine, address: str) -> Subscriber | None:
    with session_scope(engine) as session:
        return session.exec(select(Subscriber).where(Subscriber.email == address)).first()


def test_every_old_link_of_a_deleted_subscriber_is_refused_and_never_touches_the_next_one(
    client: TestClient, settings: Settings, sqlite_engine: Engine
) -> None:
    carol_confirm = sign_up(client, settings, "carol@exemple.fr", [])
    assert send_digest(sqlite_engine, settings, week=WEEK, now=THURSDAY).sent == 1
    (digest,) = [m for m in outbox(settings, "carol@exemple.fr") if "List-Unsubscribe" in m]
    links = links_of(digest)
    prefs = next(link for link in links if link.startswith("/preferences/"))
    unsub = next(link for link in links if link.startswith("/unsubscribe/"))
    feeds = [link for link in links if link.startswith("/me/")]
    feedback = [link for link in links if link.startswith("/feedback/")]
    assert len(feeds) == 2 and feedback
    carol = row(sqlite_engine, "carol@exemple.fr")
    assert carol is not None and client.get(prefs).status_code == 200
    gone = form(client, f"{prefs}/delete", {"confirm_delete": "yes"})
    assert gone.status_code == 200 and row(sqlite_engine, "carol@exemple.fr") is None  # type: ignore[attr-defined]

    sign_up(client, settings, "dave@exemple.fr", ["web-mobile"])
    dave = row(sqlite_engine, "dave@exemple.fr")
    assert dave is not None and dave.id == carol.id  # SQLite gave Dave Carol's id

    answers = {
        "preferences page": client.get(prefs),
        "preferences save": form(client, prefs, {"language": "en", "topic": ["ia-data"]}),
        "export": form(client, f"{prefs}/export"),
        "delete": form(client, f"{prefs}/delete", {"confirm_delete": "yes"}),
        "unsubscribe page": client.get(unsub),
        "unsubscribe button": form(client, unsub),
        "one-click unsubscribe": client.post(
            unsub,
            content=b"List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        ),
        "confirm page": client.get(carol_confirm),
        "confirm button": form(client, carol_confirm),
        **{f"feed {link}": client.get(link) for link in feeds},
        **{f"feedback page {link}": client.get(link) for link in feedback},
        **{f"feedback button {link}": form(client, link) for link in feedback},
    }
    for name, answer in answers.items():
        assert answer.status_code == 400, name  # type: ignore[attr-defined]
        if not name.startswith("feed "):  # feeds answer JSON errors to feed readers
            page = answer.text  # type: ignore[attr-defined]
            assert answer.headers["content-type"].startswith("text/html"), name  # type: ignore[attr-defined]
            assert "<h1>" in page and "dave@exemple.fr" not in page, name
    after = row(sqlite_engine, "dave@exemple.fr")
    assert after is not None
    assert (after.status, after.topics, after.language, after.topic_weights) == (
        "confirmed",
        ["web-mobile"],
        "fr",
        {},
    )


@pytest.mark.parametrize("store", ["sqlite_url", pytest.param("pg_url", marks=pytest.mark.postgres)])
def test_the_migration_gives_every_existing_subscriber_a_secret_of_its_own(
    request: pytest.FixtureRequest, store: str
) -> None:
    engine = make_engine(request.getfixturevalue(store))
    upgrade(engine, "0005")
    with engine.begin() as conn:
        for n in range(3):
            conn.exec_driver_sql(
                "INSERT INTO subscriber (email, status, language, topics, towns, include_online,"
                " hard_bounces, token_version, topic_weights)"
                f" VALUES ('s{n}@exemple.fr', 'confirmed', 'fr', '[]', '[]', true, 0, 0, '{{}}')"
            )
    upgrade(engine)
    with Session(engine) as s:
        secrets = [sub.link_secret for sub in s.exec(select(Subscriber))]
    engine.dispose()
    assert len(set(secrets)) == 3 and all(len(x) >= 22 for x in secrets)
