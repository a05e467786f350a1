"""Where an event happens: venue, address, town against the region gazetteer, and online.

Pure functions over the fields a source gave. The gazetteer rules live in
:class:`aggregator.regions.Region`; this module cleans the fields and decides online.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

from aggregator.regions import Commune, Region, fold

ONLINE_HOSTS = (
    "zoom.us",
    "zoom.com",
    "meet.google.com",
    "teams.microsoft.com",
    "teams.live.com",
    "meet.jit.si",
    "jitsi",
    "twitch.tv",
    "youtube.com",
    "youtu.be",
    "webex.com",
    "gotomeeting.com",
    "gotowebinar.com",
    "discord.gg",
    "discord.com",
    "whereby.com",
    "bigbluebutton",
    "livestorm.co",
    "crowdcast.io",
    "hopin.com",
    "streamyard.com",
    "framatalk.org",
    "visio.",
    "mumble",
    "bbb.",
    "webinaire.",
    "teams.live",
    "bluejeans.com",
    "gather.town",
    "workadventu.re",
    "hangouts.google.com",
)
# Schemes of voice and chat servers: "mumble://voix.example.org", "discord://...".
ONLINE_SCHEMES = ("mumble", "discord", "teamspeak", "ts3server", "xmpp", "matrix", "irc", "ircs")
_ONLINE_WORDS = re.compile(
    r"(?<![\w])(en ligne|webinaire|webinar|webinars|online|distanciel|a distance|"
    r"visioconference|visio conference|livestream|live stream|virtual event|"
    r"evenement virtuel|remote only)(?![\w])"
)
# A location naming a meeting service or a remote format, not a place: "Online event",
# "En ligne (Zoom)", "Distanciel", "Visio", "Serveur Mumble de l'April", "Google Meet".
_ONLINE_LOCATION = re.compile(
    r"^(?:(?:sur|via|en|serveur|salon( vocal)?|reunion|conference|evenement|event|live)\s+)?"
    r"(online|en ligne|distanciel|a distance|visio(conference)?|visio-conference|webinaire"
    r"|webinar|zoom|jitsi|(microsoft |ms )?teams|google meet|bigbluebutton|bbb|mumble"
    r"|discord|twitch|youtube live|livestream|virtual|virtuel(le)?)(?![\w-])"
)
_HYBRID_PREFIX = re.compile(r"(?i)^\s*(hybride?|hybrid|mixte)\s*[:\-–]\s*")
_HYBRID_TAIL = re.compile(
    r"(?i)\s*\(?\s*(\+|&|/|\bet\b|\band\b|\bou\b|\bor\b)\s*(aussi\s+)?"
    r"(en ligne|online|visio(conf[ée]rence)?|distanciel|zoom|teams|jitsi|streaming|live)\s*\)?$"
)
_ONLINE_ONLY_WORDS = frozenset({"web", "internet", "meet", "stream", "youtube", "remote"})
_NOT_ONLINE = re.compile(
    r"(?<![\w])(inscription en ligne|billetterie en ligne|online tickets?)(?![\w])"
)
_ONLINE_PLACES = {
    "online",
    "en ligne",
    "internet",
    "web",
    "virtual",
    "virtuel",
    "zoom",
    "distanciel",
}


@dataclass(frozen=True, slots=True)
class Place:
    """The resolved place of an event."""

    venue: str | None
    address: str | None
    city: str | None
    postcode: str | None
    insee: str | None
    latitude: float | None
    longitude: float | None
    online: bool
    in_region: bool


def clean_text(value: object, limit: int = 500) -> str | None:
    """Collapse whitespace; None for empty or non-text values."""
    if not isinstance(value, str):
        return None
    if len(value) > _SHORT:
        return _clean_text.__wrapped__(value, limit)
    return _clean_text(value, limit)


# Fields seen again (a feed's venue and town, a series' title) are cleaned once per process:
# bounded memos of fields up to _SHORT characters, of texts (descriptions) up to 3000.
_MEMO, _SHORT, _TEXTS = 1 << 13, 1000, 1 << 11
_SPACES = re.compile(r"\s+")


@lru_cache(maxsize=_MEMO)
def _clean_text(value: str, limit: int) -> str | None:
    text = _SPACES.sub(" ", value).strip()[:limit].strip()
    return text or None


def is_online_url(url: str | None) -> bool:
    """True when a URL points at a video-meeting or streaming host."""
    if not url or not isinstance(url, str):
        return False
    return _is_online_url(url) if len(url) <= _SHORT else _is_online_url.__wrapped__(url)


@lru_cache(maxsize=_MEMO)
def _is_online_url(url: str) -> bool:
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").lower()
    except ValueError:
        return False
    if parts.scheme.lower() in ONLINE_SCHEMES and host:
        return True
    return bool(host) and any(h in host for h in ONLINE_HOSTS)


def is_online_location(text: str | None) -> bool:
    """True when a location string names no place but a remote format or a meeting
    service ("Online event", "En ligne", "Distanciel", "Visio Jitsi", a Zoom or Mumble
    address); "Zoom, 12 rue X, Marseille" (a street address) is not."""
    if not text or not isinstance(text, str):
        return False
    if len(text) > _SHORT:
        return _is_online_location.__wrapped__(text)
    return _is_online_location(text)


@lru_cache(maxsize=_MEMO)
def _is_online_location(text: str) -> bool:
    stripped = text.strip()
    if is_online_url(stripped):
        return True
    folded = fold(stripped)
    if not folded or re.search(
        r"\d{5}|\b\d+,? (rue|avenue|av|bd|boulevard|place|chemin)\b", folded
    ):
        return False
    words = folded.strip(" .()[]-")
    return words in _ONLINE_ONLY_WORDS or bool(_ONLINE_LOCATION.match(words))


def hybrid_parts(text: str | None) -> tuple[str | None, bool]:
    """A location naming a place *and* a remote way in ("Hybride : La Cantine",
    "Aubagne & visio", "Marseille + en ligne"): (the place part, True); else (text, False)."""
    if not text or not isinstance(text, str):
        return text, False
    place = _HYBRID_TAIL.sub("", _HYBRID_PREFIX.sub("", text)).strip(" ,-")
    return (place or None, True) if place != text.strip() else (text, False)


def detect_online(
    flag: bool | None,
    online_url: str | None,
    url: str | None,
    title: str,
    venue: str | None,
    city: str | None,
    description: str | None,
) -> bool:
    """Online from the attendance mode, a meeting URL, or words in the title/venue/description."""
    if flag is not None:
        return bool(flag)
    if is_online_url(online_url) or is_online_url(url):
        return True
    for field in (venue, city):
        if fold(field) in _ONLINE_PLACES or is_online_location(field):
            return True
    texts = (title, venue, description[:3000] if description else None)
    return any(_says_online(text) for text in texts)


def _says_online(text: str | None) -> bool:
    """Online words in ``text`` (remembered per text)."""
    if not text:
        return False
    return _online_words(text) if len(text) <= 3000 else _online_words.__wrapped__(text)


@lru_cache(maxsize=_TEXTS)
def _online_words(text: str) -> bool:
    folded = fold(text)
    return bool(folded) and _ONLINE_WORDS.search(_NOT_ONLINE.sub(" ", folded)) is not None


def _coordinate(value: object, bound: float) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    if not math.isfinite(number) or abs(number) > bound:
        return None
    return round(number, 6)


@lru_cache(maxsize=_MEMO, typed=True)
def _locate(
    region: Region,
    city: str | None,
    postcode: str | None,
    lat: float | None,
    lon: float | None,
    address: str | None,
    venue: str | None,
) -> Commune | None:
    """``region.locate`` of cleaned fields (pure), remembered: a feed names few places."""
    return region.locate(city, postcode, lat, lon, address=address, venue=venue)


def resolve_place(
    *,
    venue: str | None,
    address: str | None,
    city: str | None,
    postcode: str | None,
    latitude: float | None,
    longitude: float | None,
    online: bool,
    default_city: str | None,
    region: Region,
    text: str | None = None,
) -> Place:
    """Clean the place fields and locate them in the region gazetteer.

    With no structured place at all (no venue, address, town, postcode or coordinates) and
    not online, the event's own ``text`` (title and description) may name its town, venue
    or postcode (:meth:`Region.find_in_text`); failing that, the source's default town.
    """
    venue, address = clean_text(venue), clean_text(address)
    city, postcode = clean_text(city, 120), clean_text(postcode, 20)
    if city and (fold(city) in _ONLINE_PLACES or is_online_location(city)):
        venue, city = venue or city, None  # "Online" given as the town: a location, no town
    lat, lon = _coordinate(latitude, 90), _coordinate(longitude, 180)
    if lat is None or lon is None:
        lat = lon = None
    commune = _locate(region, city, postcode, lat, lon, address, venue)
    has_place = any((venue, address, city, postcode, lat is not None))
    if commune is None and not has_place and not online:
        found = region.place_in_text(text[:5000] if text else None)
        if isinstance(found, str):
            city = found  # a town outside the region: no default town either
        elif found is not None:
            commune = found
        elif default_city:
            commune = region.match_town(default_city)
    if commune is not None:
        city = commune.name
    return Place(
        venue=venue,
        address=address,
        city=city,
        postcode=postcode,
        insee=commune.insee if commune else None,
        latitude=lat,
        longitude=lon,
        online=online,
        in_region=commune is not None,
    )
