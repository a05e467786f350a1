"""A broken or expired link's page sends a new one: a fresh preferences link to a
confirmed reader, a fresh confirmation to a pending one, nothing to a stranger, and the
same answer every time."""

from __future__ import annotations

import email
import email.policy
import re
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from aggregator.settings import Settings
from tests.newsletter.conftest import add_subscriber
from tests.web.conftest import post_form


def outbox(settings: Settings) -> list[email.message.EmailMessage]:
    folder = Path(settings.outbox_url.removeprefix("file://"))
    return [
        email.message_from_bytes(p.read_bytes(), policy=email.policy.default)  # type: ignore[misc]
        for p in sorted(folder.glob("*.eml"))
    ]


def test_a_confirmed_reader_gets_a_fresh_preferences_link_that_works(
    client: TestClient, settings: Settings, sqlite_engine: Engine
) -> None:
    with Session(sqlite_engine) as session:
        add_subscriber(session, "lea@example.org", language="en")
        session.commit()
    page = client.get("/preferences/expired-or-broken")
    assert 'action="/new-link"' in page.text
    answer = post_form(client, "/new-link", {"email": "Lea@Example.org"})
    assert answer.status_code == 200 and "lea@example.org" in answer.text
    (mail,) = outbox(settings)
    assert mail["To"] == "lea@example.org"
    assert mail["Subject"] == "Your link to manage your subscription"
    body = mail.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    path = re.search(r"https?://[^/\s]+(/preferences/\S+)", body)
    assert path, body
    assert client.get(path.group(1)).status_code == 200


def test_a_stranger_gets_the_same_answer_and_no_mail(
    client: TestClient, settings: Settings
) -> None:
    answer = post_form(client, "/new-link", {"email": "nobody@example.org"})
    assert answer.status_code == 200 and "nobody@example.org" in answer.text
    assert outbox(settings) == []
    bad = post_form(client, "/new-link", {"email": "not an address"})
    assert bad.status_code == 422 and "Cette adresse email n&#39;est pas valide." in bad.text
