"""Helpers every parser shares: decoding bytes, cleaning text, and the DST rule.

**DST rule.** A local wall time is turned into an instant with ``zoneinfo`` ``fold=0``
semantics, then written back in its zone:

* a *nonexistent* time (02:30 on 29 March 2026 in Europe/Paris, inside the spring-forward
  gap) shifts forward by the gap: it becomes 03:30+02:00;
* an *ambiguous* time (02:30 on 25 October 2026, which happens twice) takes the first
  occurrence: 02:30+02:00 (summer time).
"""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from charset_normalizer import from_bytes

from aggregator.errors import ParseError

_BOMS = (
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)
_XML_DECL = re.compile(rb"""^\s*<\?xml[^>]*encoding=["']([A-Za-z0-9._-]+)["']""")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset=["']?([A-Za-z0-9._-]+)""", re.I)
_CT_CHARSET = re.compile(r"charset=[\"']?([A-Za-z0-9._-]+)", re.I)
_TAGS = re.compile(r"<[^>]+>")
_BLOCK_TAGS = re.compile(
    r"(?i)<\s*/?\s*(br|p|div|li|ul|ol|h[1-6]|tr|td|th|table|section|article|header|footer"
    r"|blockquote|pre|img|hr|dd|dt)\b[^>]*>"
)
_SPACES = re.compile(r"[ \t\r\f\v]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")

ONLINE_WORDS = frozenset(
    {"online event", "online", "en ligne", "événement en ligne", "visio", "webinar", "zoom"}
)
MAX_BODY = 20 * 1024 * 1024


def declared_charset(body: bytes, content_type: str | None) -> str | None:
    """The charset a document claims: Content-Type first, then the XML or meta declaration."""
    if content_type and (found := _CT_CHARSET.search(content_type)):
        return found.group(1).lower()
    head = body[:2048]
    for pattern in (_XML_DECL, _META_CHARSET):
        if match := pattern.search(head):
            return match.group(1).decode("ascii").lower()
    return None


def decode_body(body: bytes, content_type: str | None = None) -> str:
    """Bytes to text, surviving a wrong declared charset.

    A BOM wins. Valid UTF-8 holding non-ASCII bytes is read as UTF-8 whatever the
    declaration says (real Latin-1 text is practically never valid UTF-8); otherwise the
    declared charset, then charset-normalizer's guess, then Windows-1252.
    """
    for bom, encoding in _BOMS:
        if body.startswith(bom):
            return body[len(bom) :].decode(encoding, errors="replace")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return text
    declared = declared_charset(body, content_type)
    if declared and declared.replace("-", "").replace("_", "") not in ("utf8", "utf16"):
        try:
            return body.decode(declared)
        except (LookupError, UnicodeDecodeError):
            pass
    best = from_bytes(body[:200_000]).best()
    if best is not None and best.encoding not in ("utf_8",):
        try:
            return body.decode(best.encoding)
        except (LookupError, UnicodeDecodeError):
            pass
    return body.decode("cp1252", errors="replace")


def clean_text(value: object, *, keep_lines: bool = False) -> str | None:
    """Plain text from a possibly HTML-laden value; ``None`` when nothing is left."""
    if value is None:
        return None
    if isinstance(value, list | tuple):
        value = " ".join(str(v) for v in value if v is not None)
    text = str(value)
    if "<" not in text and "&lt;" in text:  # HTML escaped once more (WordPress plugins)
        text = html.unescape(text)
    if "<" in text:
        text = _BLOCK_TAGS.sub("\n", text)
        text = _TAGS.sub("", text)
    text = html.unescape(text).replace("\xa0", " ")
    text = _SPACES.sub(" ", text)
    if keep_lines:
        text = _BLANK_LINES.sub("\n\n", "\n".join(line.strip() for line in text.split("\n")))
    else:
        text = " ".join(text.split())
    text = text.strip()
    return text or None


def zone(name: str | None) -> ZoneInfo | None:
    """The IANA zone called ``name``, or ``None`` when unknown."""
    if not name:
        return None
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        return None


def zone_name(tz: tzinfo | None) -> str | None:
    """The IANA name of a tzinfo when it has one (``None`` for UTC and fixed offsets)."""
    if isinstance(tz, ZoneInfo) and tz.key not in ("UTC", "Etc/UTC"):
        return tz.key
    return None


def canonical(value: datetime) -> datetime:
    """An aware datetime written as its zone would show it (applies the DST rule above)."""
    if value.tzinfo is None:
        return value
    return value.astimezone(UTC).astimezone(value.tzinfo)


def localize(value: datetime, tz: tzinfo) -> datetime:
    """Attach a zone to a naive wall time, following the module's DST rule."""
    return canonical(value.replace(tzinfo=tz, fold=0))


def parse_iso(text: object) -> datetime | date | None:
    """An ISO 8601 date or date-time (schema.org style), or ``None`` when unreadable."""
    if not isinstance(text, str):
        return None
    text = text.strip()
    if not text:
        return None
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            return None
    candidate = text.replace(" ", "T", 1) if re.match(r"\d{4}-\d{2}-\d{2} \d", text) else text
    candidate = re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", candidate)
    try:
        parsed = datetime.fromisoformat(candidate)
    except ValueError:
        from dateutil import parser as dateutil_parser

        try:
            parsed = dateutil_parser.isoparse(text)
        except (ValueError, OverflowError):
            return None
    return canonical(parsed)


def check_size(body: bytes) -> None:
    """Refuse bodies too large to parse safely."""
    if len(body) > MAX_BODY:
        raise ParseError(f"document is {len(body) // 1_048_576} MB, more than we parse")


def day_before(value: date) -> date:
    """The previous day (for exclusive end dates)."""
    return value - timedelta(days=1)


_POSTCODE_CITY = re.compile(r"\b(\d{5})\s+([^\d,()]+?)\s*(?:,|\(|\)|$|\bFrance\b)")


def split_location(text: str | None) -> tuple[str | None, str | None, str | None, str | None]:
    """(venue, address, postcode, city) from one free-text location line.

    Handles "Venue, 12 rue X, 13001 Marseille" and Meetup's "Venue (12 rue X, Marseille,
    France)". Parts it cannot tell apart stay in ``venue``; nothing is invented.
    """
    text = clean_text(text)
    if not text:
        return None, None, None, None
    venue: str | None
    rest: str | None
    if (match := re.fullmatch(r"(.+?)\s*\((.+)\)", text)) and "," in match.group(2):
        venue, rest = match.group(1), match.group(2)
    elif "," in text:
        venue, rest = text.split(",", 1)
    else:
        venue, rest = text, None
    venue = venue.strip() or None
    rest = rest.strip(" ,") if rest else None
    if rest:
        rest = re.sub(r",?\s*(France|FR)$", "", rest).strip(" ,") or None
    postcode = city = None
    if match := _POSTCODE_CITY.search(text):
        postcode, city = match.group(1), match.group(2).strip(" -") or None
    elif rest and "," in rest:
        tail = rest.rsplit(",", 1)[1].strip()
        if tail and not any(ch.isdigit() for ch in tail):
            city = tail
    elif rest and not any(ch.isdigit() for ch in rest):
        city = rest
    if venue and re.match(r"\d", venue) and rest is not None:
        # "12 rue X, 13001 Marseille": a street, not a venue name.
        rest, venue = f"{venue}, {rest}", None
    return venue, rest, postcode, city
