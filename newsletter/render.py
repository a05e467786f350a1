"""Rendering a digest (HTML + plain text) and the confirmation email with Jinja2.

HTML templates are autoescaped; the ``<style>`` block is inlined with css_inline so
Gmail, Outlook and Apple Mail keep the look. The plain text is its own template,
written to be read, not a stripped copy of the HTML.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache, lru_cache
from typing import Any

import css_inline
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from aggregator.settings import Settings
from newsletter import formatting as fmt
from newsletter.select import DigestContent, DigestItem, EventView, SubscriberPrefs
from newsletter.series import SeriesGroup


@dataclass(frozen=True, slots=True)
class DigestLinks:
    """The personal links of one subscriber's copy."""

    unsubscribe: str
    preferences: str
    feedback: Mapping[int, tuple[str, str]] = field(default_factory=dict)  # id -> more, fewer
    feed_ics: str = ""  # the reader's personal iCal feed
    feed_atom: str = ""  # the reader's personal Atom feed


@cache
def environment() -> Environment:
    """The Jinja environment of the newsletter templates (autoescape on .html)."""
    env = Environment(
        loader=PackageLoader("newsletter", "templates"),
        autoescape=select_autoescape(["html"], default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["ucfirst"] = lambda value: str(value)[:1].upper() + str(value)[1:]
    env.globals.update(
        day_heading=fmt.day_heading,
        short_day=fmt.short_day,
        time_range=fmt.time_range,
        topic_label=fmt.topic_label,
        rhythm=fmt.rhythm,
        was_label=fmt.was_label,
        t=fmt.text,
    )
    return env


@cache
def _inliner() -> css_inline.CSSInliner:
    return css_inline.CSSInliner(keep_style_tags=True, load_remote_stylesheets=False)


def region_display_name(settings: Settings) -> str:
    """The region's name for people: the region pack's when it exists, else from its slug."""
    try:
        from aggregator.regions import load_region  # type: ignore[attr-defined]

        return str(load_region(settings.region).display_name)
    except Exception:
        return "-".join(part.capitalize() for part in settings.region.split("-"))


def _event_links(event: EventView, base: str) -> dict[str, str]:
    location = ", ".join(x for x in (event.venue, event.address, event.city) if x)
    page = f"{base}/events/{event.id}"
    url = event.url if event.url and event.url.startswith(("https://", "http://")) else page
    details = url
    return {
        "url": url,
        "ics": f"{base}/events/{event.id}.ics",
        "google": fmt.google_calendar_url(
            title=event.title,
            start=event.start if not event.all_day else None,
            end=event.end,
            all_day_start=event.start_date,
            all_day_end=event.end_date,
            details=details,
            location=location,
        ),
    }


@lru_cache(maxsize=64)
def _week_interval(start: date, lang: str) -> str:
    """:func:`newsletter.formatting.week_interval`, once per week and language."""
    return fmt.week_interval(start, lang)


def subject_line(content: DigestContent, *, region_name: str) -> str:
    """``Aix-Marseille : 5 événements tech, 30 nov. – 6 déc. 2026``."""
    lang = fmt.lang_of(content.language)
    week = _week_interval(content.week_start, lang)
    count = content.count
    key = "subject_none" if count == 0 else "subject_one" if count == 1 else "subject"
    return fmt.text(lang, key, region=region_name, count=count, week=week)


# Per-reader values enter the cached pieces as these placeholders (no title or name can
# contain them: those are escaped text, these are attribute values of our own).
_MORE, _LESS = "urn:techagenda:more-like", "urn:techagenda:less-like"
_FEED_ICS, _FEED_ATOM = "urn:techagenda:feed-ics", "urn:techagenda:feed-atom"
_PREFERENCES, _UNSUBSCRIBE = "urn:techagenda:preferences", "urn:techagenda:unsubscribe"
_START, _END = "<!--piece-->", "<!--/piece-->"
# The cells of digest.html the pieces go in, so CSS selectors see the same ancestors.
_CELLS = {
    "header": ('<td class="header">', "</td>"),
    "section": ('<td class="section">', "</td>"),
    "series": ('<td class="section series"><ul>', "</ul></td>"),
    "later": ('<td class="section later"><ul>', "</ul></td>"),
    "footer": ('<td class="footer">', "</td>"),
}
_MAX_PIECES = 10_000  # ~1–2 KB each: a week holds a few thousand at most
_MAX_RENDERERS = 4
Piece = tuple[str, ...]  # the literal text around the per-reader values, in order


@dataclass(frozen=True, slots=True)
class _Counts:
    """The header's numbers (a cache key: readers with the same numbers share a header)."""

    count: int
    later_count: int
    new_count: int
    moved_count: int
    cancelled_count: int


def _counts(content: DigestContent) -> _Counts:
    """``content``'s count properties, read in one pass over its items."""
    week_end = content.week_start + timedelta(days=7)
    count = later = new = moved = cancelled = 0
    for item in content.all_items:
        if item.is_cancelled:
            cancelled += 1
        elif item.day < week_end:
            count += 1
        else:
            later += 1
        new += item.is_new
        moved += item.is_moved
    return _Counts(count, later, new, moved, cancelled)


def attribute_text(value: str) -> str:
    """``value`` as css_inline's serializer writes an attribute value (double-quoted)."""
    return value.replace("&", "&amp;").replace('"', "&quot;").replace("\u00a0", "&nbsp;")


def _split(text: str, markers: Sequence[str]) -> Piece:
    parts, rest = [], text
    for marker in markers:
        head, found, rest = rest.partition(marker)
        if not found:
            raise ValueError(f"placeholder {marker!r} is missing from a rendered piece")
        parts.append(head)
    return (*parts, rest)


def _fill(piece: Piece, values: Sequence[str]) -> str:
    if len(piece) == 1:
        return piece[0]
    out = [piece[0]]
    for value, text in zip(values, piece[1:], strict=True):
        out += (value, text)
    return "".join(out)


def _item_key(item: DigestItem) -> Hashable:
    """What an item's block shows: the whole event (a changed event is another key) and
    the reader's markers for it (not its score, which only orders the list)."""
    return (
        item.event,
        item.day,
        item.local_start,
        item.local_end,
        item.is_new,
        item.is_cancelled,
        item.was_start,
        item.was_place,
    )


def _group_key(group: SeriesGroup) -> Hashable:
    return (
        group.key,
        group.title,
        group.weekday,
        group.local_time,
        group.venue,
        group.city,
        group.is_new,
        tuple(_item_key(item) for item in group.items),
    )


class DigestRenderer:
    """Renders many readers' digests of one region, each piece once per language.

    A piece (the header for given counts, a day heading, an event block, a series line,
    a save-the-date line, the footer) is rendered from ``_digest_parts.html``/``.txt`` and,
    for HTML, inlined with css_inline inside a copy of the cell ``digest.html`` puts it
    in; it is cached under what it shows: the language, the event (every field), the
    reader's markers (new, moved, cancelled, with feedback links or not). The frame
    (``digest.html`` with slots) is inlined once per language and shape. A reader's copy
    joins cached pieces and fills in their own links, which gives the same bytes as
    rendering and inlining the whole document. Caches are bounded (``_MAX_PIECES``).
    """

    def __init__(self, settings: Settings, *, region_name: str) -> None:
        self.base = settings.base_url.rstrip("/")
        self.region = region_name
        self.legal_line = settings.legal_line
        env = environment()
        self._html: Any = env.get_template("_digest_parts.html").module
        self._text: Any = env.get_template("_digest_parts.txt").module
        self._frame_template = env.get_template("digest.html")
        self._text_template = env.get_template("digest.txt")
        self._style = env.get_template("_style.html").render()
        self._pieces: dict[Hashable, Piece] = {}
        self._links: dict[EventView, dict[str, str]] = {}
        # (id(item), kind, html, lang, with feedback) -> (item, piece): readers sharing a
        # selection share its items, so a hit skips hashing the whole event (the item is
        # kept alongside, so its id cannot be reused while the entry lives)
        self._by_item: dict[tuple[int, str, bool, str, bool], tuple[DigestItem, Piece]] = {}

    def event_links(self, event: EventView) -> dict[str, str]:
        """The event's page, .ics and Google Calendar links (the same for every reader)."""
        found = self._links.get(event)
        if found is None:
            found = self._links[event] = _event_links(event, self.base)
        return found

    def _piece(self, key: Hashable, make: Callable[[], Piece]) -> Piece:
        found = self._pieces.get(key)
        if found is None:
            if len(self._pieces) >= _MAX_PIECES:
                self._pieces.clear()
                self._links.clear()
                self._by_item.clear()
            found = self._pieces[key] = make()
        return found

    def _item_piece(
        self, kind: str, item: DigestItem, html: bool, lang: str, fb: bool,
        key: Callable[[], Hashable], make: Callable[[], Piece],
    ) -> Piece:
        """:meth:`_piece` for one item's block, looked up by the item itself first."""
        memo = (id(item), kind, html, lang, fb)
        hit = self._by_item.get(memo)
        if hit is not None and hit[0] is item:
            return hit[1]
        piece = self._piece(key(), make)
        if len(self._by_item) >= _MAX_PIECES:
            self._by_item.clear()
        self._by_item[memo] = (item, piece)
        return piece

    def _inline(self, cell: str, html: str) -> str:
        """``html`` inlined as it is inside the ``cell`` of digest.html."""
        opening, closing = _CELLS[cell]
        doc = (
            f"<!DOCTYPE html><html><head>{self._style}</head><body>"
            '<table class="wrapper"><tr><td><table class="container"><tr>'
            f"{opening}{_START}{html}{_END}{closing}"
            "</tr></table></td></tr></table></body></html>"
        )
        out = _inliner().inline(doc)
        return out[out.index(_START) + len(_START) : out.rindex(_END)]

    def render(
        self, content: DigestContent, subscriber: SubscriberPrefs, links: DigestLinks
    ) -> tuple[str, str]:
        """The ``(html, text)`` bodies of one subscriber's digest."""
        lang = fmt.lang_of(subscriber.language)
        feedback = links.feedback
        html_days: list[str] = []
        text_days: list[str] = []
        for group in content.days:
            html_days.append(self._day(lang, group.day, html=True))
            text_days.append(self._day(lang, group.day, html=False))
            for item in group.items:
                fb = feedback.get(item.event.id) if item.event.topics else None
                html_days.append(self._event(lang, item, fb, html=True))
                text_days.append(self._event(lang, item, fb, html=False))
        html_series: list[str] = []
        text_series: list[str] = []
        for series in content.series:
            first = series.first.event
            fb = feedback.get(first.id) if first.topics else None
            html_series.append(self._series(lang, series, fb, html=True))
            text_series.append(self._series(lang, series, fb, html=False))
        html_later = [self._later(lang, item, html=True) for item in content.save_the_date]
        text_later = [self._later(lang, item, html=False) for item in content.save_the_date]
        counts = _counts(content)
        week_label = fmt.text(
            lang, "week_label", interval=_week_interval(content.week_start, lang)
        )
        header = self._piece(
            ("header", lang, week_label, counts),
            lambda: (
                self._inline("header", self._html.header(lang, self.region, week_label, counts)),
            ),
        )
        frame = self._frame(
            lang, bool(content.days), bool(content.series), bool(content.save_the_date)
        )
        slots = [header[0], "".join(html_days)]
        if content.series:
            slots.append("".join(html_series))
        if content.save_the_date:
            slots.append("".join(html_later))
        slots.append(self._footer(lang, links))
        html = _fill(frame, slots)
        text = self._text_template.render(
            lang=lang,
            region=self.region,
            week_label=week_label,
            counts=counts,
            has_days=bool(content.days),
            has_series=bool(content.series),
            has_later=bool(content.save_the_date),
            links=links,
            legal_line=self.legal_line,
            days="".join(text_days),
            series="".join(text_series),
            later="".join(text_later),
        )
        return html, text

    def _frame(self, lang: str, has_days: bool, has_series: bool, has_later: bool) -> Piece:
        def make() -> Piece:
            names = ["header", "days"]
            names += ["series"] if has_series else []
            names += ["later"] if has_later else []
            names.append("footer")
            slots = {name: Markup(f"<!--slot:{name}-->") for name in names}
            html = self._frame_template.render(
                lang=lang,
                region=self.region,
                slots=slots,
                has_days=has_days,
                has_series=has_series,
                has_later=has_later,
            )
            return _split(_inliner().inline(html), [slots[name] for name in names])

        return self._piece(("frame", lang, has_days, has_series, has_later), make)

    def _day(self, lang: str, day: date, *, html: bool) -> str:
        if html:
            make = lambda: (self._inline("section", self._html.day(lang, day)),)  # noqa: E731
        else:
            make = lambda: (str(self._text.day(lang, day)),)  # noqa: E731
        return self._piece(("day", html, lang, day), make)[0]

    def _event(self, lang: str, item: DigestItem, fb: tuple[str, str] | None, *, html: bool) -> str:
        markers = (_MORE, _LESS) if fb else ()
        key = lambda: ("event", html, lang, _item_key(item), bool(fb))  # noqa: E731
        if html:
            make = lambda: _split(  # noqa: E731
                self._inline("section", self._html.event(
                    lang, item, self.event_links(item.event), markers or None)),
                markers,
            )
            values = [attribute_text(url) for url in fb] if fb else []
        else:
            make = lambda: _split(self._text.event(  # noqa: E731
                lang, item, self.event_links(item.event), markers or None), markers)
            values = list(fb) if fb else []
        return _fill(self._item_piece("event", item, html, lang, bool(fb), key, make), values)

    def _series(
        self, lang: str, group: SeriesGroup, fb: tuple[str, str] | None, *, html: bool
    ) -> str:
        markers = (_MORE, _LESS) if fb else ()
        key = ("series", html, lang, _group_key(group), bool(fb))
        links = {item.event.id: self.event_links(item.event) for item in group.items}
        if html:
            make = lambda: _split(  # noqa: E731
                self._inline("series", self._html.series_item(lang, group, links, markers or None)),
                markers,
            )
            values = [attribute_text(url) for url in fb] if fb else []
        else:
            make = lambda: _split(  # noqa: E731
                self._text.series_item(lang, group, links, markers or None), markers
            )
            values = list(fb) if fb else []
        return _fill(self._piece(key, make), values)

    def _later(self, lang: str, item: DigestItem, *, html: bool) -> str:
        links = lambda: {item.event.id: self.event_links(item.event)}  # noqa: E731
        if html:
            make = lambda: (self._inline("later", self._html.later_item(lang, item, links())),)  # noqa: E731
        else:
            make = lambda: (str(self._text.later_item(lang, item, links())),)  # noqa: E731
        key = lambda: ("later", html, lang, _item_key(item))  # noqa: E731
        return self._item_piece("later", item, html, lang, False, key, make)[0]

    def _footer(self, lang: str, links: DigestLinks) -> str:
        feeds = bool(links.feed_ics)
        markers = [_FEED_ICS, _FEED_ATOM] if feeds else []
        markers += [_PREFERENCES, _UNSUBSCRIBE]

        def make() -> Piece:
            placeholders = DigestLinks(
                unsubscribe=_UNSUBSCRIBE,
                preferences=_PREFERENCES,
                feed_ics=_FEED_ICS if feeds else "",
                feed_atom=_FEED_ATOM if feeds else "",
            )
            html = self._html.footer(lang, self.region, placeholders, self.legal_line)
            return _split(self._inline("footer", html), markers)

        values = [links.feed_ics, links.feed_atom] if feeds else []
        values += [links.preferences, links.unsubscribe]
        piece = self._piece(("footer", lang, feeds), make)
        return _fill(piece, [attribute_text(v) for v in values])


def render_digest(
    content: DigestContent,
    subscriber: SubscriberPrefs,
    settings: Settings,
    *,
    region_name: str,
    links: DigestLinks,
) -> tuple[str, str]:
    """The ``(html, text)`` bodies of one subscriber's digest.

    Goes through a :class:`DigestRenderer` shared by calls with the same base URL, legal
    line and region name, so a sender calling this once per reader renders each event
    block once per language.
    """
    return renderer_for(settings, region_name=region_name).render(content, subscriber, links)


def renderer_for(settings: Settings, *, region_name: str) -> DigestRenderer:
    """The shared renderer for these settings and region (at most a few are kept)."""
    key = (settings.base_url.rstrip("/"), settings.legal_line, region_name)
    renderer = _RENDERERS.pop(key, None) or DigestRenderer(settings, region_name=region_name)
    _RENDERERS[key] = renderer  # most recently used last
    while len(_RENDERERS) > _MAX_RENDERERS:
        _RENDERERS.pop(next(iter(_RENDERERS)))
    return renderer


_RENDERERS: dict[tuple[str, str, str], DigestRenderer] = {}


def render_confirmation(
    settings: Settings, *, language: str, confirm_url: str, region_name: str
) -> tuple[str, str, str]:
    """``(subject, html, text)`` of the double opt-in email."""
    lang = fmt.lang_of(language)
    env = environment()
    context = {
        "lang": lang,
        "region": region_name,
        "confirm_url": confirm_url,
        "legal_line": settings.legal_line,
    }
    html = env.get_template("confirm.html").render(context)
    text = env.get_template("confirm.txt").render(context)
    subject = fmt.text(lang, "confirm_subject", region=region_name)
    return subject, _inliner().inline(html), text


def monday_of(day: date) -> date:
    """The Monday of ``day``'s ISO week."""
    return date.fromordinal(day.toordinal() - day.weekday())
