"""One guarded fetch (extract, organizer preview, sources check) against a loopback server."""

from __future__ import annotations

import gzip
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from aggregator.errors import BlockedURLError, FetchError
from aggregator.settings import Settings
from crawlers.fetch import fetch
from tests.support.httpserver import LoopbackHTTPServer

SSRF = Path(__file__).parents[1] / "data" / "ssrf"
ICAL = Path(__file__).parents[1] / "data" / "ical" / "meetup-marseille-python.ics"


def corpus(name: str) -> list[str]:
    lines = (SSRF / name).read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


@pytest.fixture(scope="module")
def shared_server() -> Iterator[LoopbackHTTPServer]:
    """One server for the many redirect cases (each server costs half a second to stop)."""
    server = LoopbackHTTPServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def closed(settings: Settings) -> Settings:
    """The same settings with an empty allow-list: nothing inward passes."""
    return settings.model_copy(update={"fetch_allowlist": ""})


@pytest.mark.parametrize("url", corpus("urls.txt"))
def test_fetch_refuses_every_hostile_url(url: str, closed: Settings) -> None:
    with pytest.raises(BlockedURLError):
        fetch(url, closed)


@pytest.mark.parametrize("target", corpus("redirect-targets.txt"))
def test_a_redirect_to_a_hostile_address_is_refused_at_that_hop(
    target: str, settings: Settings, shared_server: LoopbackHTTPServer
) -> None:
    path = f"/agenda-{abs(hash(target))}"
    first = shared_server.add(path, b"", status=302, headers={"Location": target})
    with pytest.raises(BlockedURLError, match="refused"):
        fetch(first, settings)
    assert shared_server.hits(path) == 1


def test_a_host_name_resolving_to_loopback_is_refused_where_we_connect(
    closed: Settings, settings: Settings, http_server: LoopbackHTTPServer
) -> None:
    name = socket.gethostname()
    url = http_server.url("/feed.ics").replace("127.0.0.1", name)
    try:
        socket.getaddrinfo(name, http_server.port)
    except OSError:
        pytest.skip("this machine's name does not resolve")
    with pytest.raises(BlockedURLError, match="refused"):
        fetch(url, closed)  # the URL names no address: refused where we connect
    assert http_server.hits("/feed.ics") == 0


def test_allow_listed_loopback_is_fetched_with_our_user_agent_through_redirects(
    settings: Settings, http_server: LoopbackHTTPServer
) -> None:
    body = ICAL.read_bytes()
    http_server.add("/feed.ics", body, content_type="text/calendar; charset=utf-8")
    http_server.add("/old", b"", status=301, headers={"Location": "/moved"})
    http_server.add("/moved", b"", status=302, headers={"Location": http_server.url("/feed.ics")})
    result = fetch(http_server.url("/old"), settings)
    assert result.status == 200
    assert result.url.endswith("/feed.ics")
    assert result.body == body
    assert result.headers["content-type"].startswith("text/calendar")
    _m, _p, headers = http_server.requests[-1]
    assert headers["User-Agent"] == f"techagenda/0.1 (+{settings.user_agent_contact})"
    assert "gzip" in headers["Accept-Encoding"] and "br" in headers["Accept-Encoding"]


def test_a_gzipped_body_is_decoded(settings: Settings, http_server: LoopbackHTTPServer) -> None:
    body = ICAL.read_bytes()
    url = http_server.add(
        "/feed.ics.gz-served",
        gzip.compress(body),
        headers={"Content-Type": "text/calendar", "Content-Encoding": "gzip"},
    )
    assert fetch(url, settings).body == body


def test_an_unchanged_resource_answers_304_with_no_body(
    settings: Settings, http_server: LoopbackHTTPServer
) -> None:
    url = http_server.add("/feed.ics", ICAL.read_bytes(), content_type="text/calendar")
    first = fetch(url, settings)
    again = fetch(url, settings, etag=first.headers["etag"])
    assert again.not_modified and again.status == 304 and again.body == b""


def test_a_body_over_the_size_cap_is_refused(
    settings: Settings, http_server: LoopbackHTTPServer
) -> None:
    small = settings.model_copy(update={"download_maxsize": 10_000})
    url = http_server.add("/huge.html", b"<p>" + b"x" * 50_000, content_type="text/html")
    with pytest.raises(FetchError, match="larger than"):
        fetch(url, small)


def test_a_compression_bomb_stops_at_the_size_cap(
    settings: Settings, http_server: LoopbackHTTPServer
) -> None:
    small = settings.model_copy(update={"download_maxsize": 100_000})
    bomb = gzip.compress(b"\0" * 5_000_000)
    url = http_server.add(
        "/bomb", bomb, headers={"Content-Type": "text/html", "Content-Encoding": "gzip"}
    )
    assert len(bomb) < 100_000
    with pytest.raises(FetchError, match="larger than"):
        fetch(url, small)


def test_a_slow_server_times_out(settings: Settings, http_server: LoopbackHTTPServer) -> None:
    quick = settings.model_copy(update={"download_timeout": 1})
    url = http_server.add("/slow", b"late", delay=3)
    with pytest.raises(FetchError, match="in time"):
        fetch(url, quick)


def test_an_http_error_and_a_dead_port_are_fetch_errors(
    settings: Settings, http_server: LoopbackHTTPServer
) -> None:
    url = http_server.add("/gone", b"gone", status=410)
    with pytest.raises(FetchError, match="410") as info:
        fetch(url, settings)
    assert info.value.status == 410
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(FetchError, match="refused"):
        fetch(f"http://127.0.0.1:{port}/", settings)


def test_a_redirect_loop_stops(settings: Settings, http_server: LoopbackHTTPServer) -> None:
    http_server.add("/a", b"", status=302, headers={"Location": "/b"})
    http_server.add("/b", b"", status=302, headers={"Location": "/a"})
    with pytest.raises(FetchError, match="redirects"):
        fetch(http_server.url("/a"), settings)


def test_a_file_url_is_read_only_for_an_admin_source(settings: Settings) -> None:
    url = ICAL.resolve().as_uri()
    with pytest.raises(BlockedURLError):
        fetch(url, settings)
    assert fetch(url, settings, admin_source=True).body == ICAL.read_bytes()


def test_a_url_with_control_characters_is_a_fetch_error_not_a_crash(settings: Settings) -> None:
    with pytest.raises(FetchError, match="not a valid web address"):
        fetch("http://127.0.0.1:9/a\x00b", settings)
