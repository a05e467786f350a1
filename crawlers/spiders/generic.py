"""The one generic spider: any source whose documents carry structured event data.

Format detection and parsing belong to :func:`crawlers.parsers.parse_document`; this
spider only hands it each downloaded page with the source's defaults.
"""

from __future__ import annotations

from scrapy.http import Response

from crawlers.parsers import ParseResult, parse_document
from crawlers.spiders import GENERIC, register
from crawlers.spiders.base import SourceJob, SourceSpider


def response_headers(response: Response) -> dict[str, str]:
    """The response headers as text, names lower-cased (first value of each)."""
    headers: dict[str, str] = {}
    for name, values in response.headers.items():
        if values:
            headers[name.decode("latin-1").lower()] = values[0].decode("latin-1")
    return headers


@register(GENERIC)
class GenericSpider(SourceSpider):
    """Reads RSS/Atom, iCalendar and schema.org pages with no per-site code."""

    def extract(self, job: SourceJob, response: Response) -> ParseResult:
        return parse_document(
            response.body,
            url=response.url,
            headers=response_headers(response),
            defaults=job.defaults,
        )
