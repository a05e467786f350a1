"""Pages that date events only with ``<time datetime>``: Drupal views (``views-row`` with a
datetime or daterange field), WordPress theme cards, static-site agendas.

Each ``<time datetime>`` is attached to its card — the nearest ``article``/``li``/``tr``
or an element whose class says card, event, teaser, views-row... — and the card gives
the title (its heading, else its first link), the link, a second ``<time>`` as the end,
and a place from an element classed location/lieu/venue/adresse. A date-only
``datetime`` takes a clock written in the element's text ("12 mars @ 18h30 - 20h30").

Publication dates are not events: a ``<time>`` classed or wrapped as published, updated,
entry-date, post-meta or byline is ignored, and a page is read this way only when its
URL, its cards or its ``<time>`` elements say agenda/event.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

from aggregator.raw import RawEvent
from crawlers.parsers.common import clean_text, parse_iso, split_location
from crawlers.parsers.textdates import find_times

MAX_CARDS = 500
_PUBLICATION = re.compile(
    r"(?i)(?<![a-z])(published|datepublished|date-published|updated|modified|datemodified"
    r"|entry-date|post-date|posted-on|posted|byline|entry-meta|post-meta|article-meta"
    r"|meta-date|comment|submitted|datecreated|date-created)(?![a-z])"
)
_CARD_CLASS = re.compile(
    r"(?i)\b(card|event|evenement|agenda|teaser|views-row|node|item|entry|post|manifestation"
    r"|rendez-vous|meetup|atelier|session|listing|tile|row)"
)
_EVENTISH = re.compile(
    r"(?i)event|evenement|évènement|agenda|manifestation|rencontre|meetup|atelier|workshop"
    r"|conference|programme|daterange|date-start|dtstart|smart-date|field-date|field--name-field-"
    r"(date|when|horaire)"
)
_PLACE_CLASS = re.compile(r"(?i)location|lieu|venue|adresse|address|where|place|salle")
_SUMMARY_CLASS = re.compile(r"(?i)description|summary|excerpt|chapo|chapeau|field--name-body")
_ANY_HEADING = " or self::".join(("h1", "h2", "h3", "h4", "h5", "h6"))


def parse_time_cards(tree: Any, *, url: str) -> list[RawEvent]:
    """The events of a page whose cards carry ``<time datetime>`` (none when it does not
    look like an agenda)."""
    times = [t for t in tree.xpath("//body//time[@datetime]") if not _publication(t)]
    if not times:
        return []
    cards: dict[Any, list[Any]] = {}
    for element in times:
        card = _card(element)
        if card is not None:
            cards.setdefault(card, []).append(element)
    if not cards or not _agenda(url, cards):
        return []
    events: list[RawEvent] = []
    seen: set[tuple[str, str]] = set()
    for card, card_times in list(cards.items())[:MAX_CARDS]:
        event = _event(card, card_times, url)
        if event is not None and (key := (event.title, str(event.start))) not in seen:
            seen.add(key)
            events.append(event)
    return events


def _publication(element: Any) -> bool:
    for node in (element, *list(element.iterancestors())[:3]):
        marks = " ".join(filter(None, (node.get("class"), node.get("itemprop"), node.get("id"))))
        if marks and _PUBLICATION.search(marks):
            return True
    return False


def _card(element: Any) -> Any | None:
    """The nearest ancestor that holds one event: an article, list item, row or card."""
    for depth, node in enumerate(element.iterancestors()):
        if depth > 8 or node.tag in ("body", "html", "main"):
            return None
        carded = node.tag in ("article", "li", "tr") or _CARD_CLASS.search(node.get("class") or "")
        if carded and _title_element(node) is not None:
            linked = node.xpath(f".//*[self::{_ANY_HEADING}][.//a[@href]]")
            return node if len(linked) < 2 else None  # a list of cards, not one
    return None


def _agenda(url: str, cards: dict[Any, list[Any]]) -> bool:
    if _EVENTISH.search(urlsplit(url).path):
        return True
    for card, card_times in cards.items():
        marks = [card.get("class") or ""]
        for element in card_times:
            marks.append(element.get("class") or "")
            marks.extend(a.get("class") or "" for a in list(element.iterancestors())[:3])
        if _EVENTISH.search(" ".join(marks)):
            return True
    return False


def _title_element(card: Any) -> Any | None:
    headings = card.xpath(f".//*[self::{_ANY_HEADING}]")
    for heading in headings:
        if clean_text(heading.text_content()):
            return heading
    titled = card.xpath('.//*[contains(@class, "title")]')
    for element in titled:
        if clean_text(element.text_content()):
            return element
    return None


def _event(card: Any, times: list[Any], url: str) -> RawEvent | None:
    heading = _title_element(card)
    title = clean_text(heading.text_content()) if heading is not None else None
    start = _when(times[0])
    if not title or start is None:
        return None
    end = None
    for element in times[1:]:
        value = _when(element)
        if value is not None and type(value) is type(start) and _after(value, start):
            end = value
            break
    if end is None and isinstance(start, datetime):
        clock_end = find_times(times[0].text_content() or "")[1]
        if clock_end is not None and clock_end > start.time():
            end = start.replace(hour=clock_end.hour, minute=clock_end.minute)
    links = []
    if heading is not None:
        links = heading.xpath("ancestor-or-self::a[@href]/@href | .//a[@href]/@href")
    links = links or card.xpath(".//a[@href]/@href")
    href = urljoin(url, str(links[0]).strip()) if links else None
    venue, address, postcode, city = split_location(_classed_text(card, _PLACE_CLASS))
    return RawEvent(
        title=title,
        start=start,
        end=end,
        uid=href,
        url=href,
        description=_classed_text(card, _SUMMARY_CLASS, keep_lines=True),
        venue=venue,
        address=address,
        postcode=postcode,
        city=city,
        source_format="html-time",
        source_url=url,
    )


def _when(element: Any) -> datetime | date | None:
    value = parse_iso(element.get("datetime"))
    if isinstance(value, date) and not isinstance(value, datetime):
        clock = find_times(element.text_content() or "")[0]
        if clock is not None:
            return datetime.combine(value, clock)
    return value


def _after(later: date | datetime, earlier: date | datetime) -> bool:
    try:
        return later > earlier  # type: ignore[operator]
    except TypeError:
        return False


def _classed_text(card: Any, pattern: re.Pattern[str], *, keep_lines: bool = False) -> str | None:
    for element in card.iter():
        classes = element.get("class") or "" if isinstance(element.tag, str) else ""
        if element.tag != "time" and pattern.search(classes):
            text = clean_text(element.text_content(), keep_lines=keep_lines)
            if text:
                return text
    return None
