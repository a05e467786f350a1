"""Words and dates in the subscriber's language: Babel formats, fixed texts, topic labels.

Pure helpers used by the templates; every function takes the language explicitly.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import cache
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from babel.dates import (
    format_date,
    format_interval,
    format_skeleton,
    format_time,
    get_day_names,
)

LANGUAGES = ("fr", "en")
LOCALES = {"fr": "fr_FR", "en": "en"}

TEXTS: dict[str, dict[str, str]] = {
    "fr": {
        "colon": " :",
        "subject": "{region} : {count} événements tech, {week}",
        "subject_one": "{region} : 1 événement tech, {week}",
        "subject_none": "{region} : pas d'événement tech cette semaine, {week}",
        "title": "L'agenda tech {region}",
        "week_label": "Semaine du {interval}",
        "count_line": "{count} événements cette semaine, {later} à noter pour la suivante.",
        "count_line_one": "1 événement cette semaine, {later} à noter pour la suivante.",
        "count_new": "{new} nouveaux depuis votre dernier envoi.",
        "nothing": "Rien ne correspond à vos préférences cette semaine.",
        "save_the_date": "À noter pour la semaine suivante",
        "online": "En ligne",
        "all_day": "Toute la journée",
        "new": "Nouveau",
        "cancelled": "Annulé",
        "moved": "Déplacé",
        "was": "était : {old}",
        "count_changes": "Changements depuis votre dernier envoi : {moved} déplacé(s), "
        "{cancelled} annulé(s).",
        "more_like": "Plus comme ça",
        "less_like": "Moins comme ça",
        "series_heading": "Rendez-vous réguliers",
        "every_weekday": "tous les {weekday}s",
        "several_dates": "à plusieurs dates",
        "dates": "dates",
        "feed_ics": "Mon agenda (iCal)",
        "feed_atom": "Mon flux (Atom)",
        "add_ics": "Ajouter à l'agenda (.ics)",
        "add_google": "Google Agenda",
        "details": "Détails",
        "preferences": "Modifier mes préférences",
        "unsubscribe": "Me désinscrire",
        "why": "Vous recevez cet email car vous êtes inscrit·e à l'agenda tech {region}.",
        "confirm_subject": "Confirmez votre inscription à l'agenda tech {region}",
        "confirm_intro": "Bonjour, quelqu'un (vous, sans doute) a demandé à recevoir chaque "
        "semaine l'agenda des événements tech {region} à cette adresse.",
        "confirm_action": "Confirmer mon inscription",
        "confirm_ignore": "Si ce n'est pas vous, ignorez ce message : vous ne recevrez rien. "
        "Le lien expire dans 7 jours.",
    },
    "en": {
        "colon": ":",
        "subject": "{region}: {count} tech events, {week}",
        "subject_one": "{region}: 1 tech event, {week}",
        "subject_none": "{region}: no tech events this week, {week}",
        "title": "{region} tech agenda",
        "week_label": "Week of {interval}",
        "count_line": "{count} events this week, {later} to save for the next.",
        "count_line_one": "1 event this week, {later} to save for the next.",
        "count_new": "{new} new since your last digest.",
        "nothing": "Nothing matches your preferences this week.",
        "save_the_date": "Save the date: the week after",
        "online": "Online",
        "all_day": "All day",
        "new": "New",
        "cancelled": "Cancelled",
        "moved": "Moved",
        "was": "was: {old}",
        "count_changes": "Changes since your last digest: {moved} moved, {cancelled} cancelled.",
        "more_like": "More like this",
        "less_like": "Fewer like this",
        "series_heading": "Regular meetups",
        "every_weekday": "every {weekday}",
        "several_dates": "on several dates",
        "dates": "dates",
        "feed_ics": "My calendar (iCal)",
        "feed_atom": "My feed (Atom)",
        "add_ics": "Add to calendar (.ics)",
        "add_google": "Google Calendar",
        "details": "Details",
        "preferences": "Change my preferences",
        "unsubscribe": "Unsubscribe",
        "why": "You get this email because you subscribed to the {region} tech agenda.",
        "confirm_subject": "Confirm your subscription to the {region} tech agenda",
        "confirm_intro": "Hello, someone (probably you) asked to receive the weekly agenda "
        "of tech events in {region} at this address.",
        "confirm_action": "Confirm my subscription",
        "confirm_ignore": "If it was not you, ignore this message: you will get nothing. "
        "The link expires in 7 days.",
    },
}


def _plain(value: str) -> str:
    """CLDR's thin and narrow no-break spaces become plain spaces (safe in every client)."""
    return value.replace("\u2009", " ").replace("\u202f", " ")


def lang_of(language: str | None) -> str:
    """The supported language closest to ``language`` (French by default)."""
    code = (language or "fr").lower()[:2]
    return code if code in LANGUAGES else "fr"


def text(language: str, key: str, **values: object) -> str:
    """A fixed sentence in ``language`` with ``values`` filled in."""
    return TEXTS[lang_of(language)][key].format(**values)


@cache
def _topic_labels(language: str) -> dict[str, str]:
    from aggregator.topics import load_taxonomy

    return load_taxonomy().labels(language)


def topic_label(slug: str, language: str) -> str:
    """A topic's name for people (shared taxonomy); unknown slugs are shown as they are."""
    return _topic_labels(lang_of(language)).get(slug) or slug.replace("-", " ")


def day_heading(day: date, language: str) -> str:
    """``Mardi 1 décembre`` / ``Tuesday, December 1``."""
    lang = lang_of(language)
    pattern = "EEEE d MMMM" if lang == "fr" else "EEEE, MMMM d"
    out = format_date(day, pattern, locale=LOCALES[lang])
    return out[:1].upper() + out[1:]


def short_day(day: date, language: str) -> str:
    """``mar. 8 déc.`` / ``Tue, Dec 8``."""
    return _plain(format_skeleton("MMMEd", day, locale=LOCALES[lang_of(language)]))


def time_label(moment: datetime, language: str) -> str:
    """``19:00`` / ``7:00 PM`` in the moment's own timezone."""
    return _plain(format_time(moment, "short", locale=LOCALES[lang_of(language)]))


def time_range(start: datetime, end: datetime | None, language: str) -> str:
    """``18:30 – 21:00``; the end is left out when unknown or on another day."""
    first = time_label(start, language)
    if end is None or end <= start or end.date() != start.date():
        return first
    return f"{first} – {time_label(end, language)}"


def weekday_name(weekday: int, language: str) -> str:
    """``mardi`` / ``Tuesday`` for 0 = Monday."""
    lang = lang_of(language)
    name = get_day_names("wide", locale=LOCALES[lang])[weekday]
    return name if lang == "en" else name.lower()


def rhythm(weekday: int | None, language: str) -> str:
    """``tous les mardis`` / ``every Tuesday``; ``à plusieurs dates`` without one weekday."""
    if weekday is None:
        return text(language, "several_dates")
    return text(language, "every_weekday", weekday=weekday_name(weekday, language))


def was_label(was_start: datetime | None, was_place: str | None, day: date, language: str) -> str:
    """What a moved event used to say: ``mar. 1 déc. 18:30, La Coque`` (day only if other)."""
    parts = []
    if was_start is not None:
        when = time_label(was_start, language)
        if was_start.date() != day:
            when = f"{short_day(was_start.date(), language)} {when}"
        parts.append(when)
    if was_place:
        parts.append(was_place)
    return ", ".join(parts)


def week_interval(start: date, language: str) -> str:
    """``30 nov. – 6 déc. 2026`` / ``Nov 30 – Dec 6, 2026``."""
    end = start + timedelta(days=6)
    return _plain(format_interval(start, end, "yMMMd", locale=LOCALES[lang_of(language)]))


def google_calendar_url(
    *,
    title: str,
    start: datetime | None,
    end: datetime | None,
    all_day_start: date | None,
    all_day_end: date | None,
    details: str,
    location: str,
) -> str:
    """A Google Calendar "add event" link (times in UTC; all-day end exclusive)."""
    if start is not None:
        stop = end if end is not None and end > start else start + timedelta(hours=1)
        fmt = "%Y%m%dT%H%M%SZ"
        utc = ZoneInfo("UTC")
        dates = f"{start.astimezone(utc).strftime(fmt)}/{stop.astimezone(utc).strftime(fmt)}"
    elif all_day_start is not None:
        first = all_day_start
        last = (all_day_end or first) + timedelta(days=1)
        dates = f"{first:%Y%m%d}/{last:%Y%m%d}"
    else:
        dates = ""
    query = {"action": "TEMPLATE", "text": title, "dates": dates, "details": details}
    if location:
        query["location"] = location
    return "https://calendar.google.com/calendar/render?" + urlencode(query)
