"""French by default, English on request: language choice, messages and Babel dates.

Messages are written in French in the templates and code (``_("S'abonner")``); the
English catalogue lives in ``web/translations_en.py``. The language comes from, in
order: ``?lang=`` (which also sets the ``lang`` cookie), the cookie, ``Accept-Language``,
then French.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, tzinfo

from babel import Locale
from babel.dates import format_date, format_datetime, format_time
from fastapi import Request

from web.translations_en import EN, FR_STATES

LANGUAGES = ("fr", "en")
DEFAULT_LANGUAGE = "fr"
LANG_COOKIE = "lang"


def pick_language(query: str | None, cookie: str | None, accept: str | None) -> str:
    """The page language from the query, the cookie, then the Accept-Language header."""
    for value in (query, cookie):
        if value in LANGUAGES:
            return value
    if accept:
        wanted = []
        for part in accept.split(","):
            tag, _, params = part.strip().partition(";")
            q = 1.0
            if params.strip().startswith("q="):
                try:
                    q = float(params.strip()[2:])
                except ValueError:
                    q = 0.0
            if tag:
                wanted.append((q, tag.strip().replace("-", "_")))
        wanted.sort(key=lambda item: -item[0])
        found = Locale.negotiate([tag for q, tag in wanted if q > 0], list(LANGUAGES), sep="_")
        if found:
            return str(found)
    return DEFAULT_LANGUAGE


def request_language(request: Request) -> str:
    return pick_language(
        request.query_params.get("lang"),
        request.cookies.get(LANG_COOKIE),
        request.headers.get("accept-language"),
    )


def translator(lang: str) -> Callable[[str], str]:
    """A ``_()`` for one language; unknown messages fall back to the French text."""
    if lang == "en":
        return lambda text: EN.get(text, text)
    return lambda text: FR_STATES.get(text, text)


class Formatter:
    """Dates and times of one language in the region's timezone."""

    def __init__(self, lang: str, tz: tzinfo) -> None:
        self.lang = lang
        self.tz = tz

    def day(self, value: date | datetime | None) -> str:
        if value is None:
            return ""
        if isinstance(value, datetime):
            return format_datetime(value, "EEEE d MMMM y", tzinfo=self.tz, locale=self.lang)
        return format_date(value, "EEEE d MMMM y", locale=self.lang)

    def short_day(self, value: date | datetime | None) -> str:
        if value is None:
            return ""
        if isinstance(value, datetime):
            return format_datetime(value, "EEE d MMM", tzinfo=self.tz, locale=self.lang)
        return format_date(value, "EEE d MMM", locale=self.lang)

    def time(self, value: datetime | None) -> str:
        if value is None:
            return ""
        return format_time(value, "short", tzinfo=self.tz, locale=self.lang)

    def when(self, value: datetime | None) -> str:
        """Day and time, for tables (e.g. last crawl)."""
        if value is None:
            return "—"
        return format_datetime(value, "d MMM y HH:mm", tzinfo=self.tz, locale=self.lang)

    def local(self, value: datetime) -> datetime:
        return value.astimezone(self.tz)
