"""The ``css`` adapter: a region pack's selectors applied to an HTML listing with parsel.

Pure: the page's text in, :class:`~aggregator.raw.RawEvent` out. Each card selected by
``items`` becomes one event when it has a title and a readable date. Dates are ISO 8601
(a ``data-date`` or ``datetime`` attribute) or prose in the schema's language, read by
:func:`crawlers.parsers.textdates.find_when`; a year left out is taken from the
``reference`` day (the crawl window's start), never from today. Times without a zone are
floating: the source's timezone applies at normalisation.

With a ``follow`` step the cards' links are returned to be read one by one, and
:func:`read_detail` lets the event page's own values (its ``og:title`` when the cards
truncate titles, its date or venue) win over the card's.
"""

from __future__ import annotations

from datetime import date, datetime
from urllib.parse import urljoin

from parsel import Selector

from aggregator.raw import RawEvent
from crawlers.adapters.routes import CssSchema, FollowStep
from crawlers.parsers.common import clean_text, parse_iso
from crawlers.parsers.textdates import find_times, find_when

FORMAT = "css"


def read_css(
    text: str, schema: CssSchema, *, url: str, reference: date | None
) -> tuple[list[RawEvent], list[str], list[str]]:
    """(events, links to follow, warnings) of one listing page."""
    page = Selector(text=text)
    cards = page.css(schema.items)
    events: list[RawEvent] = []
    warnings: list[str] = []
    for number, card in enumerate(cards, start=1):
        title = _text(card, schema.title)
        if not title:
            warnings.append(f"card {number}: no title (selector {schema.title!r})")
            continue
        when = _when(_text(card, schema.date), _text(card, schema.time), schema, reference)
        if when is None:
            warnings.append(f"card {number} ({title[:40]}): no readable date")
            continue
        start, end = when
        if schema.end:
            end = _end(_text(card, schema.end), start, schema, reference) or end
        link = _text(card, schema.link)
        link = urljoin(url, link) if link else None
        image = _text(card, schema.image)
        events.append(
            RawEvent(
                title=title,
                start=start,
                end=end,
                uid=None if link else f"{title}|{start.isoformat()}",
                url=link,
                venue=_text(card, schema.venue),
                description=_text(card, schema.description),
                image=urljoin(url, image) if image else None,
                language=schema.language,
                source_format=FORMAT,
                source_url=url,
            )
        )
    if not cards:
        warnings.append(f"no card matched {schema.items!r}: has the page changed?")
    links = [e.url for e in events if e.url] if schema.follow else []
    return events, list(dict.fromkeys(links)), warnings


def read_detail(
    text: str, step: FollowStep, card: RawEvent, *, language: str, reference: date | None
) -> RawEvent:
    """The card's event with the values its own page gives (each kept when not found)."""
    page = Selector(text=text)
    changes: dict[str, object] = {}
    if step.title and (title := _text(page, step.title)):
        changes["title"] = title
    if step.venue and (venue := _text(page, step.venue)):
        changes["venue"] = venue
    if step.description and (description := _text(page, step.description)):
        changes["description"] = description
    if step.date:
        schema = CssSchema(items="html", title="title", date=step.date, language=language)
        time_text = _text(page, step.time)
        when = _when(_text(page, step.date), time_text, schema, reference)
        if when is not None:
            changes["start"], changes["end"] = when
    return card.with_(**changes) if changes else card


def _text(node: Selector, selector: str | None) -> str | None:
    """The selected text, whitespace collapsed. A selector without ``::text`` or
    ``::attr()`` reads all the text inside the matched element."""
    if not selector:
        return None
    if "::" in selector:
        values = node.css(selector).getall()
    else:
        values = node.css(selector).xpath("string()").getall()[:1]
    return clean_text(" ".join(v for v in values if v and v.strip())) or None


def _when(
    date_text: str | None, time_text: str | None, schema: CssSchema, reference: date | None
) -> tuple[datetime | date, datetime | date | None] | None:
    if not date_text:
        return None
    start: datetime | date | None = parse_iso(date_text.strip())
    end: datetime | date | None = None
    if start is None:
        found = find_when(
            f"{date_text} {time_text or ''}".strip(),
            reference=reference,
            day_first=schema.language != "en",
        )
        if found is None:
            return None
        start, end = found.start, found.end
    if not isinstance(start, datetime) and time_text:
        begins, ends = find_times(time_text)
        if begins is not None:
            start = datetime.combine(start, begins)
            end = datetime.combine(start.date(), ends) if ends and ends > begins else None
    return start, end


def _end(
    text: str | None, start: datetime | date, schema: CssSchema, reference: date | None
) -> datetime | date | None:
    when = _when(text, None, schema, reference)
    if when is None:
        return None
    end = when[0]
    if isinstance(start, datetime) and not isinstance(end, datetime):
        return None
    return end
