"""French by default, English on request: language choice, messages and Babel dates.

Messages are written in French in the templates and code (``_("S'abonner")``); the
English catalogue lives in ``web/translations_en.py``. The language comes from, in
order: ``?lang=`` (which also sets the ``lang`` cookie), the cookie, ``Accept-Language``,
then French.
"""

from __future__ import annotations

import re
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


# English phrases our libraries write for admins and developers (exceptions, fetch
# errors, gate checks) -> the French catalogue key saying it, with the same named fields.
_N = r"(?P<n>\d+)"
PHRASES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(p, re.I), key)
    for p, key in [
        (r"\bno event \d+", "Cet événement n'existe pas ou n'est plus publié."),
        (r"\bno digest for \S+", "Aucun résumé envoyé pour cette semaine."),
        (r"\bthis link has expired", "Ce lien a expiré."),
        (r"\bthis link is (?:not|no longer) valid", "Ce lien n'est pas ou plus valide."),
        (r"\bthis subscription was closed: please subscribe again",
         "Cet abonnement a été fermé : abonnez-vous à nouveau."),
        (r"\bthis feed is no longer active", "Ce flux n'est plus actif."),
        (r"\ban email address is required", "Une adresse email est requise."),
        (r"'[^']*' is not a valid email address", "Cette adresse email n'est pas valide."),
        (r"\bunknown topic '[^']*'", "Thème inconnu : choisissez un thème de la liste."),
        (r"\blanguage must be one of [^,]+(?:, [^,]+)*, not '[^']*'", "Langue inconnue."),
        (r"(?P<url>\S+) did not answer in time", "{url} n'a pas répondu à temps"),
        (r"(?P<url>\S+) took too long to download", "{url} a mis trop de temps à répondre"),
        (r"(?P<url>\S+) answered HTTP (?P<status>\d+)", "{url} a répondu HTTP {status}"),
        (r"cannot resolve (?P<host>\S+): the name does not exist or DNS failed",
         "impossible de trouver {host} : ce nom n'existe pas"),
        (r"refused to fetch (?P<url>\S+): [^.()]+", "adresse refusée : {url}"),
        (r"not a valid web address: (?P<url>\S+)", "adresse web invalide : {url}"),
        (r"(?P<url>\S+): more than (?P<n>\d+) redirects", "{url} : plus de {n} redirections"),
        (r"no event at an odd hour", "Aucun événement à une heure inhabituelle"),
        (_N + r" event\(s\) start between 00:00 and 06:00",
         "{n} événement(s) entre 00:00 et 06:00"),
        (r"no event already past", "Aucun événement déjà passé"),
        (_N + r" event\(s\) are already over", "{n} événement(s) déjà terminé(s)"),
        (r"no likely duplicate", "Aucun doublon probable"),
        (_N + r" likely duplicate pair\(s\) not merged",
         "{n} paire(s) de doublons probables non fusionnée(s)"),
        (r"every source answered", "Toutes les sources ont répondu"),
        (_N + r" source\(s\) failed at the last crawl",
         "{n} source(s) en échec au dernier passage"),
        (r"the issue is empty: no event in its two weeks",
         "Le numéro est vide : aucun événement sur ses deux semaines"),
        (r"abnormally small issue: (?P<size>\d+) events against (?P<mean>\d+) on average",
         "Numéro anormalement petit : {size} événements contre {mean} en moyenne"),
        (r"recent weeks: (?P<weeks>[\d, ]+)", "semaines précédentes : {weeks}"),
        (r"(?P<size>\d+) events in the issue", "{size} événements dans le numéro"),
        (_N + r" failed crawls in a row", "{n} passages en échec d'affilée"),
        (r"flagged for review", "signalée pour relecture"),
    ]
]


def translate_phrases(text: str | None, lang: str) -> str:
    """``text`` with every known English developer phrase said in ``lang`` (a French
    catalogue message, translated back to plain English for ``en``). Pure."""
    if not text:
        return ""
    _ = translator(lang)
    for pattern, key in PHRASES:

        def said(match: re.Match[str], key: str = key) -> str:
            return _(key).format(**match.groupdict())

        text = pattern.sub(said, text)
    return text


def is_translated(text: str) -> bool:
    """Whether ``text`` is a message of the catalogue (written for people)."""
    return text in EN or any(pattern.fullmatch(text) for pattern, _ in PHRASES)
