"""The evidence two listings of one event share, read from their text and URLs (pure).

Each function here turns what a source wrote into a comparable key; ``aggregator.dedupe``
weighs them. Everything works on folded text (``aggregator.regions.fold``: lower-case,
accent- and punctuation-free) except :func:`acronyms`, which needs the original case.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from urllib.parse import parse_qsl, urlencode, urlsplit

from aggregator.regions import fold

STOP_WORDS = frozenset(
    ["le", "la", "les", "l", "un", "une", "des", "du", "de", "d", "au", "aux", "et", "ou", "en", "a", "à", "pour", "par", "sur", "avec", "dans", "chez", "sans", "ce", "cette", "ces", "se", "sa", "son", "ses", "notre", "nos", "votre", "vos", "the", "an", "of", "and", "or", "in", "on", "at", "for", "with", "to", "by", "from", "is", "are", "meetup", "rencontre", "soiree", "evening", "event", "evenement", "session", "edition"]
)
# Words that name a kind of event or a month, not which event: sharing them proves nothing.
GENERIC_WORDS = frozenset(
    ["meetup", "meetups", "rencontre", "rencontres", "soiree", "soirees", "evenement", "evenements", "event", "events", "session", "sessions", "edition", "editions", "atelier", "ateliers", "workshop", "conference", "conferences", "talk", "talks", "seminaire", "seminaires", "journee", "journees", "apero", "aperos", "afterwork", "cafe", "nuit", "matinee", "presentation", "groupe", "group", "communaute", "community", "mensuel", "mensuelle", "monthly", "annuel", "annuelle", "special", "edition", "janvier", "fevrier", "mars", "avril", "mai", "juin", "juillet", "aout", "septembre", "octobre", "novembre", "decembre", "january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "avec", "pour", "des", "les", "une", "the", "and", "with", "par", "sur", "dans", "chez", "vos", "nos", "votre", "notre", "tous", "toutes", "tout", "new", "nouveau", "nouvelle", "gratuit", "gratuite", "free", "online", "ligne", "inscription", "registration", "billets", "tickets", "ticket"]
)
# Words of an organisation's name that say what it is, not which one ("Rampe Accélérateur").
ORG_WORDS = frozenset(
    ["association", "asso", "club", "collectif", "groupe", "group", "meetup", "communaute", "community", "lab", "labs", "coworking", "accelerateur", "incubateur", "user", "users", "usergroup", "ug", "team", "equipe", "france", "officiel", "officielle", "agenda", "calendrier", "calendar", "evenements", "events", "page", "site", "tech", "techs", "numerique", "digital", "ville", "metropole", "region", "sud", "paca", "provence", "marseille", "aix", "pays", "google"]
)
_UNITS = r"(?:h|heures?|hours?|min|minutes?|ans?|years?|%|eur|euros?|k|km|places?|jours?|days?|mois|pers|personnes)"
_EDITION = re.compile(
    r"(?:#\s*(\d{1,4})\b|\bn[°o]\s*(\d{1,4})\b|\b(\d{1,3})\s*(?:e|eme|er|ere|th|st|nd|rd)\b"
    r"|\b(?:edition|episode|ep|vol|volume|saison|season|session|numero)\s+(\d{1,4})\b)",
    re.I,
)
_BARE = re.compile(r"(?<![\d.,:h])\b(\d{1,3})\b(?!\s*" + _UNITS + r"\b)(?![.,:h]\d)")
_YEAR = re.compile(r"\b(19[7-9]\d|20\d\d)\b")
_SMALL = frozenset(["a", "au", "aux", "d", "de", "des", "du", "en", "et", "l", "la", "le", "les", "of", "the", "and", "for"])
_URL = re.compile(r"https?://[^\s<>\"'()\]]+", re.I)
_LOCALE = re.compile(r"^[a-z]{2}(?:[-_][a-z]{2})?$", re.I)
_TRACKING = re.compile(
    r"^(utm_.*|fbclid|gclid|dclid|msclkid|yclid|igshid|mc_.*|ref|ref_src|src|source|aff|"
    r"affiliate|campaign|cmp|cmpid|_ga|_gl|_hsenc|_hsmi|mkt_tok|trk|si|s_cid|from|via|"
    r"share|rsvp_.*|eventorigin|recurrenceid|keep_tld)$",
    re.I,
)
_SHARED_HOSTS = ("eventbrite", "meetup", "weezevent", "helloasso", "billetweb", "lu", "luma",
                 "openagenda", "facebook", "mobilizon", "agendadulibre", "google")


def url_key(url: str | None) -> str | None:
    """A URL's identity: no scheme, www., tracking parameters, fragment, trailing slash or
    leading locale segment (/fr-FR/, /en/); a ticketing platform's country domains are one
    ("eventbrite.fr" = "eventbrite.com")."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip().rstrip(".,;"))
        host = (parts.hostname or "").lower().removeprefix("www.")
    except ValueError:
        return None
    if not host:
        return None
    labels = host.split(".")
    if len(labels) >= 2 and labels[-2] in _SHARED_HOSTS:
        host = labels[-2]
    segments = [s for s in parts.path.split("/") if s]
    if segments and _LOCALE.match(segments[0]) and len(segments) > 1:
        segments = segments[1:]
    query = urlencode(sorted(
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING.match(k)
    ))
    path = "/".join(segments).lower()
    return f"{host}/{path}" + (f"?{query}" if query else "")


def urls_in(text: str | None) -> tuple[str, ...]:
    """The http(s) URLs a text mentions (at most 20)."""
    if not text:
        return ()
    return tuple(dict.fromkeys(_URL.findall(text)))[:20]


def site_root(key: str) -> bool:
    """A key naming a whole site or a listing, not one event page (too weak as evidence)."""
    return "/" not in key.rstrip("/") or key.endswith("/") or key.count("/") < 1


@lru_cache(maxsize=1 << 18)
def editions(text: str) -> frozenset[str]:
    """Edition numbers in a (raw or folded) title: "#19", "n°19", "19e", "édition 19", or a
    bare number that is no quantity ("48 h", "3 jours") nor a year."""
    plain = _deaccent(text)
    found = {next(g for g in m.groups() if g) for m in _EDITION.finditer(plain)}
    if not found:
        folded = fold(text)
        found = {m.group(1) for m in _BARE.finditer(_YEAR.sub(" ", folded))}
    return frozenset(str(int(n)) for n in found)


def _deaccent(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()


@lru_cache(maxsize=1 << 18)
def years(folded: str) -> frozenset[str]:
    return frozenset(_YEAR.findall(folded))


def stem(word: str) -> str:
    """A crude French/English stem: the first five letters of a word ("pitchs" = "pitch",
    "débutant·es" = "débuter")."""
    return word[:5]


@lru_cache(maxsize=1 << 18)
def significant_words(folded: str) -> frozenset[str]:
    """Stems of a folded title's words that say which event it is (no generic or short words,
    no numbers)."""
    return frozenset(
        stem(w) for w in folded.split()
        if len(w) >= 3 and not w.isdigit() and w not in GENERIC_WORDS and w not in _KIND_OF
    )


@lru_cache(maxsize=1 << 18)
def text_stems(folded: str) -> frozenset[str]:
    """Stems of every word of a folded text (for "the other's title words are in my text")."""
    return frozenset(stem(w) for w in folded.split() if len(w) >= 3)


@lru_cache(maxsize=1 << 16)
def name_words(name: str) -> tuple[str, ...]:
    """The words of a group or organizer name that tell it apart ("rampe" of "Rampe
    Accélérateur"); empty when nothing distinctive is left."""
    words = [w for w in fold(name).split()
             if w not in ORG_WORDS and w not in GENERIC_WORDS and w not in _SMALL]
    if not words or (len(words) == 1 and len(words[0]) < 4):
        return ()
    return tuple(words)


def name_in(name: str, words: frozenset[str]) -> bool:
    """All distinctive words of ``name`` are among ``words`` (folded words of a text)."""
    wanted = name_words(name)
    return bool(wanted) and all(w in words for w in wanted)


@lru_cache(maxsize=1 << 18)
def word_set(folded: str) -> frozenset[str]:
    return frozenset(folded.split())


@lru_cache(maxsize=1 << 18)
def acronyms(title: str) -> frozenset[str]:
    """Upper-case tokens of 2–6 letters in a title as written ("SVJS", "AFUP"), folded."""
    return frozenset(t.lower() for t in re.findall(r"\b[A-Z][A-Z0-9]{1,5}\b", title or ""))


@lru_cache(maxsize=1 << 18)
def abbreviates(acronym: str, name: str) -> bool:
    """``acronym`` ("svjs") is made of the starts of the name's first words (two or more) in
    order, each word giving at least its first letter ("Sainte-Victoire JS" → s + v + js)."""
    words = [w for w in fold(name).split() if w not in _SMALL]
    if len(words) < 2 or len(acronym) < 2:
        return False

    def fits(rest: str, i: int) -> bool:
        if not rest:
            return i >= 2  # the acronym may stand for the start of a longer title
        if i == len(words):
            return False
        word = words[i]
        return any(rest.startswith(word[:n]) and fits(rest[n:], i + 1)
                   for n in range(1, min(len(word), len(rest)) + 1))

    return fits(acronym, 0)


_KINDS = {
    "talk": "conference conferences talk talks keynote seminaire seminar seminaires expose",
    "workshop": "atelier ateliers workshop workshops tutoriel tutorial dojo",
    "training": "formation formations masterclass bootcamp cours course",
    "hackathon": "hackathon hackathons hackday",
    "meetup": "meetup rencontre rencontres soiree",
    "social": "afterwork apero aperitif networking",
    "webinar": "webinaire webinar webinaires webinars",
}
_KIND_OF = {w: kind for kind, words in _KINDS.items() for w in words.split()}


# Kinds one event may be listed under by different sources: a meetup is announced by its
# talk, a talk evening ends in an afterwork, a training is run as a workshop.
_SAME_EVENT_KINDS = frozenset(frozenset(p.split()) for p in (
    "meetup talk", "meetup social", "talk social", "workshop training", "talk webinar",
    "meetup webinar",
))


def kinds_clash(a: frozenset[str], b: frozenset[str]) -> bool:
    """The kinds two titles name cannot be one event ("Atelier …" vs "Conférence : …", a
    hackathon vs its info webinar); kinds that sources use for the same evening do not clash
    ("Meetup … #12" vs "Conférence : …")."""
    if not a or not b or a & b:
        return False
    return not any(frozenset((x, y)) in _SAME_EVENT_KINDS for x in a for y in b)


@lru_cache(maxsize=1 << 18)
def kinds(title: str) -> frozenset[str]:
    """The kinds of event a title names (talk, workshop, training, hackathon, meetup, social,
    webinar): "Atelier Python" and "Conférence : Python" are two events."""
    return frozenset(k for w in fold(title).split() if (k := _KIND_OF.get(w)))
