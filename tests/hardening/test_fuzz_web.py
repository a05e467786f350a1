"""hypothesis (and schemathesis, when installed) against the public entry points, through
FastAPI's test client on a real SQLite file: whatever a stranger sends, never a 500.

Submitted URLs are built only from loopback, private and reserved hosts, so the fuzzing
never resolves a name or opens a connection outside 127.0.0.1.
"""

from __future__ import annotations

import socket
import string
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine

from aggregator.settings import Settings
from tests.hardening.helpers import big_calendar
from tests.support.httpserver import LoopbackHTTPServer
from web.app import create_app
from web.security import CSRF_COOKIE, RateLimiter

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=300)


@pytest.fixture
def app(settings: Settings, sqlite_engine: Engine) -> FastAPI:
    app = create_app(settings, clock=lambda: NOW)
    return app


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as test_client:
        # Fuzzing is thousands of hits from one address: lift the per-client limits.
        app.state.limiters = {k: RateLimiter(10**9, 60) for k in app.state.limiters}
        test_client.get("/subscribe")
        yield test_client


def _csrf(client: TestClient) -> str:
    return str(client.cookies[CSRF_COOKIE])


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


EMAILS = st.one_of(
    TEXT,
    st.emails(),
    st.builds(
        lambda local, tail: f"{local}{tail}",
        st.text(string.ascii_letters + ".+-_\"' ", min_size=1, max_size=40),
        st.sampled_from(
            [
                "@exemple.fr",
                "@exemple.fr\r\nBcc: x@evil.example",
                "@",
                "@@exemple.fr",
                "@exemple.fr>",
                "@[127.0.0.1]",
                "@xn--exmple-cva.fr",
                "@exemple.fr\x00",
            ]
        ),
    ),
)


@FUZZ
@given(
    email=EMAILS,
    language=st.one_of(st.sampled_from(["fr", "en"]), TEXT),
    topics=st.lists(st.one_of(st.sampled_from(["ia-data", "web-mobile"]), TEXT), max_size=4),
    towns=st.lists(st.one_of(st.sampled_from(["13001", "13055"]), TEXT), max_size=4),
    online=st.one_of(st.none(), TEXT),
)
def test_subscribe_never_answers_500(
    client: TestClient,
    email: str,
    language: str,
    topics: list[str],
    towns: list[str],
    online: str | None,
) -> None:
    form: dict[str, object] = {
        "email": email,
        "language": language,
        "topic": topics,
        "town": towns,
        "csrf_token": _csrf(client),
    }
    if online is not None:
        form["online"] = online
    response = client.post("/subscribe", data=form)
    assert response.status_code < 500, response.text[:500]


HOSTS = [
    "127.0.0.1",
    "localhost",
    "[::1]",
    "10.1.2.3",
    "192.168.0.10",
    "169.254.169.254",
    "0x7f.1",
    "2130706433",
    "017700000001",
    "[::ffff:10.0.0.1]",
    "0.0.0.0",
    "[fe80::1]",
    "user:pass@127.0.0.1",
    "",
    "127.1",
]


@pytest.fixture
def feed_port(http_server: LoopbackHTTPServer) -> int:
    http_server.add("/agenda.ics", big_calendar(5), headers={"Content-Type": "text/calendar"})
    http_server.add("/page", b"<html><body><h1>Agenda</h1></body></html>")
    return http_server.port


def _submitted(feed_port: int) -> st.SearchStrategy[str]:
    closed = _closed_port()
    path = st.one_of(
        st.sampled_from(["/agenda.ics", "/page", "/", "/missing"]),
        TEXT.map(lambda t: "/" + t),
    )
    http = st.builds(
        lambda scheme, host, port, tail: f"{scheme}://{host}{port}{tail}",
        st.sampled_from(["http", "https", "HTTP", "hTTps"]),
        st.sampled_from(HOSTS),
        st.sampled_from(["", f":{feed_port}", f":{closed}", ":0", ":99999", ":-1", ":x"]),
        path,
    )
    # anything not starting with http(s):// is refused before any fetch
    other = TEXT.filter(lambda t: not t.strip().lower().startswith(("http://", "https://")))
    schemes = st.builds(
        lambda s, t: f"{s}{t}",
        st.sampled_from(["file:///etc/passwd", "gopher://", "javascript:", "ftp://", "data:,"]),
        TEXT,
    )
    return st.one_of(http, other, schemes)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_submit_preview_never_answers_500(
    client: TestClient, feed_port: int, data: st.DataObject
) -> None:
    url = data.draw(_submitted(feed_port))
    response = client.post("/submit/preview", data={"url": url, "csrf_token": _csrf(client)})
    assert response.status_code < 500, (url, response.text[:500])


QUERY_VALUE = st.one_of(
    TEXT,
    st.dates().map(str),
    st.integers().map(str),
    st.sampled_from(["yes", "no", "1", "0", "", "2026-02-30", "9999-12-31", "0001-01-01"]),
)
QUERY_NAME = st.sampled_from(
    ["topic", "town", "online", "from", "to", "q", "limit", "offset", "lang", "page"]
)


@FUZZ
@given(params=st.lists(st.tuples(QUERY_NAME, QUERY_VALUE), max_size=8))
def test_api_events_never_answers_500_whatever_the_query(
    client: TestClient, params: list[tuple[str, str]]
) -> None:
    for path in ("/api/events", "/"):
        response = client.get(path, params=params)
        assert response.status_code < 500, (path, params, response.text[:500])


def test_schemathesis_finds_no_server_error_in_the_openapi_description(
    app: FastAPI, client: TestClient, tmp_path: Path
) -> None:
    schemathesis = pytest.importorskip("schemathesis")
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures: list[str] = []
    for operation in schema.get_all_operations():
        op = operation.ok()
        if op.method.upper() != "GET":
            continue

        @settings(
            max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        @given(case=op.as_strategy())
        def check(case: object) -> None:
            response = case.call()  # type: ignore[attr-defined]
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.path}: {response.status_code}")  # type: ignore[attr-defined]

        check()
    assert failures == []


@pytest.mark.parametrize("path", ["/", "/api/events", "/feed.xml", "/feed.ics"])
@pytest.mark.parametrize(
    "query", ["from=0001-01-01", "to=9999-12-31", "from=9999-12-31&to=0001-01-01"]
)
def test_the_first_and_last_days_of_the_calendar_are_not_a_server_error(
    client: TestClient, path: str, query: str
) -> None:
    """Found by schemathesis: ``/feed.xml?from=0001-01-01`` overflowed into a 500."""
    assert client.get(f"{path}?{query}").status_code in (200, 304)


@pytest.mark.parametrize(
    "path", ["/events/9223372036854775808", "/events/9223372036854775808.ics", "/events/0"]
)
def test_an_event_id_no_row_can_have_is_not_found(client: TestClient, path: str) -> None:
    """Found by schemathesis: an id past 64 bits overflowed the SQLite driver into a 500."""
    assert client.get(path).status_code == 404
