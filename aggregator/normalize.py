"""From what a source said (``RawEvent``) to what we publish (``NormalizedEvent``).

Pure and total: any input gives a result, junk becomes ``None`` or an empty string, never
an exception. Normalizing the fields of a normalized event again gives the same event.
Time rules (floating times, all-day, DST gaps and overlaps) are in ``aggregator.timeutil``.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from dataclasses import dataclass, fields
from datetime import date, datetime
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import nh3

from aggregator.place import clean_text, detect_online, resolve_place
from aggregator.raw import SOURCE_STATUS_WORDS, RawEvent, SourceDefaults
from aggregator.regions import Region
from aggregator.timeutil import resolve
from aggregator.titles import title_key as make_title_key
from aggregator.topics import classify, load_taxonomy
from aggregator.types import EventStatus
from aggregator.xmltext import drop_xml_illegal, has_xml_illegal

ALLOWED_TAGS = {"p", "br", "a", "ul", "ol", "li", "strong", "em", "code"}
_TRACKING = re.compile(
    r"^(utm_.*|fbclid|gclid|dclid|gbraid|wbraid|msclkid|yclid|igshid|mc_.*|ref|ref_src|ref_url|"
    r"_ga|_gl|_hsenc|_hsmi|mkt_tok|recruiter|trk|si|s_cid|cmpid|oly_.*|vero_.*|_branch_.*)$",
    re.I,
)
_SITE_SUFFIX = re.compile(
    r"\s+[|\-–—·:]\s*(meetup(\.com)?|eventbrite(\.fr|\.com)?|openagenda|agenda du libre|facebook|"
    r"mobilizon|gancio|weezevent|helloasso|billetweb|luma|lu\.ma|linkedin|"
    r"google agenda|google calendar)\s*$",
    re.I,
)
_CANCELLED_PREFIX = re.compile(
    r"^\s*[\[(]?\s*(annul[ée]e?s?|cancell?ed|report[ée]e?|postponed)\s*[\])]?\s*[:\-–!]*\s+", re.I
)
_CANCELLED_SUFFIX = re.compile(
    r"\s*(?:[\[(]\s*(annul[ée]e?s?|cancell?ed)\s*[\])]|[\-–—:|]\s*(annul[ée]e?s?|cancell?ed)!?)\s*$",
    re.I,
)
# Words whose casing a SHOUTED title should get back (besides the taxonomy's keywords and
# the region pack's place words, ``Region.title_words``).
_CASING = [
    "IA", "AI", "AWS", "GCP", "PHP", "JUG", "GDG", "API", "APIs", "UX", "UI", "CSS", "HTML",
    "SQL", "NoSQL", "DevOps", "DevFest", "JavaScript", "TypeScript", "Python", "Java",
    "Kotlin", "Rust", "Go", "Docker", "Kubernetes", "WordPress", "Symfony", "React",
    "Linux", "Android", "iOS", "IoT", "LLM", "GPT", "ChatGPT", "RGPD", "GDPR", "SaaS",
    "CTO", "CEO", "DSI", "ESN", "PME", "TPE", "AMU", "CNRS", "Inria", "Epitech", "Google",
    "Microsoft", "Azure", "Meetup", "French", "Tech",
]
# The patterns the cleaners apply to every event, compiled once.
_TAG = re.compile(r"<[^>]{0,200}>")
_SPACES = re.compile(r"\s+")
_SPACE = re.compile(r"\s")
_WORDS = re.compile(r"(\W+)")
_MARKUP = re.compile(r"</?[a-zA-Z][^>]*>|&[#a-zA-Z0-9]+;")
_PARAGRAPH = re.compile(r"\n\s*\n")
_BOLD = re.compile(r"<(/?)b>", re.I)
_ITALIC = re.compile(r"<(/?)i>", re.I)
_BREAKS = re.compile(r"(<br>\s*){3,}")
_EMPTY_P = re.compile(r"<p>\s*</p>")
_BR = re.compile(r"<br\s*/?>")
_BLOCK_END = re.compile(r"</(p|ul|ol)>")
_ANY_TAG = re.compile(r"<[^>]*>")
_BLANKS = re.compile(r"[ \t\r\f\v\xa0]+")
_NEWLINES = re.compile(r"\n{3,}")
# A text seen again (a series' occurrences, a listing's repeated description, the URL of the
# page every event of a feed was listed on) is cleaned once per process: bounded memos.
_TEXTS, _LONG = 1 << 11, 5000  # descriptions, remembered up to _LONG characters
_URLS, _SHORT = 1 << 13, 1000  # titles and URLs, up to _SHORT characters


@dataclass(frozen=True, slots=True)
class NormalizedEvent:
    """The publishable fields of one event, as one source describes it."""

    title: str
    description_html: str | None
    description_text: str | None
    start: datetime | None
    end: datetime | None
    all_day: bool
    start_date: date | None
    end_date: date | None
    timezone: str
    status: EventStatus
    end_before_start: bool
    venue: str | None
    address: str | None
    city: str | None
    postcode: str | None
    insee: str | None
    latitude: float | None
    longitude: float | None
    online: bool
    in_region: bool
    url: str | None
    canonical_url: str | None
    image: str | None
    price: str | None
    organizer: str | None
    language: str | None
    topics: tuple[str, ...]
    relevance: float
    series_uid: str | None
    title_key: str
    external_id: str
    content_hash: str = ""

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (ISO times), as stored in ``EventLink.raw``."""
        data = {f: getattr(self, f) for f in _FIELD_NAMES}
        for key in ("start", "end", "start_date", "end_date"):
            data[key] = data[key].isoformat() if data[key] is not None else None
        data["topics"] = list(self.topics)
        return data

    @property
    def uid(self) -> str | None:
        """The identifier the source declared (None when external_id is a URL or our hash)."""
        if self.external_id.startswith("h:") or self.external_id == self.canonical_url:
            return None
        return self.external_id

    def completeness(self) -> int:
        """How many publishable fields carry a value (ranks sources in a merge)."""
        return sum(1 for f in _FIELD_NAMES if getattr(self, f) not in (None, "", ()))

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> NormalizedEvent:
        """Inverse of :meth:`to_json` (unknown keys ignored)."""
        values: dict[str, Any] = {f.name: data.get(f.name) for f in fields(cls)}
        for key in ("start", "end"):
            values[key] = datetime.fromisoformat(values[key]) if values[key] else None
        for key in ("start_date", "end_date"):
            values[key] = date.fromisoformat(values[key]) if values[key] else None
        values["topics"] = tuple(values.get("topics") or ())
        values["status"] = EventStatus.of(values["status"])
        return cls(**values)


_FIELD_NAMES = tuple(f.name for f in fields(NormalizedEvent))


def clean_title(value: object, region: Region | None = None) -> str:
    """Whitespace, entities and tags out; SHOUTING case (with ``region``'s place words) and
    trailing site names fixed."""
    if not isinstance(value, str):
        return ""
    if len(value) > _SHORT:
        return _clean_title.__wrapped__(value, region)
    return _clean_title(value, region)


@lru_cache(maxsize=_URLS)
def _clean_title(value: str, region: Region | None) -> str:
    text = value
    if "&" in text:
        for _ in range(2):
            text = html.unescape(text)
    text = drop_xml_illegal(text)  # also what an entity such as &#xFFFE; decoded to
    if "<" in text:
        text = _TAG.sub(" ", text)
    text = _SPACES.sub(" ", text).strip()
    for _ in range(3):
        stripped = _SITE_SUFFIX.sub("", text).strip()
        if not stripped or stripped == text:
            break
        text = stripped
    if _is_shouting(text):
        text = _sentence_case(text, region.title_words if region else ())
    return text[:300].strip()


def _is_shouting(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    upper = sum(1 for c in letters if c.isupper())
    return len(letters) >= 8 and upper / len(letters) > 0.8


def _sentence_case(text: str, places: tuple[str, ...]) -> str:
    casing = _casing(places)
    out = [casing.get(token, token) for token in _WORDS.split(text.lower())]
    result = "".join(out)
    return result[:1].upper() + result[1:]


@lru_cache(maxsize=16)
def _casing(places: tuple[str, ...]) -> dict[str, str]:
    """lower-case word -> its casing in a title (read only)."""
    casing = {w.lower(): w for w in (*_CASING, *places)}
    for topic in load_taxonomy().topics:
        for keyword in topic.keywords:
            if " " not in keyword and any(c.isupper() for c in keyword):
                casing.setdefault(keyword.lower(), keyword)
    return casing


def sanitize_html(value: object) -> str | None:
    """Source HTML (or plain text) reduced to a safe subset; links get rel=nofollow noopener."""
    if not isinstance(value, str) or not value.strip():
        return None
    return _sanitize_html(value) if len(value) <= _LONG else _sanitize_html.__wrapped__(value)


@lru_cache(maxsize=_TEXTS)
def _sanitize_html(value: str) -> str | None:
    text = drop_xml_illegal(value[:50000])
    if not _MARKUP.search(text):
        paragraphs = [p.strip() for p in _PARAGRAPH.split(text) if p.strip()]
        text = "".join(
            "<p>" + "<br>".join(html.escape(line.strip()) for line in p.splitlines()) + "</p>"
            for p in paragraphs
        )
    text = _BOLD.sub(r"<\1strong>", text)
    text = _ITALIC.sub(r"<\1em>", text)
    cleaned = nh3.clean(
        text,
        tags=ALLOWED_TAGS,
        attributes={"a": {"href"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="nofollow noopener",
        strip_comments=True,
    ).strip()
    cleaned = _BREAKS.sub("<br><br>", cleaned)
    cleaned = _EMPTY_P.sub("", cleaned).strip()
    return cleaned or None


def html_to_text(markup: str | None) -> str | None:
    """A plain-text version of sanitized HTML: paragraphs and list items on their own lines."""
    if not markup:
        return None
    return _html_to_text(markup) if len(markup) <= _LONG else _html_to_text.__wrapped__(markup)


@lru_cache(maxsize=_TEXTS)
def _html_to_text(markup: str) -> str | None:
    text = _BR.sub("\n", markup)
    text = _BLOCK_END.sub("\n\n", text)
    text = text.replace("<li>", "\n- ")
    text = _ANY_TAG.sub("", text)
    text = drop_xml_illegal(html.unescape(text))
    lines = [_BLANKS.sub(" ", line).strip() for line in text.split("\n")]
    text = _NEWLINES.sub("\n\n", "\n".join(lines)).strip()
    return text or None


def clean_url(value: object) -> str | None:
    """An http(s) URL with tracking parameters and fragment removed, host lower-cased."""
    if not isinstance(value, str):
        return None
    return _clean_url(value) if len(value) <= _SHORT else _clean_url.__wrapped__(value)


@lru_cache(maxsize=_URLS)
def _clean_url(value: str) -> str | None:
    text = value.strip()
    try:
        parts = urlsplit(text)
        host = (parts.hostname or "").lower().rstrip(".")
        port = parts.port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not host or _SPACE.search(text):
        return None
    netloc = host if port in (None, 80, 443) else f"{host}:{port}"
    query = [
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING.match(k)
    ]
    return urlunsplit((parts.scheme.lower(), netloc, parts.path or "/", urlencode(query), ""))


def canonical_url(value: object) -> str | None:
    """The matching key of a URL: https, no www., no trailing slash, sorted query."""
    if not isinstance(value, str):
        return None
    return _canonical_url(value) if len(value) <= _SHORT else _canonical_url.__wrapped__(value)


@lru_cache(maxsize=_URLS)
def _canonical_url(value: str) -> str | None:
    url = clean_url(value)
    if not url:
        return None
    parts = urlsplit(url)
    host = parts.netloc.removeprefix("www.")
    path = parts.path.rstrip("/") or "/"
    query = urlencode(sorted(parse_qsl(parts.query, keep_blank_values=True)))
    return urlunsplit(("https", host, path, query, ""))


def _status(raw_status: object, title: str) -> tuple[EventStatus, str]:
    """The status a source's word (or a "[ANNULÉ]" title mark) means, and the title unmarked."""
    status = EventStatus.scheduled
    if isinstance(raw_status, str):
        key = raw_status.strip().lower().rsplit("/", 1)[-1]
        status = SOURCE_STATUS_WORDS.get(key, EventStatus.scheduled)
    match = _CANCELLED_PREFIX.match(title)
    if match and len(title) > match.end():
        word = match.group(1).lower()
        if status == EventStatus.scheduled:
            postponed = word.startswith(("report", "postpon"))
            status = EventStatus.postponed if postponed else EventStatus.cancelled
        title = title[match.end() :].strip()
    suffix = _CANCELLED_SUFFIX.search(title)
    if suffix and suffix.start() > 0:
        status = EventStatus.cancelled if status == EventStatus.scheduled else status
        title = title[: suffix.start()].strip()
    return status, title


def _xml_safe(raw: RawEvent) -> RawEvent:
    """``raw`` with the characters XML forbids dropped from every text field."""
    values = [getattr(raw, name) for name in _RAW_FIELDS]
    texts = [v for v in values if isinstance(v, str)]
    texts += [x for v in values if isinstance(v, tuple) for x in v if isinstance(x, str)]
    if not has_xml_illegal("\n".join(texts)):  # the usual case: nothing to drop
        return raw
    changes: dict[str, Any] = {}
    for name in _RAW_FIELDS:
        value = getattr(raw, name)
        if isinstance(value, str):
            if has_xml_illegal(value):
                changes[name] = drop_xml_illegal(value)
        elif (
            isinstance(value, tuple)
            and all(isinstance(x, str) for x in value)
            and any(has_xml_illegal(x) for x in value)
        ):
            changes[name] = tuple(drop_xml_illegal(x) for x in value)
    return raw.with_(**changes) if changes else raw


_RAW_FIELDS = tuple(f.name for f in fields(RawEvent))


def normalize(raw: RawEvent, *, defaults: SourceDefaults, region: Region) -> NormalizedEvent:
    """The publishable fields of ``raw`` (pure; never raises on junk)."""
    raw = _xml_safe(raw)
    title = clean_title(raw.title, region)
    status, title = _status(raw.status, title)
    title = title or "(sans titre)"
    description_html = sanitize_html(raw.description)
    description_text = html_to_text(description_html)
    timing = resolve(raw.start, raw.end, raw.timezone, defaults.timezone or region.timezone)
    url = clean_url(raw.url)
    online = detect_online(
        raw.online if isinstance(raw.online, bool) else None,
        raw.online_url if isinstance(raw.online_url, str) else None,
        url,
        title,
        raw.venue if isinstance(raw.venue, str) else None,
        raw.city if isinstance(raw.city, str) else None,
        description_text,
    )
    place = resolve_place(
        venue=raw.venue,
        address=raw.address,
        city=raw.city,
        postcode=raw.postcode,
        latitude=raw.latitude,
        longitude=raw.longitude,
        online=online,
        default_city=defaults.city,
        region=region,
        text=f"{title}\n{description_text or ''}",
    )
    categories = tuple(c for c in (raw.categories or ()) if isinstance(c, str))
    topics, relevance = classify(title, description_text, categories, load_taxonomy(region))
    language = raw.language or defaults.language or region.language
    key = _title_key(title, region)
    canon = canonical_url(url)
    if canon is not None and canon == canonical_url(raw.source_url):
        canon = None  # the page the events were listed on names none of them in particular
    uid = clean_text(raw.uid, 500)
    identity = _title_key(title, None)  # the whole title: place words tell two listings apart
    external_id = uid or canon or "h:" + _hash(identity, timing.start_date, timing.start)[:24]
    values: dict[str, Any] = dict(
        title=title,
        description_html=description_html,
        description_text=description_text,
        start=timing.start,
        end=timing.end,
        all_day=timing.all_day,
        start_date=timing.start_date,
        end_date=timing.end_date,
        timezone=timing.timezone,
        status=status,
        end_before_start=timing.end_before_start,
        venue=place.venue,
        address=place.address,
        city=place.city,
        postcode=place.postcode,
        insee=place.insee,
        latitude=place.latitude,
        longitude=place.longitude,
        online=place.online,
        in_region=place.in_region,
        url=url,
        canonical_url=canon,
        image=clean_url(raw.image),
        price=clean_text(raw.price, 200),
        organizer=clean_text(raw.organizer, 200),
        language=(clean_text(language, 10) or region.language).lower()[:2],
        topics=topics,
        relevance=relevance,
        series_uid=clean_text(raw.series_uid, 500),
        title_key=key,
        external_id=external_id,
    )
    return NormalizedEvent(**values, content_hash=_content_hash(values))


@lru_cache(maxsize=_URLS)
def _title_key(title: str, region: Region | None) -> str:
    return make_title_key(title, region)


def _hash(*parts: object) -> str:
    return hashlib.sha256(json.dumps([str(p) for p in parts]).encode()).hexdigest()


def _content_hash(values: dict[str, Any]) -> str:
    """The digest of the fields of an event (``NormalizedEvent.to_json`` but its hash)."""
    data = dict(values)
    for key in ("start", "end", "start_date", "end_date"):
        data[key] = data[key].isoformat() if data[key] is not None else None
    data["topics"] = list(data["topics"])
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:32]


def as_raw(event: NormalizedEvent) -> RawEvent:
    """A RawEvent carrying a normalized event's fields (for round trips and tests)."""
    start: datetime | date | None = event.start_date if event.all_day else event.start
    end: datetime | date | None = event.end_date if event.all_day else event.end
    return RawEvent(
        title=event.title,
        start=start,
        end=end,
        timezone=event.timezone,
        uid=event.external_id,
        url=event.url,
        description=event.description_html,
        venue=event.venue,
        address=event.address,
        city=event.city,
        postcode=event.postcode,
        latitude=event.latitude,
        longitude=event.longitude,
        online=event.online,
        status=event.status,
        organizer=event.organizer,
        image=event.image,
        price=event.price,
        language=event.language,
        series_uid=event.series_uid,
    )
