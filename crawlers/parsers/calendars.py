"""Which platform wrote an iCalendar file (or a feed), and the small fixes its files need.

Read from the content (``PRODID``, the event addresses), never only from the URL:
OpenAgenda's ``events.v2.ics``, Meetup's group export, Luma's calendar feed, Mobilizon,
Gancio and The Events Calendar's ``?ical=1`` export. The parsing itself stays in ``ical.py``; this module only names the
platform and applies its rules afterwards (Luma writes the event page in
``DESCRIPTION``, not in ``URL``; Meetup's addresses lose their locale segment; The Events
Calendar writes the town before its postcode; Gancio prefixes titles with its site name
and writes "place - address").
"""

from __future__ import annotations

import re

from aggregator.raw import RawEvent
from crawlers.parsers.meetup import normalise_url

_MARKS = (
    ("openagenda", re.compile(r"(?im)^(PRODID|UID|URL)[^:\r\n]*:[^\r\n]*openagenda")),
    ("meetup", re.compile(r"(?im)^(PRODID|UID|URL)[^:\r\n]*:[^\r\n]*meetup\.?com")),
    (
        "luma",
        re.compile(
            r"(?im)^(PRODID[^:\r\n]*:[^\r\n]*(luma|lu\.ma)|UID[^:\r\n]*:[^\r\n]*@[\w.-]*(lu\.ma|luma)"
            r"|[A-Z-]+[^:\r\n]*:[^\r\n]*https?://(lu\.ma|luma\.com)/)"
        ),
    ),
    ("mobilizon", re.compile(r"(?im)^PRODID[^:\r\n]*:[^\r\n]*mobilizon")),
    ("tribe-ical", re.compile(r"(?im)^PRODID[^:\r\n]*:[^\r\n]*(ECPv\d|The Events Calendar)")),
    ("gancio", re.compile(r"(?im)^PRODID[^:\r\n]*:[^\r\n]*gancio")),
)
_LUMA_EVENT = re.compile(
    r"https?://(?:www\.)?(?:lu\.ma|luma\.com)/(?:event/)?(?!(?:calendar|user|u|home|join)\b)[\w-]+"
)


# Gancio writes its ICS with the ``ics`` npm library (PRODID adamgibbons/ics): told by
# its UIDs "<event id>@<host>" beside URLs "https://<host>/event/<slug>".
_ICS_LIBRARY = re.compile(r"(?im)^PRODID[^:\r\n]*:\s*adamgibbons/ics")
_GANCIO_UID = re.compile(r"(?im)^UID[^:\r\n]*:\d+@(?P<host>[\w.-]+)\s*$")
_GANCIO_TITLE = re.compile(r"^\[(?P<site>[^\]]{1,80})\]\s+(?P<title>\S.*)$")


def ical_platform(text: str) -> str | None:
    """The platform whose export ``text`` is, when its marks show (first 8 kB read)."""
    head = text[:8192]
    for name, mark in _MARKS:
        if mark.search(head):
            return name
    if _ICS_LIBRARY.search(head) and (uid := _GANCIO_UID.search(head)):
        host = re.escape(uid["host"])
        if re.search(rf"(?im)^URL[^:\r\n]*:https?://{host}/event/", head):
            return "gancio"
    return None


_FEED_GENERATOR = re.compile(
    rb"(?i)<generator[^>]*>\s*(mobilizon|gancio)|<generator[^>]*uri=[\"'][^\"']*(mobilizon|gancio)"
)


def feed_platform(body: bytes) -> str | None:
    """The platform ("mobilizon" or "gancio") a feed's ``<generator>`` names, if any."""
    match = _FEED_GENERATOR.search(body[:8192])
    if match is None:
        return None
    return (match.group(1) or match.group(2)).decode("ascii").lower()


def settle_platform(platform: str | None, events: list[RawEvent]) -> list[RawEvent]:
    """Apply the platform's own rules to events the iCalendar parser read."""
    if platform == "luma":
        return [_luma(event) for event in events]
    if platform == "meetup":
        return [e.with_(url=normalise_url(e.url)) if e.url else e for e in events]
    if platform == "tribe-ical":
        return [_tribe_place(event) for event in events]
    if platform == "gancio":
        return _gancio(events)
    return events


def _gancio(events: list[RawEvent]) -> list[RawEvent]:
    """Gancio's ICS titles every event "[<site title>] <title>" and writes LOCATION
    "<place> - <address>", or "online - <link>" for an online event."""
    prefixes = {m["site"] for e in events if (m := _GANCIO_TITLE.match(e.title))}
    strip = len(prefixes) == 1 and all(_GANCIO_TITLE.match(e.title) for e in events)
    settled = []
    for event in events:
        if strip and (match := _GANCIO_TITLE.match(event.title)):
            event = event.with_(title=match["title"].strip())
        name, _, rest = (part.strip() for part in (event.venue or "").partition(" - "))
        if name.lower() == "online":
            link = rest if rest.startswith(("http://", "https://")) else event.online_url
            event = event.with_(venue=None, address=None, online=True, online_url=link)
        elif rest:
            address = ", ".join(part for part in (rest, event.address) if part) or None
            event = event.with_(venue=name or None, address=address)
        settled.append(event)
    return settled


_CITY_ZIP = re.compile(r"^(?:(?P<street>.*?),\s*)?(?P<city>[^,\d]+?),\s*(?P<zip>\d{4,5})$")


def _tribe_place(event: RawEvent) -> RawEvent:
    """The Events Calendar writes LOCATION "Venue, street, City, 83000, Country": the town
    comes before its postcode, which the generic splitting does not expect."""
    if event.city or not event.address:
        return event
    match = _CITY_ZIP.match(event.address.strip())
    if match is None:
        return event
    return event.with_(
        address=match["street"] or None,
        city=match["city"].strip(),
        postcode=event.postcode or match["zip"],
    )


def _luma(event: RawEvent) -> RawEvent:
    """Luma puts the event page ("Get up-to-date information at: https://lu.ma/abc") in
    DESCRIPTION; it becomes the event URL when the event has none or a calendar one."""
    venue = event.venue
    in_venue = _LUMA_EVENT.fullmatch(venue.strip()) if venue else None
    if in_venue:  # LOCATION is the event page (online, or an address shown to guests only)
        event = event.with_(venue=None)
    if event.url and _LUMA_EVENT.match(event.url):
        return event
    found = _LUMA_EVENT.search(event.description or "") or in_venue
    return event.with_(url=found.group(0)) if found else event
