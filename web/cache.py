"""A short-lived response cache for the anonymous agenda, event pages and feeds.

What is cached: ``GET`` of ``/``, ``/api/events``, ``/feed.ics``, ``/feed.xml``,
``/events/<id>`` and ``/events/<id>.ics``, answered 200, with no cookie set by the
answer, for a request without an admin session cookie or an ``Authorization`` header.
Personal URLs (``/me/…``, ``/preferences/…``, ``/feedback/…``, ``/unsubscribe/…``) and
the admin pages never match. The key is the path, the sorted query, the page language,
the app clock's minute and the **store version**.

The store version moves with every write, whichever process made it (ingest in the
crawler, moderation in another worker), with nothing shared but the database. On SQLite
(WAL mode) it is the size and mtime of the database and -wal files, read on every
request (two ``stat`` calls). Elsewhere it is the highest event id on every request (an
index lookup: new events show at once) and, at most every ``check_every`` seconds, the
row count and latest ``updated_at`` (a scan: changed events show within that interval).
A write handled by this worker (any method but GET/HEAD) drops its entries at once.
Entries live ``ttl`` seconds at most; the cache keeps ``max_entries`` entries and
``max_bytes`` of bodies (oldest dropped first).

A hit keeps the stored ETag, Last-Modified and Cache-Control; ``If-None-Match`` (then
``If-Modified-Since``) is answered 304 from them. A page without an ETag gets one from
its body. It is a plain ASGI middleware inside the security-headers one, so CSRF cookies
and security headers are still set per request; a body holding the request's CSRF token
is never stored.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from web.feeds import etag_of, not_modified
from web.i18n import LANG_COOKIE, pick_language
from web.security import ADMIN_COOKIE, request_cookie

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

CACHEABLE = re.compile(r"^/(?:|api/events|feed\.ics|feed\.xml|events/\d+(?:\.ics)?)$")
_CONDITIONAL = (b"if-none-match", b"if-modified-since")
_KEPT = (b"content-type", b"etag", b"last-modified", b"cache-control", b"content-disposition")
_NEWEST = sa.text("SELECT max(id) FROM event")
_UPDATED = sa.text("SELECT count(*), max(updated_at) FROM event")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class CachedResponse:
    """A stored 200: its body and the headers worth replaying."""

    body: bytes
    headers: tuple[tuple[bytes, bytes], ...]
    etag: str
    modified: datetime | None
    stored_at: float


@dataclass
class ResponseCache:
    """The entries of one worker and its view of the store version."""

    engine: Engine
    ttl: float = 30.0
    check_every: float = 1.0
    max_entries: int = 512
    max_bytes: int = 32 * 1024 * 1024  # bodies held, at most (oldest dropped first)
    monotonic: Callable[[], float] = time.monotonic
    watch_files: bool = True  # False: SQL versions even on SQLite (as on PostgreSQL)
    entries: dict[tuple[Any, ...], CachedResponse] = field(default_factory=dict)
    hits: int = 0
    misses: int = 0
    held_bytes: int = 0
    _version: tuple[Any, ...] | None = None
    _updated: tuple[Any, ...] | None = None
    _checked_at: float = float("-inf")
    _files: tuple[Path, ...] = ()

    def __post_init__(self) -> None:
        url = self.engine.url
        database = url.database or ""
        file_db = url.get_backend_name() == "sqlite" and database not in ("", ":memory:")
        file_db = file_db and self.watch_files
        self._files = (Path(database), Path(f"{database}-wal")) if file_db else ()

    def _file_version(self) -> tuple[Any, ...]:
        """SQLite in WAL mode: every commit, by any process, writes the -wal file (and a
        checkpoint the database file), so their sizes and mtimes move."""
        version: list[Any] = []
        for path in self._files:
            try:
                info = path.stat()
            except FileNotFoundError:
                version.append(None)
            else:
                version.append((info.st_mtime_ns, info.st_size))
        return tuple(version)

    def _read_newest(self) -> tuple[Any, ...]:
        with self.engine.connect() as conn:
            return tuple(str(value) for value in conn.execute(_NEWEST).one())

    def _read_updated(self) -> tuple[Any, ...]:
        with self.engine.connect() as conn:
            return tuple(str(value) for value in conn.execute(_UPDATED).one())

    async def version(self) -> tuple[Any, ...]:
        """The store version: file sizes and mtimes for SQLite; else the highest event id
        on every request and, at most every ``check_every`` seconds, the row count and the
        latest ``updated_at`` (a scan of ``event``)."""
        if self._files:
            version: tuple[Any, ...] = self._file_version()
        else:
            now = self.monotonic()
            if self._updated is None or now - self._checked_at >= self.check_every:
                self._updated, self._checked_at = await run_in_threadpool(self._read_updated), now
            version = (await run_in_threadpool(self._read_newest), self._updated)
        if version != self._version:
            self._clear()  # every entry is of an older store
            self._version = version
        return version

    def forget(self) -> None:
        """Drop every entry (this worker handled a write: its own pages are fresh at once)."""
        self._clear()
        self._updated = None

    def _clear(self) -> None:
        self.entries.clear()
        self.held_bytes = 0

    def get(self, key: tuple[Any, ...]) -> CachedResponse | None:
        entry = self.entries.get(key)
        if entry is not None and self.monotonic() - entry.stored_at > self.ttl:
            self._drop(key)
            entry = None
        if entry is None:
            self.misses += 1
        else:
            self.hits += 1
        return entry

    def put(self, key: tuple[Any, ...], entry: CachedResponse) -> None:
        if len(entry.body) > self.max_bytes:
            return
        self._drop(key)
        self.entries[key] = entry
        self.held_bytes += len(entry.body)
        while len(self.entries) > self.max_entries or self.held_bytes > self.max_bytes:
            self._drop(next(iter(self.entries)))

    def _drop(self, key: tuple[Any, ...]) -> None:
        old = self.entries.pop(key, None)
        if old is not None:
            self.held_bytes -= len(old.body)


def cacheable(request: Request) -> bool:
    """Whether ``request`` may be answered from the cache (anonymous GET of a public page)."""
    return cacheable_scope(request.scope)


def cacheable_scope(scope: Scope) -> bool:
    """:func:`cacheable` read from the ASGI scope alone (no ``Request`` built on a hit)."""
    if scope.get("method") != "GET" or CACHEABLE.match(scope.get("path", "")) is None:
        return False
    for key, value in scope.get("headers", ()):
        if key == b"authorization":
            return False
        admin = key == b"cookie" and ADMIN_COOKIE.encode() in value
        if admin and request_cookie(scope, ADMIN_COOKIE) is not None:
            return False
    return True


@lru_cache(maxsize=1024)
def _language(asked: str | None, cookie: str | None, accept: str | None) -> str:
    """``pick_language`` (Babel's negotiation) once per distinct triple."""
    return pick_language(asked, cookie, accept)


def cache_key(request: Request, version: tuple[Any, ...], now: datetime) -> tuple[Any, ...]:
    """Route, sorted query, language, the clock's minute and the store version."""
    return scope_key(request.scope, version, now)


def scope_key(scope: Scope, version: tuple[Any, ...], now: datetime) -> tuple[Any, ...]:
    """:func:`cache_key` from the ASGI scope (the language as ``request_language`` picks it:
    the last ``lang`` of the query, the language cookie, ``Accept-Language``)."""
    pairs = parse_qsl(bytes(scope.get("query_string", b"")).decode("latin-1"),
                      keep_blank_values=True)
    asked = next((value for name, value in reversed(pairs) if name == "lang"), None)
    accept = next((v.decode("latin-1") for k, v in scope.get("headers", ())
                   if k == b"accept-language"), None)
    language = _language(asked, request_cookie(scope, LANG_COOKIE), accept)
    minute = now.replace(second=0, microsecond=0).isoformat()
    return (scope.get("path", ""), urlencode(sorted(pairs)), language, minute, version)


class ResponseCacheMiddleware:
    """ASGI middleware answering cacheable requests from :class:`ResponseCache`."""

    def __init__(self, app: ASGIApp, cache: ResponseCache) -> None:
        self.app = app
        self.cache = cache
        # misses being rendered: a request arriving meanwhile for the same key waits for
        # that one answer instead of rendering it again (no stampede after a new version)
        self.pending: dict[tuple[Any, ...], asyncio.Future[CachedResponse | None]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cache: ResponseCache = getattr(scope["app"].state, "response_cache", self.cache)
        if scope.get("method") not in ("GET", "HEAD"):
            try:
                await self.app(scope, receive, send)
            finally:
                cache.forget()
            return
        if not cacheable_scope(scope):
            await self.app(scope, receive, send)
            return
        key = scope_key(scope, await cache.version(), scope["app"].state.clock())
        entry = cache.get(key)
        if entry is None:
            waiting = self.pending.get(key)
            if waiting is not None:
                entry = await asyncio.shield(waiting)
                if entry is None:  # that answer was not storable: render this one too
                    await self.app(scope, receive, send)
                    return
            else:
                entry = await self._fetch_once(key, scope, receive, send, cache)
                if entry is None:
                    return  # answered as it came: not a cacheable response
        await _answer(scope, entry, send)

    async def _fetch_once(
        self, key: tuple[Any, ...], scope: Scope, receive: Receive, send: Send,
        cache: ResponseCache,
    ) -> CachedResponse | None:
        """:meth:`_fetch` with the result shared with the requests for ``key`` meanwhile."""
        future: asyncio.Future[CachedResponse | None] = (
            asyncio.get_running_loop().create_future()
        )
        self.pending[key] = future
        entry = None
        try:
            entry = await self._fetch(scope, receive, send, cache)
            if entry is not None:
                cache.put(key, entry)
        finally:
            del self.pending[key]
            future.set_result(entry)
        return entry

    async def _fetch(
        self, scope: Scope, receive: Receive, send: Send, cache: ResponseCache
    ) -> CachedResponse | None:
        """Run the route without the conditional headers; the 200 to store, or None when
        the answer was not storable (then it has been sent as it was)."""
        inner = dict(scope)
        inner["headers"] = [(k, v) for k, v in scope["headers"] if k not in _CONDITIONAL]
        start: Message = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(inner, receive, capture)
        body = b"".join(chunks)
        headers = [(bytes(k).lower(), bytes(v)) for k, v in start.get("headers", [])]
        token = str(scope.get("state", {}).get("csrf_token") or "")
        storable = (
            start.get("status") == 200
            and not any(k == b"set-cookie" for k, _ in headers)
            and not (token and token.encode() in body)
        )
        if not storable:
            await send({**start, "headers": headers} if start else start)
            await send({"type": "http.response.body", "body": body})
            return None
        found = dict(headers)
        etag = found[b"etag"].decode("latin-1") if b"etag" in found else etag_of(body)
        modified = None
        if b"last-modified" in found:
            try:
                modified = parsedate_to_datetime(found[b"last-modified"].decode("latin-1"))
            except (TypeError, ValueError):
                modified = None
        kept = tuple((k, v) for k, v in headers if k in _KEPT and k != b"etag")
        return CachedResponse(body, kept, etag, modified, cache.monotonic())


async def _answer(scope: Scope, entry: CachedResponse, send: Send) -> None:
    """The stored response, or 304 when the client's copy is current."""
    headers = [*entry.headers, (b"etag", entry.etag.encode("latin-1"))]
    asked = {k.decode(): v.decode("latin-1") for k, v in scope.get("headers", ())
             if k in _CONDITIONAL}
    fresh = bool(asked) and not_modified(
        asked.get("if-none-match"),
        asked.get("if-modified-since") if entry.modified else None,
        entry.etag,
        entry.modified or _EPOCH,
    )
    if fresh:
        headers = [(k, v) for k, v in headers if k != b"content-type"]
        await send({"type": "http.response.start", "status": 304, "headers": headers})
        await send({"type": "http.response.body", "body": b""})
        return
    headers.append((b"content-length", str(len(entry.body)).encode("ascii")))
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": entry.body})


def install_response_cache(app: Any, engine: Engine) -> ResponseCache:
    """Add the cache middleware to ``app`` (call before the security-headers middleware is
    declared, so that one stays outside); the cache is ``app.state.response_cache``."""
    cache = ResponseCache(engine)
    app.state.response_cache = cache
    app.add_middleware(ResponseCacheMiddleware, cache=cache)
    return cache
