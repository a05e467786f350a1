"""The one generic spider: any source whose documents carry structured event data.

Detection, parsing and online settling belong to :func:`crawlers.document.read_document`;
this spider only hands it each downloaded page with the source's defaults.
"""

from __future__ import annotations

from scrapy.http import Response

from crawlers.parsers import ParseResult
from crawlers.spiders import GENERIC, register
from crawlers.spiders.base import SourceJob, SourceSpider, response_headers

__all__ = ["GenericSpider", "response_headers"]


@register(GENERIC)
class GenericSpider(SourceSpider):
    """Reads RSS/Atom, iCalendar and schema.org pages with no per-site code."""

    def extract(self, job: SourceJob, response: Response) -> ParseResult:
        return self.read(job, response)
