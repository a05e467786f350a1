"""ActivityPub ``Event`` objects, as Mobilizon and Gancio federate them.

Read: one ``Event``, a ``Create`` (or ``Announce``/``Update``) wrapping one, and an
``OrderedCollection`` / ``OrderedCollectionPage`` (an outbox) of either, its first page
included inline. Fields: ``name``, ``startTime``, ``endTime``, ``timezone``, ``url``
(else ``id``), ``content`` / ``summary``, ``location`` (a ``Place`` whose ``address`` is
a schema.org ``PostalAddress`` on Mobilizon, a plain string on Gancio), ``attachment``
(the first image; meeting links), ``tag`` hashtags, ``ical:status`` / ``eventStatus``,
Mobilizon's ``isOnline``. The platform is named from the content: Mobilizon's
``joinmobilizon.org`` namespace, Gancio's ``/federation/`` identifiers.
"""

from __future__ import annotations

from typing import Any

from aggregator.place import is_online_url
from aggregator.raw import RawEvent, SourceDefaults
from crawlers.parsers.common import clean_text, parse_iso, split_location, zone
from crawlers.parsers.gancio import is_online_place
from crawlers.parsers.jsonfields import as_dict, as_float, as_list, dicts, ends_after, in_zone

PLATFORM = "activitypub"
_WRAPPERS = ("Create", "Announce", "Update")
_COLLECTIONS = ("OrderedCollection", "OrderedCollectionPage", "Collection", "CollectionPage")
_STATUS = {"cancelled": "cancelled", "canceled": "cancelled", "tentative": "tentative",
           "eventcancelled": "cancelled", "eventpostponed": "postponed",
           "eventrescheduled": "rescheduled"}  # fmt: skip
_MAX_ITEMS = 2000
_GANCIO_ID = "/federation/"  # Gancio's summary is generated ("<place>, <date>"), not a text


def _types(node: dict[str, Any]) -> set[str]:
    return {t for t in as_list(node.get("type")) if isinstance(t, str)}


def objects(data: Any) -> list[dict[str, Any]]:
    """The ``Event`` objects of an ActivityPub document (wrappers and collections opened)."""
    found: list[dict[str, Any]] = []
    _collect(data, found, 0)
    return found


def _collect(node: Any, found: list[dict[str, Any]], depth: int) -> None:
    if not isinstance(node, dict) or depth > 4 or len(found) >= _MAX_ITEMS:
        return
    kinds = _types(node)
    if "Event" in kinds:
        found.append(node)
    elif kinds & set(_WRAPPERS):
        _collect(node.get("object"), found, depth + 1)
    elif kinds & set(_COLLECTIONS):
        for item in as_list(node.get("orderedItems") or node.get("items")):
            _collect(item, found, depth + 1)
        _collect(node.get("first"), found, depth + 1)


def recognise(data: Any) -> bool:
    """True when ``data`` is an ActivityPub Event, activity or collection of them."""
    if not isinstance(data, dict) or not _types(data) & {"Event", *_WRAPPERS, *_COLLECTIONS}:
        return False
    return bool(objects(data))


def platform(data: Any) -> str:
    """ "mobilizon", "gancio" or "activitypub": who federated this document."""
    context = str(data.get("@context", "")) if isinstance(data, dict) else ""
    if "joinmobilizon.org" in context:
        return "mobilizon"
    first = objects(data)[:1]
    if first and ("joinMode" in first[0] or "mz:" in str(first[0].get("@context", ""))):
        return "mobilizon"
    if first and _GANCIO_ID in str(first[0].get("id", "")):
        return "gancio"
    return PLATFORM


def read(data: Any, *, url: str, defaults: SourceDefaults) -> list[RawEvent]:
    """Every event of an ActivityPub document."""
    return [e for node in objects(data) if (e := _event(node, url, defaults)) is not None]


def _event(node: dict[str, Any], url: str, defaults: SourceDefaults) -> RawEvent | None:
    title = clean_text(_language(node.get("name") or node.get("nameMap"), defaults.language))
    start = parse_iso(node.get("startTime"))
    if not title or start is None or node.get("draft") is True:
        return None
    tz = zone(node.get("timezone") if isinstance(node.get("timezone"), str) else None)
    end = parse_iso(node.get("endTime"))
    if tz is not None:
        start, end = in_zone(start, tz), in_zone(end, tz)
    place = as_dict(next(iter(dicts(node.get("location"))), None))
    online_place = is_online_place(place)
    if online_place:  # Gancio's "online" pseudo-place
        place = {}
    address = place.get("address")
    postal = as_dict(address)
    street = postal.get("streetAddress") if postal else address
    country = postal.get("addressCountry")
    city, postcode = postal.get("addressLocality"), postal.get("postalCode")
    if not postal and isinstance(address, str):  # Gancio: "12 rue X, 13001 Marseille"
        _, _, postcode, city = split_location(address)
    online_link = _meeting_link(node)
    online = node.get("isOnline") if isinstance(node.get("isOnline"), bool) else None
    if online_link or online_place:  # a visio or live-stream address: online, or mixed
        online = True
    link = _href(node.get("url")) or _href(node.get("id"))
    return RawEvent(
        title=title,
        start=start,
        end=end if ends_after(end, start) else None,
        timezone=tz.key if tz else None,
        uid=_href(node.get("id")) or link,
        url=link,
        description=clean_text(
            _language(node.get("content") or node.get("contentMap"), defaults.language)
            or (None if _GANCIO_ID in str(node.get("id", "")) else node.get("summary")),
            keep_lines=True,
        ),
        venue=clean_text(place.get("name")),
        address=clean_text(street) if isinstance(street, str) else None,
        city=clean_text(city),
        postcode=clean_text(postcode),
        country=clean_text(country.get("name") if isinstance(country, dict) else country),
        latitude=as_float(place.get("latitude")),
        longitude=as_float(place.get("longitude")),
        online=online,
        online_url=online_link,
        status=_status(node),
        organizer=clean_text(as_dict(node.get("attributedTo")).get("name")),
        image=_image(node),
        categories=tuple(
            name.lstrip("#")
            for tag in dicts(node.get("tag"))
            if "Hashtag" in _types(tag) and (name := clean_text(tag.get("name")))
        ),
        source_format=PLATFORM,
        source_url=url,
    )


def _language(value: Any, language: str | None) -> Any:
    if isinstance(value, dict):  # nameMap / contentMap
        for key in (language, "fr", "en"):
            if key and value.get(key):
                return value[key]
        return next((v for v in value.values() if v), None)
    return value


def _status(node: dict[str, Any]) -> str | None:
    for key in ("ical:status", "status", "eventStatus"):
        value = node.get(key)
        if isinstance(value, str) and value:
            word = value.rsplit("/", 1)[-1].lower()
            if word in _STATUS:
                return _STATUS[word]
    return None


def _href(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("href")
    if isinstance(value, list):
        value = next((_href(v) for v in value if _href(v)), None)
    return value if isinstance(value, str) and value.startswith(("http://", "https://")) else None


def _image(node: dict[str, Any]) -> str | None:
    for item in dicts(node.get("attachment")) + dicts(node.get("image")):
        media = str(item.get("mediaType") or "")
        is_image = media.startswith("image/") or "Image" in _types(item)
        if is_image and (found := _href(item.get("url"))):
            return found
    return None


def _meeting_link(node: dict[str, Any]) -> str | None:
    """A video meeting address among the attachments: Mobilizon's ``mz:visio:*`` /
    ``mz:live:*`` values, Gancio's ``online_locations`` (a ``Link`` named by its own
    address), or any link to a meeting host. Mobilizon's "Website" link is not one."""
    for item in dicts(node.get("attachment")):
        name = str(item.get("name") or "").lower()
        value = _href(item.get("value")) or _href(item.get("href"))
        if not value:
            continue
        if "visio" in name or "live" in name or "online" in name:
            return value
        if "Link" in _types(item) and (name.strip() == value.lower() or is_online_url(value)):
            return value
    return None
