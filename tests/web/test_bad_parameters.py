"""Every HTML route, visited with bad parameters (as a logged-in admin, so admin pages are
reached too), answers a human page: never a 500, never JSON, never a stack trace."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from aggregator.admins import create_admin
from aggregator.db import session_scope
from tests.web.conftest import ADMIN_PASSWORD, NOW
from web.errors import wants_json
from web.security import CSRF_COOKIE, RateLimiter

BAD_VALUES = ["abc", str(2**64), "-1", "9" * 30]
PARAM = re.compile(r"{([^}:]+)(?::[^}]+)?}")


@pytest.fixture
def sweeper(app: FastAPI, sqlite_engine: Engine) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as client:
        app.state.limiters = {k: RateLimiter(10**9, 60) for k in app.state.limiters}
        with session_scope(sqlite_engine) as session:
            create_admin(session, "camille", ADMIN_PASSWORD, email="c@example.org", now=NOW)
        client.get("/subscribe")
        client.post("/admin/login", data={"username": "camille", "password": ADMIN_PASSWORD,
                                          "next": "/admin", "csrf_token": client.cookies[CSRF_COOKIE]})
        yield client


def api_routes(routes: list[Any], prefix: str = "") -> Iterator[tuple[str, APIRoute]]:
    """(full path, route) of every FastAPI route, through included routers."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield prefix + route.path, route
        elif hasattr(route, "original_router"):  # an included router (FastAPI >= 0.16x)
            inner = prefix + route.include_context.prefix
            yield from api_routes(route.original_router.routes, inner)


def html_routes(app: FastAPI) -> list[tuple[str, str, list[str]]]:
    """(method, path template, query parameter names) of every route answering pages."""
    found = []
    for path, route in api_routes(app.routes):
        if path.startswith(("/api/", "/openapi", "/docs")) or path.endswith(
            (".ics", ".xml", ".json")
        ):
            continue
        if path == "/admin/logout":  # would end the sweep's admin session
            continue
        queries = [p.alias for p in route.dependant.query_params]
        for method in sorted(route.methods or ()):
            if method in ("GET", "POST"):
                found.append((method, path, queries))
    return found


def test_the_sweep_covers_the_public_and_admin_pages(app: FastAPI) -> None:
    paths = {path for _, path, _ in html_routes(app)}
    assert {"/", "/events/{event_id:int}", "/subscribe", "/preferences/{token}"} <= paths
    assert any(path.startswith("/admin") for path in paths)


@pytest.mark.parametrize("bad", BAD_VALUES)
def test_every_html_route_answers_bad_parameters_with_a_human_page(
    app: FastAPI, sweeper: TestClient, bad: str
) -> None:
    failures = []
    for method, template, queries in html_routes(app):
        path = PARAM.sub(bad, template)
        params = {name: bad for name in {*queries, "page", "id", "limit", "offset"}}
        if method == "GET":
            response = sweeper.get(path, params=params, follow_redirects=False)
        else:
            form = {name: bad for name in queries}
            form["csrf_token"] = sweeper.cookies[CSRF_COOKIE]
            response = sweeper.post(path, params=params, data=form, follow_redirects=False)
        where = f"{method} {path}"
        if response.status_code >= 500:
            failures.append(f"{where}: {response.status_code}")
        elif 300 <= response.status_code < 400:
            continue
        elif not response.headers.get("content-type", "").startswith("text/html"):
            if not wants_json(response.request):  # type: ignore[arg-type]
                failures.append(f"{where}: {response.headers.get('content-type')}")
        elif "Traceback" in response.text or '"detail"' in response.text:
            failures.append(f"{where}: developer text")
        elif response.status_code >= 400 and "Content-Security-Policy" not in response.headers:
            failures.append(f"{where}: no security headers")
    assert not failures, "\n".join(failures)
