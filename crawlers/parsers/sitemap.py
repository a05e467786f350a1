"""XML sitemaps (``urlset`` and ``sitemapindex``): links to follow, event pages first."""

from __future__ import annotations

from urllib.parse import urlsplit

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from aggregator.errors import ParseError
from crawlers.parsers.html import _EVENTISH, _site

MAX_SITEMAP_LINKS = 500


def parse_sitemap(body: bytes, *, url: str) -> tuple[list[str], list[str]]:
    """(links, warnings): same-site page URLs, event-looking ones first, then child sitemaps."""
    try:
        root = SafeET.fromstring(body, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise ParseError("sitemap declares a DTD or entities; refused") from exc
    except SafeET.ParseError as exc:
        raise ParseError(f"sitemap is not well-formed XML ({exc})") from exc
    site = _site(url)
    pages: list[str] = []
    for element in root.iter():
        if not str(element.tag).endswith("loc") or not element.text:
            continue
        link = element.text.strip()
        if urlsplit(link).scheme in ("http", "https") and _site(link) == site:
            pages.append(link)
    pages = list(dict.fromkeys(pages))
    ranked = sorted(pages, key=lambda link: 0 if _EVENTISH.search(urlsplit(link).path) else 1)
    warnings = []
    if len(ranked) > MAX_SITEMAP_LINKS:
        warnings.append(f"sitemap lists {len(ranked)} pages; only {MAX_SITEMAP_LINKS} are kept")
    return ranked[:MAX_SITEMAP_LINKS], warnings
