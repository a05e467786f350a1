"""CSRF, rate limits, admin access, cookie flags, language choice, SVG escaping."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import select

from aggregator.db import session_scope
from aggregator.models import Subscriber
from aggregator.settings import Settings
from tests.web.conftest import NOW, post_form
from web.app import create_app
from web.i18n import pick_language
from web.security import RateLimited, RateLimiter
from web.svg import health_strip, weekly_bars
from web.translations_en import EN

TEMPLATES = Path(__file__).parent.parent.parent / "web" / "templates"


def test_a_form_without_its_csrf_token_is_refused(
    client: TestClient, sqlite_engine: Engine
) -> None:
    client.get("/subscribe")
    response = client.post("/subscribe", data={"email": "eve@exemple.fr"})
    assert response.status_code == 403
    forged = client.post("/subscribe", data={"email": "eve@exemple.fr", "csrf_token": "forged"})
    assert forged.status_code == 403
    with session_scope(sqlite_engine) as session:
        assert session.exec(select(Subscriber)).all() == []


def test_a_csrf_cookie_not_signed_by_us_is_refused(client: TestClient) -> None:
    client.cookies.set("ta_csrf", "attacker-chosen")
    response = client.post(
        "/subscribe", data={"email": "eve@exemple.fr", "csrf_token": "attacker-chosen"}
    )
    assert response.status_code == 403


def test_subscribe_is_rate_limited_per_address(client: TestClient) -> None:
    statuses = [
        post_form(client, "/subscribe", {"email": f"p{n}@exemple.fr"}).status_code for n in range(7)
    ]
    assert statuses[:5] == [200] * 5 and statuses[5:] == [429, 429]


def test_rate_limiter_window_slides() -> None:
    now = [0.0]
    limiter = RateLimiter(2, 60, clock=lambda: now[0])
    limiter.hit("k")
    limiter.hit("k")
    with pytest.raises(RateLimited):
        limiter.hit("k")
    limiter.hit("other")
    now[0] = 61
    limiter.hit("k")


def all_routes(app: FastAPI) -> list[tuple[str, set[str]]]:
    """(path, methods) of every route, through included routers (old and new FastAPI)."""
    found: list[tuple[str, set[str]]] = []
    for route in app.routes:
        contexts = getattr(route, "effective_route_contexts", None)
        for item in contexts() if contexts else [route]:
            if isinstance(item, APIRoute) or hasattr(item, "endpoint"):
                found.append((item.path, set(item.methods or ())))
    return found


def admin_routes(app: FastAPI) -> list[tuple[str, str]]:
    return [
        (method, re.sub(r"\{[^}]+\}", "1", path))
        for path, methods in all_routes(app)
        if path.startswith("/admin") and path != "/admin/login"
        for method in methods - {"HEAD"}
    ]


def test_every_admin_route_refuses_an_anonymous_visitor(app: FastAPI, client: TestClient) -> None:
    routes = admin_routes(app)
    assert len(routes) >= 15
    for method, path in routes:
        response = client.request(method, path, follow_redirects=False)
        if method == "GET":
            assert response.status_code == 303, path
            assert response.headers["location"].startswith("/admin/login"), path
        else:
            assert response.status_code in (401, 403), (method, path)


def test_admin_routes_refuse_a_forged_session_cookie(app: FastAPI, client: TestClient) -> None:
    client.cookies.set("ta_admin", "WzEsImNhbWlsbGUiXQ.forged.signature")
    assert client.get("/admin", follow_redirects=False).status_code == 303


def test_wrong_password_is_refused_and_logins_are_rate_limited(admin_client: TestClient) -> None:
    admin_client.cookies.delete("ta_admin")
    statuses = [
        post_form(
            admin_client, "/admin/login", {"username": "camille", "password": f"guess{n}"}
        ).status_code
        for n in range(6)
    ]
    assert statuses[:5] == [401] * 5 and statuses[5] == 429


def test_session_cookies_are_httponly_lax_and_secure_behind_https(
    settings: Settings, sqlite_engine: Engine
) -> None:
    secure = settings.model_copy(update={"base_url": "https://agenda.example"})
    client = TestClient(create_app(secure, clock=lambda: NOW), base_url="https://testserver")
    cookie = client.get("/subscribe").headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" in cookie


def test_plain_http_site_does_not_mark_cookies_secure(client: TestClient) -> None:
    cookie = client.get("/subscribe").headers["set-cookie"].lower()
    assert "httponly" in cookie and "secure" not in cookie


def test_pages_carry_a_content_security_policy_without_external_sources(client: TestClient) -> None:
    headers = client.get("/").headers
    assert "default-src 'self'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY"


@pytest.mark.parametrize(
    ("query", "cookie", "accept", "expected"),
    [
        (None, None, None, "fr"),
        (None, None, "en-US,en;q=0.9", "en"),
        (None, None, "de-DE,de;q=0.9,en;q=0.5", "en"),
        (None, None, "es, it", "fr"),
        (None, "en", "fr-FR", "en"),
        ("fr", "en", "en", "fr"),
        ("xx", None, None, "fr"),
    ],
)
def test_language_comes_from_query_then_cookie_then_accept_language(
    query: str | None, cookie: str | None, accept: str | None, expected: str
) -> None:
    assert pick_language(query, cookie, accept) == expected


def test_every_french_message_of_the_templates_has_an_english_translation() -> None:
    pattern = re.compile(r"""_\((["'])(.+?)\1\)""")
    missing = set()
    for path in TEMPLATES.rglob("*.html"):
        for _quote, text in pattern.findall(path.read_text(encoding="utf-8")):
            if text not in EN:
                missing.add(text)
    assert missing == set()


def test_svg_charts_escape_their_labels() -> None:
    svg = str(weekly_bars([("<script>", 3), ("7 déc.", 0)], 'Events "per" week'))
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert svg.count("<rect") == 2
    strip = str(health_strip([True, False, True], "health"))
    assert strip.count("<rect") == 20 and "#b91c1c" in strip
