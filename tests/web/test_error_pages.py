"""Every error is a page a person can read, in their language, with the security headers:
404, 400 (bad link, with a way to get a new one), 422, 429 (the form kept), 500, 503."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from tests.web.conftest import csrf_token
from web.security import RateLimiter

SECURITY_HEADERS = ("Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options")


@pytest.fixture
def lenient(app: FastAPI) -> Iterator[TestClient]:
    """A client that gets the 500 page instead of the exception."""
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def assert_human_page(response, status: int) -> None:
    assert response.status_code == status, response.text[:300]
    assert response.headers["content-type"].startswith("text/html")
    assert "Traceback" not in response.text and '"detail"' not in response.text
    for name in SECURITY_HEADERS:
        assert name in response.headers, name


def test_an_unknown_page_is_a_404_page_in_french_and_english(client: TestClient) -> None:
    french = client.get("/nulle-part", headers={"accept-language": "fr"})
    assert_human_page(french, 404)
    assert "Page introuvable" in french.text and 'lang="fr"' in french.text
    english = client.get("/nowhere", headers={"accept-language": "en-GB,en;q=0.9"})
    assert_human_page(english, 404)
    assert "Page not found" in english.text and "introuvable" not in english.text


def test_an_unknown_event_says_so_without_developer_text(client: TestClient) -> None:
    response = client.get("/events/99999")
    assert_human_page(response, 404)
    assert "no event" not in response.text
    assert "Cet événement n'existe pas" in response.text.replace("&#39;", "'")
    huge = client.get(f"/events/{2**64}?lang=en")
    assert_human_page(huge, 404)
    assert "This event does not exist" in huge.text


def test_a_tampered_link_offers_a_new_one_in_the_visitors_language(client: TestClient) -> None:
    response = client.get("/preferences/not-a-real-token", headers={"accept-language": "en"})
    assert_human_page(response, 400)
    assert "Invalid link" in response.text
    assert 'action="/new-link"' in response.text and "Send me a new link" in response.text
    french = client.get("/unsubscribe/abc")
    assert_human_page(french, 400)
    assert "M&#39;envoyer un nouveau lien" in french.text or "M'envoyer un nouveau lien" in french.text


def test_a_validator_complaint_is_a_translated_422_page(client: TestClient) -> None:
    response = client.post("/subscribe", data={"csrf_token": csrf_token(client)})
    assert_human_page(response, 422)
    assert "Ce champ est obligatoire." in response.text
    assert "Field required" not in response.text
    english = client.post("/subscribe?lang=en", data={"csrf_token": csrf_token(client)})
    assert "This field is required." in english.text


def test_too_many_attempts_is_a_429_page_that_keeps_the_form(
    app: FastAPI, client: TestClient
) -> None:
    app.state.limiters["subscribe"] = RateLimiter(1, 600)
    form = {"email": "ada@example.org", "csrf_token": csrf_token(client), "language": "fr"}
    client.post("/subscribe", data=form)
    response = client.post("/subscribe", data=form)
    assert_human_page(response, 429)
    assert int(response.headers["Retry-After"]) > 0
    assert "Trop de tentatives" in response.text
    assert 'value="ada@example.org"' in response.text
    assert 'action="/subscribe"' in response.text and "Renvoyer le formulaire" in response.text


def test_an_unexpected_error_is_a_500_page_with_the_security_headers(
    app: FastAPI, lenient: TestClient
) -> None:
    def explode() -> None:
        raise RuntimeError("secret internals")

    app.add_api_route("/explode", explode)
    response = lenient.get("/explode", headers={"accept-language": "en"})
    assert_human_page(response, 500)
    assert "secret internals" not in response.text
    assert "Server error" in response.text


def test_a_locked_database_is_a_503_with_retry_after(
    app: FastAPI, client: TestClient, sqlite_engine: Engine
) -> None:
    app.state.busy_timeout_ms = 100
    path = sqlite_engine.url.database
    assert path
    token = csrf_token(client)
    holder = sqlite3.connect(path)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        response = client.post(
            "/subscribe", data={"email": "ada@example.org", "csrf_token": token}
        )
    finally:
        holder.rollback()
        holder.close()
    assert_human_page(response, 503)
    assert response.headers["Retry-After"].isdigit()
    assert "momentanément occupé" in response.text


def test_the_rate_limiter_forgets_old_clients_and_stays_bounded() -> None:
    now = [0.0]
    limiter = RateLimiter(2, 60, clock=lambda: now[0], max_keys=100)
    for n in range(1000):
        limiter.hit(f"client-{n}")
    assert len(limiter) <= 100
    limiter.hit("eve")
    limiter.hit("eve")
    with pytest.raises(Exception, match="too many"):
        limiter.hit("eve")
    now[0] = 61.0
    limiter.hit("bob")
    assert len(limiter) == 1  # everybody else's hits left the window
    limiter.hit("eve")  # eve's window moved on too


def test_every_status_has_a_title_and_an_explanation_people_can_read() -> None:
    from web.errors import headline
    from web.translations_en import EN

    for status in (400, 401, 403, 404, 405, 409, 413, 418, 422, 429, 500, 502, 503, 504):
        title, text = headline(status)
        assert title in EN and text in EN, status
    assert headline(413)[0] == "Demande refusée" and headline(504)[0] == "Erreur du serveur"
