"""Which parser family a document needs: Content-Type, then the body, only then the URL.

A Content-Type is trusted only when the body does not contradict it, so an iCal file
served as text/plain or an RSS feed served as text/html still reaches the right parser.
Returns one of ``FORMATS``; raises ``UnsupportedFormatError`` when nothing fits.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from aggregator.errors import ParseError, UnsupportedFormatError

FORMATS = ("ical", "rss", "atom", "sitemap", "json", "html")

_CONTENT_TYPES = {
    "text/calendar": "ical",
    "application/ics": "ical",
    "text/x-vcalendar": "ical",
    "application/rss+xml": "rss",
    "application/rdf+xml": "rss",
    "application/atom+xml": "atom",
    "application/json": "json",
    "application/ld+json": "json",
    "application/activity+json": "json",  # Mobilizon, Gancio (ActivityPub)
    "application/geo+json": "json",
    "text/json": "json",
    "text/html": "html",
    "application/xhtml+xml": "html",
}
_SUFFIXES = {
    ".ics": "ical", ".ical": "ical", ".ifb": "ical", ".rss": "rss", ".atom": "atom",
    ".json": "json", ".jsonld": "json", ".html": "html", ".htm": "html", ".php": "html",
}  # fmt: skip
_ROOT = re.compile(r"<([A-Za-z_][\w:.-]*)")
_PROLOG = re.compile(
    r"^(\s*(<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>\[]*(\[.*?\])?\s*>))*\s*", re.S | re.I
)
_HTML_ROOTS = {"html", "head", "body", "div", "p", "meta", "title", "script", "section", "main"}


def detect_format(body: bytes, *, url: str, content_type: str | None) -> str:
    """The parser family for ``body``: one of ``FORMATS``."""
    if not body.strip():
        raise ParseError("the document is empty")
    declared = _CONTENT_TYPES.get((content_type or "").split(";")[0].strip().lower())
    sniffed = sniff(body)
    if sniffed is not None:
        return sniffed
    if declared is not None and declared != "html":
        return declared
    suffix = _SUFFIXES.get(_suffix(url))
    if suffix is not None:
        return suffix
    if declared == "html":
        return "html"
    raise UnsupportedFormatError(
        "not an RSS/Atom feed, iCalendar file, sitemap, JSON or HTML page"
        + (f" (served as {content_type})" if content_type else "")
    )


def sniff(body: bytes) -> str | None:
    """The format the first bytes show, or ``None`` when they are not telling."""
    head = body[:4096].lstrip(b"\xef\xbb\xbf\xff\xfe\x00 \t\r\n")
    if b"\x00" in body[:64]:  # UTF-16: decode before looking
        head = body[:8192].decode("utf-16", errors="ignore").encode("utf-8").lstrip()
    text = head.decode("latin-1")
    upper = text[:200].upper()
    if upper.startswith("BEGIN:VCALENDAR") or "\nBEGIN:VCALENDAR" in upper[:200]:
        return "ical"
    if text[:1] in "{[" or text.startswith(")]}'"):  # JSON, or JSON behind a hijacking guard
        return "json"
    if not text.startswith("<"):
        return None
    rest = _PROLOG.sub("", text, count=1)
    if re.match(r"(?i)<!DOCTYPE\s+html", text.lstrip()) and not rest.startswith("<"):
        return "html"
    match = _ROOT.match(rest)
    if not match:
        return "html" if re.search(r"(?i)<!DOCTYPE\s+html", text) else None
    root = match.group(1).lower()
    local = root.rsplit(":", 1)[-1]
    if local in ("rss", "rdf", "channel"):
        return "rss"
    if local == "feed":
        return "atom"
    if local in ("urlset", "sitemapindex"):
        return "sitemap"
    if local in _HTML_ROOTS or re.search(r"(?i)<!DOCTYPE\s+html", text):
        return "html"
    return None


def _suffix(url: str) -> str:
    path = urlsplit(url).path.lower()
    dot = path.rfind(".")
    return path[dot:] if dot > path.rfind("/") else ""
