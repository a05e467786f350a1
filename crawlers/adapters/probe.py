"""The route probe: which adapter reads a site, found by trying what the site offers.

In order (first one giving events wins): the page's feed links (RSS, Atom, iCalendar),
The Events Calendar's ``?ical=1`` export, the ``x-tec-api-root`` header's REST root,
``/wp-json/tribe/events/v1/events``, a WordPress custom post type for events
(``/wp-json/wp/v2/types``), the page's own schema.org Event data, ``.ics`` links on the
page, then the platforms' URL patterns (Meetup, OpenAgenda, Bevy). No hit: a ``css``
schema is needed (or the source is unreadable).

:func:`page_hints` and :func:`platform_route` are pure; :func:`probe_site` takes the page
already fetched and a ``fetch`` callable for the candidates (the guarded fetch in
production, a loopback server in tests). Every attempt is kept so the admin sees what was
tried.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

from parsel import Selector

from aggregator.errors import FetchError, ParseError
from aggregator.raw import SourceDefaults
from crawlers.document import Fetched, read_document
from crawlers.extract import Reader
from crawlers.lint import INFO, Finding

Fetch = Callable[[str], Fetched]

_FEED_TYPES = {
    "application/rss+xml": "feed",
    "application/atom+xml": "feed",
    "text/calendar": "ical",
}
_EVENT_TYPES = re.compile(r"(?i)event|agenda|evenement|évènement|événement|manifestation")
_STRUCTURED = {"jsonld", "microdata", "rdfa", "h-event", "hcalendar"}


@dataclass(frozen=True)
class PageHints:
    """What a page says about the routes it offers."""

    feeds: tuple[tuple[str, str], ...] = ()  # (adapter, absolute URL)
    ics_links: tuple[str, ...] = ()
    tec_api_root: str | None = None
    wordpress: bool = False


@dataclass(frozen=True)
class Attempt:
    """One route tried, and what came of it."""

    step: str
    url: str
    outcome: str


@dataclass(frozen=True)
class Proposal:
    """The route the probe proposes (``adapter`` None: none found)."""

    adapter: str | None
    url: str | None
    events: int | None  # None: the route exists but its events were not counted
    attempts: tuple[Attempt, ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, Any]:
        return {
            "adapter": self.adapter,
            "url": self.url,
            "events": self.events,
            "attempts": [a.__dict__ for a in self.attempts],
        }

    def finding(self) -> Finding:
        """The proposal in plain words, for ``sources check`` and the admin page."""
        tried = tuple(f"{a.step}: {a.outcome}" for a in self.attempts)
        if self.adapter is None:
            return Finding(
                "route_proposal", INFO,
                "Aucune route lisible trouvée (ni flux, ni API, ni données Event) : il faut "
                "un schéma css dans routes.toml, ou déclarer la source illisible.",
                "No readable route found (no feed, API or Event data): this source needs a "
                "css schema in routes.toml, or to be marked unreadable.",
                len(self.attempts), tried[:8],
            )  # fmt: skip
        found = "" if self.events is None else f" ({self.events})"
        return Finding(
            "route_proposal", INFO,
            f"Route proposée : {self.adapter} <{self.url}>{found}.",
            f"Proposed route: {self.adapter} <{self.url}>{found}.",
            self.events or 0, tried[:8],
        )  # fmt: skip


# ------------------------------------------------------------------ pure


def page_hints(fetched: Fetched) -> PageHints:
    """Feed links, .ics links, the TEC REST root and WordPress signs of one HTML page."""
    headers = {k.lower(): v for k, v in fetched.headers.items()}
    root = headers.get("x-tec-api-root") or None
    try:
        page = Selector(text=fetched.body.decode("utf-8", errors="replace"))
    except Exception:  # not HTML at all
        return PageHints(tec_api_root=root)
    feeds = []
    for link in page.css("link[rel~=alternate][href]"):
        kind = _FEED_TYPES.get((link.attrib.get("type") or "").split(";")[0].strip().lower())
        if kind:
            feeds.append((kind, urljoin(fetched.url, link.attrib["href"])))
    ics = [urljoin(fetched.url, href) for href in page.css("a::attr(href)").getall()
           if urlsplit(href).path.lower().endswith((".ics", ".ical")) or "ical=1" in href]  # fmt: skip
    body = fetched.body[:200_000]
    wordpress = (
        b"/wp-json/" in body or b"/wp-content/" in body or "api.w.org" in headers.get("link", "")
    )
    return PageHints(tuple(dict.fromkeys(feeds)), tuple(dict.fromkeys(ics)), root, wordpress)


def platform_route(url: str) -> tuple[str, str] | None:
    """The route a platform's URL pattern gives (Meetup group, OpenAgenda agenda, Bevy)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower().removeprefix("www.")
    segments = [s for s in parts.path.split("/") if s]
    if segments and re.fullmatch(r"[a-z]{2}-[A-Z]{2}", segments[0]):
        segments = segments[1:]  # Meetup's /fr-FR/ locale prefix
    if host == "meetup.com" and segments:
        return "meetup", f"https://www.meetup.com/{segments[0]}/events/ical/"
    if host == "openagenda.com" and len(segments) >= 2 and segments[0] == "agendas":
        return "openagenda", (
            f"https://openagenda.com/agendas/{segments[1]}/events.v2.json"
            "?relative[]=current&relative[]=upcoming"
        )
    if host.endswith("community.dev") and segments:
        return "bevy", urlunsplit(("https", host, f"/{segments[0]}/", "", ""))
    return None


def wordpress_event_types(body: bytes, base: str) -> list[str]:
    """REST collections of the custom post types that look like events (``/wp/v2/types``)."""
    try:
        types = json.loads(body)
    except ValueError:
        return []
    if not isinstance(types, dict):
        return []
    out = []
    for slug, spec in types.items():
        if not isinstance(spec, dict) or slug in ("post", "page", "attachment"):
            continue
        name = f"{slug} {spec.get('name', '')} {spec.get('rest_base', '')}"
        if _EVENT_TYPES.search(name):
            out.append(urljoin(base, f"/wp-json/wp/v2/{spec.get('rest_base') or slug}?per_page=50"))
    return out


# ------------------------------------------------------------------ trying


def probe_site(page: Fetched, fetch: Fetch, defaults: SourceDefaults,
               reader: Reader = read_document) -> Proposal:
    """Try the routes ``page`` offers, in order; propose the first that yields events (each
    candidate document read by ``reader``: an isolated child for visitors' URLs)."""
    hints = page_hints(page)
    attempts: list[Attempt] = []
    site = urlunsplit((*urlsplit(page.url)[:2], "/", "", ""))

    def attempt(step: str, adapter: str, url: str) -> Proposal | None:
        count = _count(url, fetch, defaults, attempts, step, reader)
        return Proposal(adapter, url, count, ()) if count else None

    candidates: list[tuple[str, str, str]] = [(f"feed link ({a})", a, u) for a, u in hints.feeds]
    if hints.wordpress or hints.tec_api_root:
        candidates.append(("?ical=1", "tec", _with_query(page.url, "ical=1")))
    if hints.tec_api_root:
        candidates.append(("x-tec-api-root", "tec", urljoin(hints.tec_api_root, "events")))
    if hints.wordpress:
        candidates.append(("tribe REST", "tec", urljoin(site, "/wp-json/tribe/events/v1/events")))
    for step, adapter, url in candidates:
        if (found := attempt(step, adapter, url)) is not None:
            return _done(found, attempts)
    if hints.wordpress:
        types_url = urljoin(site, "/wp-json/wp/v2/types")
        try:
            collections = wordpress_event_types(fetch(types_url).body, site)
            attempts.append(Attempt("wp/v2/types", types_url, f"{len(collections)} event type(s)"))
        except FetchError as exc:
            collections = []
            attempts.append(Attempt("wp/v2/types", types_url, str(exc)))
        if collections:
            return _done(Proposal("wp-rest", collections[0], None), attempts)
    own = _count_document(page, defaults, reader, structured_only=True)
    attempts.append(Attempt("schema.org Event on the page", page.url, f"{own} event(s)"))
    if own:
        return _done(Proposal("schemaorg", page.url, own), attempts)
    for url in hints.ics_links:
        if (found := attempt(".ics link", "ical", url)) is not None:
            return _done(found, attempts)
    platform = platform_route(page.url)
    if platform is not None:
        adapter, url = platform
        attempts.append(Attempt("platform URL pattern", url, adapter))
        return _done(Proposal(adapter, url, None), attempts)
    return _done(Proposal(None, None, None), attempts)


def _done(proposal: Proposal, attempts: list[Attempt]) -> Proposal:
    return Proposal(proposal.adapter, proposal.url, proposal.events, tuple(attempts))


def _count(
    url: str, fetch: Fetch, defaults: SourceDefaults, attempts: list[Attempt], step: str,
    reader: Reader,
) -> int:
    try:
        fetched = fetch(url)
    except FetchError as exc:
        attempts.append(Attempt(step, url, str(exc)))
        return 0
    count = _count_document(fetched, defaults, reader)
    attempts.append(Attempt(step, url, f"{count} event(s)"))
    return count


def _count_document(
    fetched: Fetched, defaults: SourceDefaults, reader: Reader, *, structured_only: bool = False
) -> int:
    """Events ``reader`` finds; with ``structured_only``, only schema.org-like data (not
    dates guessed from the page's text)."""
    try:
        reading = reader(fetched, defaults)
    except ParseError:
        return 0
    if structured_only and reading.platform not in _STRUCTURED:
        return 0
    return len(reading.events)


def _with_query(url: str, extra: str) -> str:
    parts = urlsplit(url)
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit(parts._replace(query=query))
