"""Sign-up, confirmation, preferences, data export and deletion, unsubscription."""

from __future__ import annotations

import email
import email.policy
import json
import re
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import select

from aggregator.db import session_scope
from aggregator.models import Subscriber
from aggregator.settings import Settings
from newsletter.tokens import make_token
from tests.web.conftest import post_form


def subscriber(engine: Engine, address: str) -> Subscriber | None:
    with session_scope(engine) as session:
        return session.exec(select(Subscriber).where(Subscriber.email == address)).first()


def confirmation_link(settings: Settings) -> str:
    outbox = Path(settings.outbox_url.removeprefix("file://"))
    (eml,) = sorted(outbox.glob("*.eml"))
    msg = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    body = msg.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    match = re.search(r"http://127\.0\.0\.1:8000(/confirm/\S+)", body)
    assert match, body
    return match.group(1)


def subscribe_someone(client: TestClient, settings: Settings) -> str:
    response = post_form(
        client,
        "/subscribe",
        {
            "email": "Lea.Martin@exemple.fr",
            "language": "fr",
            "topic": ["ia-data", "web-mobile"],
            "town": ["13055"],
            "online": "yes",
        },
    )
    assert response.status_code == 200 and "Vérifiez votre boîte mail" in response.text
    return confirmation_link(settings)


def test_subscribe_sends_a_confirmation_and_confirming_takes_a_click(
    client: TestClient, settings: Settings, sqlite_engine: Engine
) -> None:
    link = subscribe_someone(client, settings)
    sub = subscriber(sqlite_engine, "lea.martin@exemple.fr")
    assert sub and sub.status == "pending" and sub.topics == ["ia-data", "web-mobile"]
    page = client.get(link)
    assert "Confirmer mon inscription" in page.text
    assert subscriber(sqlite_engine, "lea.martin@exemple.fr").status == "pending"  # type: ignore[union-attr]
    done = post_form(client, link, {}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"].startswith("/preferences/")
    assert subscriber(sqlite_engine, "lea.martin@exemple.fr").status == "confirmed"  # type: ignore[union-attr]
    prefs = client.get(done.headers["location"]).text
    assert "lea.martin@exemple.fr" in prefs and "bienvenue" in prefs


def test_invalid_address_is_refused_with_the_form_kept(
    client: TestClient, sqlite_engine: Engine
) -> None:
    response = post_form(client, "/subscribe", {"email": "pas-une-adresse", "topic": ["ia-data"]})
    assert response.status_code == 422
    assert 'value="pas-une-adresse"' in response.text
    assert subscriber(sqlite_engine, "pas-une-adresse") is None


def test_preferences_change_export_and_delete(
    client: TestClient, settings: Settings, sqlite_engine: Engine
) -> None:
    link = subscribe_someone(client, settings)
    prefs_url = (
        post_form(client, link, {}, follow_redirects=False).headers["location"].split("?")[0]
    )
    saved = post_form(
        client, prefs_url, {"language": "en", "topic": ["cloud-devops"]}, follow_redirects=False
    )
    assert saved.status_code == 303
    sub = subscriber(sqlite_engine, "lea.martin@exemple.fr")
    assert sub and sub.language == "en" and sub.topics == ["cloud-devops"] and sub.towns == []
    assert sub.include_online is False
    export = post_form(client, f"{prefs_url}/export", {})
    assert "attachment" in export.headers["content-disposition"]
    assert json.loads(export.content)["email"] == "lea.martin@exemple.fr"
    refused = post_form(client, f"{prefs_url}/delete", {})
    assert refused.status_code == 422 and subscriber(sqlite_engine, "lea.martin@exemple.fr")
    gone = post_form(client, f"{prefs_url}/delete", {"confirm_delete": "yes"})
    assert gone.status_code == 200 and subscriber(sqlite_engine, "lea.martin@exemple.fr") is None


def _confirmed(engine: Engine, settings: Settings) -> str:
    with session_scope(engine) as session:
        sub = Subscriber(email="noe@exemple.fr", status="confirmed")
        session.add(sub)
        session.flush()
        return make_token(settings, sub, "unsubscribe")


def test_unsubscribe_link_alone_changes_nothing(
    client: TestClient, settings: Settings, sqlite_engine: Engine
) -> None:
    token = _confirmed(sqlite_engine, settings)
    page = client.get(f"/unsubscribe/{token}")
    assert page.status_code == 200 and "noe@exemple.fr" in page.text and "<form" in page.text
    assert subscriber(sqlite_engine, "noe@exemple.fr").status == "confirmed"  # type: ignore[union-attr]


def test_one_click_unsubscribe_post_needs_no_csrf_token(
    client: TestClient, settings: Settings, sqlite_engine: Engine
) -> None:
    token = _confirmed(sqlite_engine, settings)
    response = client.post(
        f"/unsubscribe/{token}",
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200
    assert subscriber(sqlite_engine, "noe@exemple.fr").status == "unsubscribed"  # type: ignore[union-attr]


def test_a_token_of_another_scope_or_forged_is_refused(
    client: TestClient, settings: Settings, sqlite_engine: Engine
) -> None:
    token = _confirmed(sqlite_engine, settings)
    assert client.get(f"/preferences/{token}").status_code == 400
    assert client.post(f"/unsubscribe/{token}x").status_code == 400
    assert subscriber(sqlite_engine, "noe@exemple.fr").status == "confirmed"  # type: ignore[union-attr]


def test_a_used_confirm_link_says_the_subscription_is_already_confirmed(
    client: TestClient, settings: Settings
) -> None:
    link = subscribe_someone(client, settings)
    post_form(client, link, {}, follow_redirects=False)
    again = client.get(link)
    assert again.status_code == 200 and "Inscription déjà confirmée" in again.text
    assert "Confirmer mon inscription" not in again.text and "/preferences/" in again.text
    english = client.get(f"{link}?lang=en")
    assert "Subscription already confirmed" in english.text


def test_after_unsubscribing_the_preferences_page_says_so_and_offers_to_come_back(
    client: TestClient, settings: Settings, sqlite_engine: Engine
) -> None:
    link = subscribe_someone(client, settings)
    prefs = post_form(client, link, {}, follow_redirects=False).headers["location"].split("?")[0]
    page = client.get(prefs).text
    unsubscribe_path = re.search(r'href="(/unsubscribe/[^"]+)"', page).group(1)  # type: ignore[union-attr]
    post_form(client, unsubscribe_path, {})
    saved = post_form(client, prefs, {"language": "fr"}, follow_redirects=True)
    assert "Vous êtes désinscrit·e" in saved.text and "Préférences enregistrées" not in saved.text
    assert "Me réabonner" in saved.text and 'action="/subscribe"' in saved.text
    assert subscriber(sqlite_engine, "lea.martin@exemple.fr").status == "unsubscribed"  # type: ignore[union-attr]
    back = post_form(client, "/subscribe", {"email": "lea.martin@exemple.fr", "topic": ["ia-data"]})
    assert back.status_code == 200 and "Vérifiez votre boîte mail" in back.text
    assert confirmation_link(settings) != link  # a fresh confirmation mail, a new link
    assert subscriber(sqlite_engine, "lea.martin@exemple.fr").status == "pending"  # type: ignore[union-attr]
    assert client.get(prefs).status_code == 400  # links from before leaving are dead
