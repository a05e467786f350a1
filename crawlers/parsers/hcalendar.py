"""hCalendar (microformats v1): ``vevent`` elements read straight from the lxml tree.

mf2py's backwards-compatible parsing (what extruct gives) loses the ``value-title``
pattern of ``dtend`` and the ``street-address``/``locality`` of a nested ``adr``, so v1
markup is read here by the spec: ``summary`` (else ``fn``), ``dtstart``/``dtend`` from a
``value-title``'s ``title``, an ``abbr``'s ``title``, a ``time``'s ``datetime``, the
concatenated ``value`` parts ("2027-03-12" + "18:30"), else the text; ``location`` as text
or a nested ``vcard``/``adr``; ``url``, ``uid``, ``description``, ``category``,
``geo``. A date-only ``dtend`` is exclusive, as in iCalendar ("5 to 8 October" shown as
"October 5–7").
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any
from urllib.parse import urljoin

from aggregator.raw import RawEvent
from crawlers.parsers.common import clean_text, day_before, parse_iso, split_location

MAX_EVENTS = 500


def _cls(name: str) -> str:
    return f'contains(concat(" ", normalize-space(@class), " "), " {name} ")'


_VEVENT = f"//*[{_cls('vevent')}]"


def has_hcalendar(tree: Any) -> bool:
    """True when the page holds microformats v1 ``vevent`` markup."""
    return bool(tree.xpath(_VEVENT))


def parse_hcalendar(tree: Any, *, url: str) -> list[RawEvent]:
    """Every ``vevent`` of the page with a summary and a readable start."""
    events: list[RawEvent] = []
    for node in tree.xpath(_VEVENT)[:MAX_EVENTS]:
        event = _event(node, url)
        if event is not None:
            events.append(event)
    return events


def _own(node: Any, name: str) -> list[Any]:
    """Descendants with class ``name`` that belong to this vevent (not a nested one)."""
    return [found for found in node.xpath(f".//*[{_cls(name)}]") if _owner(found) is node]


def _owner(element: Any) -> Any:
    for ancestor in element.iterancestors():
        if "vevent" in (ancestor.get("class") or "").split():
            return ancestor
    return None


def _first(node: Any, name: str) -> Any | None:
    found = _own(node, name)
    return found[0] if found else None


def _text(element: Any | None) -> str | None:
    if element is None:
        return None
    if element.tag == "abbr" and element.get("title"):
        return clean_text(element.get("title"))
    values = element.xpath(f".//*[{_cls('value')}]")
    if values:
        return clean_text(" ".join(v.text_content() for v in values))
    return clean_text(element.text_content())


def _datetime(element: Any | None) -> datetime | date | None:
    """The value-class pattern, then machine attributes, then the text."""
    if element is None:
        return None
    titles = element.xpath(f".//*[{_cls('value-title')}]/@title")
    candidates = [*titles]
    parts = element.xpath(f".//*[{_cls('value')}]")
    if parts:
        pieces = [p.get("datetime") or p.get("title") or p.text_content() for p in parts]
        candidates.append(_join_value_parts([str(x).strip() for x in pieces if x]))
    candidates += [element.get("datetime"), element.get("title"), element.get("content")]
    candidates.append(element.text_content())
    for candidate in candidates:
        if candidate and (value := parse_iso(_iso_like(str(candidate)))) is not None:
            return value
    return None


def _join_value_parts(parts: list[str]) -> str:
    """["2027-03-12", "18:30", "+01:00"] → "2027-03-12T18:30+01:00"."""
    day = next((p for p in parts if re.fullmatch(r"\d{4}-\d{2}-\d{2}", p)), None)
    clock = next((p for p in parts if re.fullmatch(r"\d{1,2}:\d{2}(:\d{2})?", p)), None)
    offset = next((p for p in parts if re.fullmatch(r"Z|[+-]\d{2}:?\d{2}", p)), "")
    if day is None:
        return " ".join(parts)
    if clock is None:
        return day
    return f"{day}T{clock.zfill(5)}{offset}"


def _iso_like(text: str) -> str:
    text = text.strip()
    if m := re.fullmatch(r"(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})?(Z)?)?", text):
        y, mo, d, h, mi, s, z = m.groups()
        if h is None:
            return f"{y}-{mo}-{d}"
        return f"{y}-{mo}-{d}T{h}:{mi}:{s or '00'}{'+00:00' if z else ''}"
    return text


def _event(node: Any, url: str) -> RawEvent | None:
    title = _text(_first(node, "summary")) or _text(_first(node, "fn"))
    start = _datetime(_first(node, "dtstart"))
    if not title or start is None:
        return None
    end = _datetime(_first(node, "dtend"))
    if isinstance(end, date) and not isinstance(end, datetime):
        end = day_before(end) if isinstance(start, date) and end > start else end
    if end is not None and (type(end) is not type(start) or _before(end, start)):
        end = None
    place = _place(_first(node, "location"))
    link = _first(node, "url")
    href = None
    if link is not None:
        href = link.get("href") or (link.xpath(".//a/@href") or [None])[0]
    elif (summary := _first(node, "summary")) is not None:
        href = summary.get("href") or (summary.xpath("ancestor::a[1]/@href") or [None])[0]
    href = urljoin(url, href) if href else None
    description = _first(node, "description")
    return RawEvent(
        title=title,
        start=start,
        end=end,
        uid=_text(_first(node, "uid")) or href,
        url=href,
        description=clean_text(description.text_content(), keep_lines=True)
        if description is not None
        else None,
        venue=place["venue"],
        address=place["address"],
        postcode=place["postcode"],
        city=place["city"],
        country=place["country"],
        latitude=_float(_text(_first(node, "latitude"))),
        longitude=_float(_text(_first(node, "longitude"))),
        categories=tuple(dict.fromkeys(t for c in _own(node, "category") if (t := _text(c)))),
        source_format="hcalendar",
        source_url=url,
    )


def _place(element: Any | None) -> dict[str, str | None]:
    place: dict[str, str | None] = dict.fromkeys(
        ("venue", "address", "postcode", "city", "country")
    )
    if element is None:
        return place

    def part(name: str) -> str | None:
        found = element.xpath(f".//*[{_cls(name)}]")
        return _text(found[0]) if found else None

    street, locality = part("street-address"), part("locality")
    if street or locality:
        place.update(
            venue=part("fn") or part("org") or part("organization-name"),
            address=street,
            postcode=part("postal-code"),
            city=locality,
            country=part("country-name"),
        )
        return place
    venue, address, postcode, city = split_location(_text(element))
    place.update(venue=venue, address=address, postcode=postcode, city=city)
    return place


def _before(end: date | datetime, start: date | datetime) -> bool:
    try:
        return end < start  # type: ignore[operator]
    except TypeError:
        return False


def _float(text: str | None) -> float | None:
    try:
        return float(text) if text else None
    except ValueError:
        return None
