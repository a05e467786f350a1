"""HTML pages: a platform's page state (Meetup's or Bevy's ``__NEXT_DATA__``), schema.org events
(JSON-LD, microdata, RDFa), microformats h-event, and listing pages whose links lead to
event pages.

JSON-LD blocks are read one by one, so a malformed block is skipped with a warning while
the page's valid blocks still count. Microdata, RDFa and microformats go through extruct,
each only when the page shows its markers (RDFa parsing is slow).
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urldefrag, urljoin, urlsplit

import extruct
import lxml.etree
import lxml.html

from aggregator.errors import ParseError
from aggregator.raw import RawEvent, SourceDefaults
from crawlers.parsers import bevy, meetup
from crawlers.parsers.common import clean_text
from crawlers.parsers.hcalendar import has_hcalendar, parse_hcalendar
from crawlers.parsers.schemaorg import compact_rdfa, events_from_schema, find_events
from crawlers.parsers.timecards import parse_time_cards

MAX_LINKS = 50
_EXSLT = {"re": "http://exslt.org/regular-expressions"}
_EVENT_CONTAINER = (
    "ancestor::article | ancestor::*[re:test(@class, 'event|agenda|evenement|card|teaser', 'i')]"
)
_EVENTISH = re.compile(
    r"(?i)/(events?|evenements?|évènements?|agenda|meetups?|e|conferences?|ateliers?"
    r"|workshops?|manifestations?|rencontres?|programme)(/|-|$)|\d{4}-\d{2}-\d{2}|/\d{4}/\d{2}/"
)
_WRAPPER = re.compile(r"^\s*(<!--|<!\[CDATA\[)|(-->|\]\]>)\s*$")  # around a JSON-LD block
_WRAP_OPEN, _WRAP_CLOSE = ("<!--", "<![CDATA["), ("-->", "]]>")
_SKIP = re.compile(
    r"(?i)\.(jpe?g|png|gif|svg|webp|css|js|pdf|zip|ico|xml|ics|mp4|mp3)$"
    r"|/(tag|category|categorie|author|wp-login|login|feed|page/\d+)(/|$)"
)


def parse_html(
    text: str, *, url: str, defaults: SourceDefaults | None = None
) -> tuple[str, list[RawEvent], list[str], list[str]]:
    """(format, events, links, warnings) of an HTML page."""
    try:
        tree = lxml.html.document_fromstring(text or "<html></html>")
    except (lxml.etree.ParserError, ValueError) as exc:
        raise ParseError(f"not a readable HTML page ({exc})") from exc
    warnings: list[str] = []
    state = meetup.next_data(tree) if 'id="__NEXT_DATA__"' in text else None
    if state is not None and (platform_events := meetup.read(state, url=url)):
        return meetup.PLATFORM, platform_events, [], warnings
    if state is not None and (platform_events := bevy.read(state, url=url, defaults=defaults)):
        return bevy.PLATFORM, platform_events, [], warnings
    blocks = _jsonld_blocks(tree, warnings)
    found: list[tuple[str, dict[str, Any]]] = [
        ("jsonld", node) for block in blocks for node in find_events(block)
    ]
    if not found:
        found = _other_syntaxes(text, tree, url, warnings)
    if not found and (page_events := _page_dates(tree, url)):
        return page_events[0].source_format, page_events, [], warnings
    events, dropped = events_from_schema(found, page_url=url)
    warnings.extend(dropped)
    if events:
        return events[0].source_format, events, [], warnings
    links = listing_links(tree, url)
    if links:
        return "listing", [], links, warnings
    return "html", [], [], [*warnings, "the page has no event data and no event links"]


def _page_dates(tree: Any, url: str) -> list[RawEvent]:
    """Events from hCalendar v1 markup, else from ``<time datetime>`` cards."""
    if has_hcalendar(tree) and (events := parse_hcalendar(tree, url=url)):
        return events
    return parse_time_cards(tree, url=url)


def _jsonld_blocks(tree: Any, warnings: list[str]) -> list[Any]:
    blocks: list[Any] = []
    bad = 0
    for script in tree.xpath('//script[contains(translate(@type,"LDJSON","ldjson"),"ld+json")]'):
        raw = (script.text or "").strip()
        if raw.startswith(_WRAP_OPEN) or raw.endswith(_WRAP_CLOSE):  # the regex scans it all
            raw = _WRAPPER.sub("", raw).strip()
        if not raw:
            continue
        try:
            blocks.append(json.loads(raw, strict=False))
        except (ValueError, RecursionError):
            bad += 1
    if bad:
        warnings.append(f"{bad} JSON-LD block(s) are not valid JSON and were skipped")
    return blocks


def _other_syntaxes(
    text: str, tree: Any, url: str, warnings: list[str]
) -> list[tuple[str, dict[str, Any]]]:
    syntaxes = []
    lowered = text.lower()  # attribute names: a page without the word has no such attribute
    if "itemscope" in lowered and tree.xpath("//*[@itemscope]"):
        syntaxes.append("microdata")
    if (
        ("typeof" in lowered or "property" in lowered)
        and ("vocab" in lowered or "prefix" in lowered)
        and tree.xpath("//*[@typeof or @property][ancestor-or-self::*[@vocab or @prefix]]")
    ):
        syntaxes.append("rdfa")
    if tree.xpath(
        '//*[contains(@class, "h-event")]'
        '[contains(concat(" ", normalize-space(@class), " "), " h-event ")]'
    ):
        syntaxes.append("microformat")
    if not syntaxes:
        return []
    # microdata alone reads the page's tree; RDFa needs extruct's own parser, microformats text
    document = tree if syntaxes == ["microdata"] else text
    try:
        data = extruct.extract(
            document, base_url=url, syntaxes=syntaxes, uniform=True, errors="ignore"
        )
    except Exception as exc:  # extruct wraps many parsers; any failure is the page's
        warnings.append(f"embedded data could not be read ({type(exc).__name__})")
        return []
    found: list[tuple[str, dict[str, Any]]] = []
    for node in data.get("microdata", []):
        found.extend(("microdata", event) for event in find_events(node))
    for node in compact_rdfa(data.get("rdfa", [])):
        found.append(("rdfa", node))
    for node in data.get("microformat", []):
        found.extend(("h-event", event) for event in _h_events(node))
    return found


def _first(values: Any) -> Any:
    return values[0] if isinstance(values, list) and values else values


def _h_events(node: Any, depth: int = 0) -> list[dict[str, Any]]:
    if not isinstance(node, dict) or depth > 4:
        return []
    if "h-event" not in (node.get("@type") or []):
        found = []
        for child in node.get("children", []) or []:
            found.extend(_h_events(child, depth + 1))
        return found
    location = _first(node.get("location"))
    if isinstance(location, dict):
        location = {
            "@type": "Place",
            "name": _first(location.get("name")) or location.get("value"),
            "address": {
                "streetAddress": _first(location.get("street-address")),
                "addressLocality": _first(location.get("locality")),
                "postalCode": _first(location.get("postal-code")),
                "addressCountry": _first(location.get("country-name")),
            },
            "geo": {
                "latitude": _first(location.get("latitude")),
                "longitude": _first(location.get("longitude")),
            },
        }
    description = (_first(node.get("description")) or _first(node.get("summary"))
                   or _first(node.get("content")))
    if isinstance(description, dict):
        description = description.get("value")
    return [
        {
            "@type": "Event",
            "name": _first(node.get("name")),
            "startDate": _first(node.get("start")),
            "endDate": _first(node.get("end")),
            "url": _first(node.get("url")),
            "@id": _first(node.get("uid")),
            "description": description,
            "location": location,
            "organizer": _first(node.get("organizer")),
            "image": _first(node.get("photo")),
            "keywords": node.get("category"),
        }
    ]


def listing_links(tree: Any, url: str) -> list[str]:
    """Same-site links that look like event pages, best first, at most ``MAX_LINKS``."""
    site = _site(url)
    page = urldefrag(url)[0]
    directory = urlsplit(page).path.rsplit("/", 1)[0] + "/"
    scored: dict[str, int] = {}
    for anchor in tree.xpath("//a[@href]"):
        href = urldefrag(urljoin(url, anchor.get("href", "").strip()))[0]
        parts = urlsplit(href)
        local = parts.scheme == "file" and url.startswith("file:")
        if (parts.scheme not in ("http", "https") and not local) or _site(href) != site:
            continue
        if href == page or _SKIP.search(parts.path) or parts.path in ("", "/"):
            continue
        below = parts.path.startswith(directory)
        remainder = "/" + parts.path[len(directory) :] if below else parts.path
        score = 2 if _EVENTISH.search(remainder) else 0
        if anchor.xpath(_EVENT_CONTAINER, namespaces=_EXSLT):
            score += 2
        if below:
            score += 1
        if score >= 2 and clean_text(anchor.text_content()):
            scored[href] = max(scored.get(href, 0), score)
    ranked = sorted(scored, key=lambda h: -scored[h])
    return ranked[:MAX_LINKS]


def _site(url: str) -> str:
    host = (urlsplit(url).hostname or "").lower()
    return host[4:] if host.startswith("www.") else host
