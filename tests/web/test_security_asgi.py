"""The security headers and the CSRF cookie come from a plain ASGI middleware: on every
answer (404, 500, streamed bodies, cache hits), without a ``BaseHTTPMiddleware`` in the
stack; and misses arriving together for one cached page are rendered once."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import StreamingResponse
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlalchemy.engine import Engine
from starlette.middleware.base import BaseHTTPMiddleware

from web.cache import ResponseCache
from web.security import CONTENT_SECURITY_POLICY, CSRF_COOKIE, SecurityHeadersMiddleware

EXPECTED = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
    "content-security-policy": CONTENT_SECURITY_POLICY,
}


def assert_secured(response: httpx.Response) -> None:
    for name, value in EXPECTED.items():
        assert response.headers.get(name) == value, (name, response.status_code)


@pytest.fixture
def lenient(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def test_the_stack_has_no_base_http_middleware(app: FastAPI) -> None:
    classes = [entry.cls for entry in app.user_middleware]
    assert SecurityHeadersMiddleware in classes
    assert classes[0] is SecurityHeadersMiddleware  # outermost of ours: covers the cache too
    assert not any(isinstance(c, type) and issubclass(c, BaseHTTPMiddleware) for c in classes)


def test_404_500_and_streamed_answers_carry_the_headers(
    app: FastAPI, lenient: TestClient
) -> None:
    def explode() -> None:
        raise RuntimeError("boom")

    def stream() -> StreamingResponse:
        return StreamingResponse(iter([b"one,", b"two,", b"three"]), media_type="text/csv")

    app.add_api_route("/explode", explode)
    app.add_api_route("/stream", stream)
    missing = lenient.get("/nulle-part")
    assert missing.status_code == 404
    assert_secured(missing)
    failed = lenient.get("/explode")
    assert failed.status_code == 500 and "boom" not in failed.text
    assert_secured(failed)
    streamed = lenient.get("/stream")
    assert streamed.status_code == 200 and streamed.content == b"one,two,three"
    assert_secured(streamed)
    assert_secured(lenient.get("/static/does-not-exist.css"))  # a mounted app's 404


def test_a_route_s_own_policy_is_kept_and_docs_get_theirs(
    app: FastAPI, client: TestClient
) -> None:
    def framed() -> StreamingResponse:
        return StreamingResponse(
            iter([b"x"]), headers={"Content-Security-Policy": "default-src 'none'"}
        )

    app.add_api_route("/framed", framed)
    response = client.get("/framed")
    assert response.headers.get_list("content-security-policy") == ["default-src 'none'"]
    docs = client.get("/docs")
    assert "'unsafe-inline'" in docs.headers["content-security-policy"]
    assert docs.headers["x-frame-options"] == "DENY"


def test_a_new_visitor_gets_one_csrf_cookie_and_keeps_it(
    client: TestClient, events: dict[str, int]
) -> None:
    first = client.get("/subscribe")
    cookies = first.headers.get_list("set-cookie")
    assert len(cookies) == 1 and cookies[0].startswith(f"{CSRF_COOKIE}=")
    flags = {part.strip().lower() for part in cookies[0].split(";")[1:]}
    assert {"httponly", "path=/", "samesite=lax"} <= flags and "secure" not in flags
    token = client.cookies[CSRF_COOKIE]
    assert f'value="{token}"' in first.text  # the form carries the cookie's token
    again = client.get("/subscribe")
    assert "set-cookie" not in again.headers and f'value="{token}"' in again.text
    client.cookies.clear()
    client.cookies.set(CSRF_COOKIE, "forged.value")
    assert client.get("/").headers["set-cookie"].startswith(f"{CSRF_COOKIE}=")


def test_a_cache_hit_still_gets_the_headers_and_a_fresh_visitor_its_cookie(
    app: FastAPI, events: dict[str, int]
) -> None:
    with TestClient(app) as warm:
        warm.get("/")
        hits = app.state.response_cache.hits
        cached = warm.get("/")
        assert app.state.response_cache.hits == hits + 1
        assert_secured(cached)
    with TestClient(app) as fresh:
        answer = fresh.get("/")
        assert app.state.response_cache.hits == hits + 2
        assert answer.headers["set-cookie"].startswith(f"{CSRF_COOKIE}=")
        assert_secured(answer)


def test_misses_arriving_together_render_the_page_once(
    app: FastAPI, sqlite_engine: Engine, events: dict[str, int]
) -> None:
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    engine: Engine = app.state.engine
    event.listen(engine, "before_cursor_execute", count)

    async def visit(times: int) -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            return list(await asyncio.gather(*(http.get("/") for _ in range(times))))

    try:
        cache: ResponseCache = app.state.response_cache
        asyncio.run(visit(1))  # warm: what the app keeps between renders
        cache.forget()
        statements.clear()
        one = asyncio.run(visit(1))[0]
        alone = len(statements)
        assert alone > 0
        cache.forget()
        statements.clear()
        together = asyncio.run(visit(8))
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert [r.status_code for r in together] == [200] * 8
    assert {r.content for r in together} == {one.content}
    assert len(statements) == alone  # one render's queries, not eight
