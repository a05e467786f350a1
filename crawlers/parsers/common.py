"""Helpers every parser shares: decoding bytes, cleaning text, and the DST rule.

**DST rule.** A local wall time is turned into an instant with ``zoneinfo`` ``fold=0``
semantics, then written back in its zone:

* a *nonexistent* time (02:30 on 29 March 2026 in Europe/Paris, inside the spring-forward
  gap) shifts forward by the gap: it becomes 03:30+02:00;
* an *ambiguous* time (02:30 on 25 October 2026, which happens twice) takes the first
  occurrence: 02:30+02:00 (summer time).

``zone`` and ``localize`` are :func:`aggregator.timeutil.find_zone` and
:func:`aggregator.timeutil.local`, the one home of the rule.
"""

from __future__ import annotations

import codecs
import html
import json
import re
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from aggregator.errors import ParseError
from aggregator.timeutil import find_zone, local

zone = find_zone  # the IANA (or Windows) zone a name means, None when unknown
localize = local  # a floating wall time given its zone by the DST rule

_BOMS = (
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)
_XML_DECL = re.compile(rb"""^\s*<\?xml[^>]*encoding=["']([A-Za-z0-9._-]+)["']""")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset=["']?([A-Za-z0-9._-]+)""", re.I)
_CT_CHARSET = re.compile(r"charset=[\"']?([A-Za-z0-9._-]+)", re.I)
_UTF8_SEQUENCE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)
# WHATWG: documents declaring Latin-1 or ASCII are read as Windows-1252 (curly quotes, €, œ).
_AS_CP1252 = frozenset({"latin_1", "ascii", "cp1252", "iso8859_1"})
_HIGH_BYTES = bytes(range(0x80, 0x100))
_CP1252_TABLE = tuple(
    bytes([i]).decode("cp1252", errors="ignore") or bytes([i]).decode("latin-1") for i in range(256)
)
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


def _cp1252_fallback(error: UnicodeError) -> tuple[str, int]:
    """Codec error handler: undecodable bytes read as Windows-1252 (Latin-1 where undefined)."""
    if not isinstance(error, UnicodeDecodeError):
        raise error
    chunk = error.object[error.start : error.end]
    return "".join(_CP1252_TABLE[b] for b in chunk), error.end


codecs.register_error("techagenda-cp1252", _cp1252_fallback)


def _codec(name: str) -> str | None:
    try:
        return codecs.lookup(name).name.replace("-", "_")
    except LookupError:
        return None


def declared_charsets(body: bytes, content_type: str | None) -> list[str]:
    """The codecs a document claims, in authority order: Content-Type, XML declaration, meta."""
    names: list[str] = []
    if content_type and (found := _CT_CHARSET.search(content_type)):
        names.append(found.group(1))
    head = body[:4096]
    for pattern in (_XML_DECL, _META_CHARSET):
        if match := pattern.search(head):
            names.append(match.group(1).decode("ascii"))
    return list(dict.fromkeys(c for n in names if (c := _codec(n.lower()))))


def declared_charset(body: bytes, content_type: str | None) -> str | None:
    """The first charset a document claims (Content-Type, then the XML or meta declaration)."""
    found = declared_charsets(body, content_type)
    return found[0] if found else None


def decode_body(body: bytes, content_type: str | None = None) -> str:
    """Bytes to text, surviving a wrong or missing declared charset. Every parser reads
    its text through here.

    A BOM wins; then UTF-16 seen by its zero bytes. Valid UTF-8 is read as UTF-8 whatever
    the declaration says (real Latin-1 text is practically never valid UTF-8); text that is
    mostly UTF-8 with a few stray Latin-1 bytes keeps its UTF-8 and reads those bytes as
    Windows-1252. Otherwise the first declared non-UTF-8 charset (Latin-1 and ASCII read
    as Windows-1252, as browsers do), else Windows-1252: a French site's legacy encoding.
    """
    for bom, encoding in _BOMS:
        if body.startswith(bom):
            return body[len(bom) :].decode(encoding, errors="replace")
    if len(body) >= 4 and b"\x00" in body[:4]:
        even, odd = body[0:200:2].count(0), body[1:200:2].count(0)
        if even != odd:
            encoding = "utf-16-be" if even > odd else "utf-16-le"
            return body.decode(encoding, errors="replace")
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if _mostly_utf8(body):
        return body.decode("utf-8", errors="techagenda-cp1252")
    declared = [c for c in declared_charsets(body, content_type) if not c.startswith("utf")]
    for codec in declared:
        if codec in _AS_CP1252:
            break
        try:
            return body.decode(codec)
        except (LookupError, UnicodeDecodeError):
            continue
    return body.decode("cp1252", errors="techagenda-cp1252")


def _mostly_utf8(body: bytes) -> bool:
    """True when most non-ASCII bytes form UTF-8 sequences (a few stray bytes aside)."""
    high = len(body) - len(body.translate(None, _HIGH_BYTES))
    in_sequences = sum(len(m) for m in _UTF8_SEQUENCE.findall(body))
    return high > 0 and in_sequences * 4 >= high * 3


_PHP_NOTICES = re.compile(
    r"(?:\s*(?:<br\s*/?>|(?:<b>)?(?:PHP )?(?:Warning|Notice|Deprecated|Strict Standards)"
    r"(?:</b>)?:[^\n]*\n))+\s*(?=[{\[])",
    re.I,
)


def load_json(text: str) -> tuple[Any, bool]:
    """(data, trailing) of a JSON text; ``trailing`` is True when stray text followed the
    document and was ignored (a PHP notice, a second document, an HTML comment).

    A JSON-hijacking guard prefix (``)]}\'``) and PHP warnings printed before the
    document (``<br /><b>Deprecated</b>: ... on line <b>12</b><br />``) are skipped. Raises ParseError when the
    text does not start with JSON, or is nested absurdly deep.
    """
    stripped = text.lstrip("\ufeff \t\r\n")
    if stripped.startswith(")]}'"):
        stripped = stripped[4:].lstrip(", \t\r\n")
    elif stripped[:1] not in "{[" and (notice := _PHP_NOTICES.match(stripped)):
        stripped = stripped[notice.end() :].lstrip()  # PHP warnings printed before the JSON
    try:
        data, end = json.JSONDecoder(strict=False).raw_decode(stripped)
    except RecursionError as exc:
        raise ParseError("JSON is nested too deeply to read") from exc
    except ValueError as exc:
        raise ParseError(f"not valid JSON ({exc})") from exc
    return data, bool(stripped[end:].strip())


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
    if "&" in text:
        text = html.unescape(text)
    if keep_lines:
        text = _SPACES.sub(" ", text.replace("\xa0", " "))
        text = _BLANK_LINES.sub("\n\n", "\n".join(line.strip() for line in text.split("\n")))
        text = text.strip()
    else:
        text = " ".join(text.split())  # every Unicode space, the no-break one included
    return text or None


def zone_name(tz: tzinfo | None) -> str | None:
    """The IANA name of a tzinfo when it has one (``None`` for UTC and fixed offsets)."""
    if isinstance(tz, ZoneInfo) and tz.key not in ("UTC", "Etc/UTC"):
        return tz.key
    return None


# Dates outside these years are typos or traps: near year 1 or 9999 a time-zone
# conversion overflows (OverflowError), so such an event is dropped, never the source.
MIN_YEAR, MAX_YEAR = 1000, 9000


def plausible(value: date | None) -> bool:
    """True for a date (or datetime) whose year is between MIN_YEAR and MAX_YEAR."""
    return value is not None and MIN_YEAR <= value.year <= MAX_YEAR


def canonical(value: datetime) -> datetime:
    """An aware datetime written as its zone would show it (applies the DST rule above)."""
    if value.tzinfo is None:
        return value
    return value.astimezone(UTC).astimezone(value.tzinfo)


def parse_iso(text: object) -> datetime | date | None:
    """An ISO 8601 date or date-time (schema.org style), or ``None`` when unreadable or
    not :func:`plausible` (year 1 with an offset, 9999 with a negative one...)."""
    if not isinstance(text, str):
        return None
    text = text.strip()
    if not text:
        return None
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        try:
            day = date.fromisoformat(text)
        except ValueError:
            return None
        return day if plausible(day) else None
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
    return accepted(parsed)


def accepted(parsed: datetime) -> datetime | None:
    """A parsed date-time as :func:`parse_iso` gives it: :func:`canonical`, or ``None`` when
    not :func:`plausible` or past what a zone conversion can reach."""
    if not plausible(parsed):
        return None
    try:
        return canonical(parsed)
    except (OverflowError, ValueError):
        return None


def check_size(body: bytes) -> None:
    """Refuse bodies too large to parse safely."""
    if len(body) > MAX_BODY:
        raise ParseError(f"document is {len(body) // 1_048_576} MB, more than we parse")


def day_before(value: date) -> date:
    """The previous day (for exclusive end dates)."""
    return value - timedelta(days=1)


# A trailing country ("…, Bègles, fr", "…, France", "…, FRA"): never a town.
_COUNTRY_TAIL = re.compile(
    r"(?i),\s*(fr|fra|france|be|bel|belgique|belgium|ch|che|suisse|switzerland|lu|luxembourg"
    r"|mc|monaco|de|deu|deutschland|germany|allemagne|es|esp|espagne|spain|espana|españa"
    r"|it|ita|italie|italy|italia|gb|uk|united kingdom|royaume-uni|us|usa|united states)\s*\.?$"
)
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
        rest = _COUNTRY_TAIL.sub("", rest).strip(" ,") or None
        if rest and _COUNTRY_TAIL.fullmatch(", " + rest):
            rest = None  # "Bègles, fr": the country alone is neither a street nor a town
    postcode = city = None
    if (match := _POSTCODE_CITY.search(text)) and not _COUNTRY_TAIL.fullmatch(
        ", " + match.group(2)
    ):
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
