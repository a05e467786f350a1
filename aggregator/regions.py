"""Region packs: every fact about a place lives in a folder of data, not in code.

A pack is a folder ``aggregator/regions/<name>/`` (or any folder path given as the name)
holding ``region.toml`` (display name, IANA timezone, language, venue and town aliases,
postcode rules, taxonomy additions) beside a ``communes.csv`` gazetteer (insee, name,
postcodes joined by ``;``, latitude, longitude) and optionally a starter ``sources.csv``
with its ``routes.toml`` (how each starter source is read; see ``crawlers.adapters.routes``).

:meth:`Region.locate` decides where an event is, in this order of trust: the town field,
the address, a known venue alias, the postcode (unless shared with communes outside the
region), then the coordinates (nearest commune centroid within a margin).
"""

from __future__ import annotations

import csv
import math
import re
import tomllib
import unicodedata
from dataclasses import dataclass, field
from functools import cache, cached_property, lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from aggregator.errors import ConfigError
from aggregator.timeutil import zone

PACKS = Path(__file__).parent / "regions"
TAXONOMY_FILE = PACKS / "_taxonomy.toml"

_ABBREVIATIONS = {"st": "saint", "ste": "sainte", "sts": "saints", "pce": "provence"}
_NOISE = {"france", "cedex", "fr"}


_NOT_WORD = re.compile(r"[^0-9a-z]+")
_SEEN: set[str] = set()  # non-ASCII characters met so far (at most all of Unicode)
_DROP: dict[int, None] = {}  # the combining marks among them, for str.translate


SHORT_TEXT = 256  # longer texts (descriptions) are remembered a few at a time


def fold(text: str | None) -> str:
    """Lower-case, accent-free, punctuation-free words; La Poste's ST/STE/PCE spelled out.

    Remembered: a title, a keyword or a town is folded once per process, a description
    once for the several readers of one listing (topics, online words, matching)."""
    if not text:
        return ""
    if len(text) <= SHORT_TEXT:
        return _fold_short(text)
    return _fold_long(text)


@lru_cache(maxsize=1 << 16)
def _fold_short(text: str) -> str:
    return _fold(text)


@lru_cache(maxsize=1 << 9)
def _fold_long(text: str) -> str:
    return _fold(text)


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    if not decomposed.isascii():  # drop the combining marks in C, not a character at a time
        for ch in set(decomposed) - _SEEN:
            _SEEN.add(ch)
            if unicodedata.combining(ch):
                _DROP[ord(ch)] = None
        decomposed = decomposed.translate(_DROP)
    plain = decomposed.lower()
    words = _NOT_WORD.sub(" ", plain).split()
    return " ".join(_ABBREVIATIONS.get(w, w) for w in words)


@dataclass(frozen=True, slots=True)
class Commune:
    """One member commune of a region."""

    insee: str
    name: str
    postcodes: tuple[str, ...]
    lat: float
    lon: float


_OUTSIDE = object()  # a town known to lie outside the region


@dataclass(frozen=True, eq=False)
class Region:
    """A loaded region pack (immutable; build with :func:`load_region`)."""

    name: str
    display_name: str
    timezone: str
    language: str
    communes: tuple[Commune, ...]
    path: Path
    venue_aliases: dict[str, str] = field(default_factory=dict)  # folded alias -> insee
    town_aliases: dict[str, str] = field(default_factory=dict)  # folded alias -> insee
    outside_towns: frozenset[str] = frozenset()  # folded names
    ambiguous_postcodes: frozenset[str] = frozenset()
    postcode_defaults: dict[str, str] = field(default_factory=dict)
    postcode_pattern: str = r"(?<!\d)\d{5}(?!\d)"
    coordinate_margin_km: float = 8.0
    taxonomy_additions: dict[str, tuple[str, ...]] = field(default_factory=dict)
    starter_sources_csv: Path | None = None
    routes_toml: Path | None = None  # how each starter source is read (crawlers.adapters.routes)
    # Town aliases that are also common words ("Salon"): never read as a place in free text.
    ambiguous_town_aliases: frozenset[str] = frozenset()
    # Phrases that name the whole region or an organisation, not a town ("Aix-Marseille").
    region_phrases: tuple[str, ...] = ()
    # INSEE codes of a commune's parts (Marseille's arrondissements) -> the commune's code.
    commune_parts: dict[str, str] = field(default_factory=dict)
    # Place words of compound names ("Aix", "Provence") a SHOUTED title gets its casing back
    # for, besides the one-word commune names (see ``title_words``).
    extra_title_words: tuple[str, ...] = ()
    _by_insee: dict[str, Commune] = field(default_factory=dict, repr=False)
    _by_postcode: dict[str, tuple[Commune, ...]] = field(default_factory=dict, repr=False)
    _names: tuple[tuple[str, Any], ...] = field(default=(), repr=False)
    _text_names: dict[str, Any] = field(default_factory=dict, repr=False)
    _text_pattern: re.Pattern[str] | None = field(default=None, repr=False)
    _venue_pattern: re.Pattern[str] | None = field(default=None, repr=False)
    _phrase_pattern: re.Pattern[str] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        by_insee = {c.insee: c for c in self.communes}
        by_pc: dict[str, list[Commune]] = {}
        for commune in self.communes:
            for code in commune.postcodes:
                by_pc.setdefault(code, []).append(commune)
        names: list[tuple[str, Any]] = [(fold(c.name), c) for c in self.communes]
        names += [(alias, by_insee[i]) for alias, i in self.town_aliases.items() if i in by_insee]
        names += [(n, _OUTSIDE) for n in self.outside_towns]
        names.sort(key=lambda item: len(item[0]), reverse=True)
        object.__setattr__(self, "_by_insee", by_insee)
        object.__setattr__(self, "_by_postcode", {k: tuple(v) for k, v in by_pc.items()})
        object.__setattr__(self, "_names", tuple(names))
        text_names = {
            n: f for n, f in reversed(names) if len(n) >= 3 and n not in self.ambiguous_town_aliases
        }
        object.__setattr__(self, "_text_names", text_names)
        object.__setattr__(self, "_text_pattern", _words_pattern(text_names))
        object.__setattr__(self, "_venue_pattern", _words_pattern(self.venue_aliases))
        object.__setattr__(self, "_phrase_pattern", _words_pattern(self.region_phrases))

    @cached_property
    def title_words(self) -> tuple[str, ...]:
        """The region's place words as written: one-word commune names and the pack's
        ``title_words`` (``aggregator.normalize`` restores their casing in SHOUTED titles)."""
        singles = (c.name for c in self.communes if re.fullmatch(r"\w+", c.name))
        return (*singles, *self.extra_title_words)

    @property
    def tz(self) -> ZoneInfo:
        """The region's zone (``aggregator.timeutil.zone``, cached)."""
        return zone(self.timezone)

    @property
    def starter_sources(self) -> Path | None:
        """The pack's starter list of sources (CSV), when it has one."""
        return self.starter_sources_csv

    @property
    def routes(self) -> Path | None:
        """The pack's routes file (``routes.toml`` beside the starter list), when it has one."""
        return self.routes_toml

    def commune(self, insee: str) -> Commune | None:
        """The member commune with this INSEE code (or that of one of its parts)."""
        return self._by_insee.get(self.commune_parts.get(insee, insee))

    def whole_commune(self, insee: str | None) -> str | None:
        """The code of the commune an INSEE code is part of (an arrondissement's commune),
        else the code itself: towns compare on whole communes."""
        return self.commune_parts.get(insee, insee) if insee else insee

    def communes_sorted(self) -> list[Commune]:
        """Communes in alphabetical order, accents ignored (for a form's town choices)."""
        return sorted(self.communes, key=lambda c: fold(c.name))

    def _match_name(self, text: str) -> Any:
        words = [w for w in fold(text).split() if w not in _NOISE and not w.isdigit()]
        folded = " " + " ".join(words) + " "
        whole = folded.strip()
        if not whole:
            return None
        for name, found in self._names:
            if name == whole:
                return found
        for name, found in self._names:
            long_enough = " " in name or len(name) > 3
            if long_enough and f" {name} " in folded and name not in self.town_aliases:
                return found
        return None

    def _match_postcode(self, text: str) -> Commune | None:
        for code in re.findall(self.postcode_pattern, text.upper()):
            code = re.sub(r"\s+", "", code)
            if code in self.ambiguous_postcodes:
                continue
            for size in range(len(code), 2, -1):
                found = self._by_postcode.get(code[:size])
                if found:
                    default = self.postcode_defaults.get(code[:size])
                    return self._by_insee.get(default or "") or found[0]
        return None

    def match_town(self, text: str | None) -> Commune | None:
        """The member commune a town or address text names ("Aix", "13100", "ST CHAMAS")."""
        if not text:
            return None
        found = self._match_name(text)
        if found is _OUTSIDE:
            return None
        if isinstance(found, Commune):
            return found
        return self._match_postcode(text)

    def match_venue(self, text: str | None) -> Commune | None:
        """The commune of a known local venue named in ``text`` ("La Coque", "thecamp")."""
        folded = f" {fold(text)} "
        if not folded.strip():
            return None
        for alias, insee in sorted(self.venue_aliases.items(), key=lambda kv: -len(kv[0])):
            if f" {alias} " in folded:
                return self._by_insee.get(insee)
        return None

    def _without_region_phrases(self, folded: str) -> str:
        if self._phrase_pattern is None:
            return folded
        return self._phrase_pattern.sub(" ", folded)

    def find_in_text(self, text: str | None) -> Commune | None:
        """The member commune a free text names (see :meth:`place_in_text`), else None."""
        found = self.place_in_text(text)
        return found if isinstance(found, Commune) else None

    def place_in_text(self, text: str | None) -> Commune | str | None:
        """Where a free text (a title, a description) says an event is.

        For news-style items with no structured place. In order: a known venue alias, then a
        town name (accents and case ignored, whole words; the longest name found wins, so
        "Aix-les-Bains" is not "Aix" and "Aix-en-Provence" beats the "Aix" of a venue name;
        a town known to lie outside the region gives its name), then a postcode of the
        region. Phrases naming the whole region ("French Tech Aix-Marseille") are not towns.
        Returns the member commune, or the name of a town known to lie outside, or None.
        """
        if not text:
            return None
        folded = self._without_region_phrases(fold(text))
        if not folded.strip():
            return None
        if self._venue_pattern is not None:
            venues = [m.group(0) for m in self._venue_pattern.finditer(folded)]
            if venues:
                return self._by_insee.get(self.venue_aliases[max(venues, key=len)])
        if self._text_pattern is not None:
            names = [m.group(0) for m in self._text_pattern.finditer(folded)]
            if names:
                name = max(names, key=len)
                found = self._text_names[name]
                return found if isinstance(found, Commune) else _title_case(name)
        return self._match_postcode(text)

    def strip_place_words(self, folded: str) -> str:
        """A folded text without the region's town names and region phrases (for title keys).

        Town names say where, not what: "Marseille : Kubernetes en production" and
        "Kubernetes en production" name one talk. Returns the text unchanged when nothing
        else would be left.
        """
        text = self._without_region_phrases(folded)
        if self._text_pattern is not None:
            text = self._text_pattern.sub(" ", text)
        stripped = " ".join(text.split())
        return stripped or folded

    def nearest(self, lat: float, lon: float) -> tuple[Commune, float] | None:
        """The commune whose centroid is nearest, and its distance in km."""
        best: tuple[Commune, float] | None = None
        for commune in self.communes:
            km = distance_km(lat, lon, commune.lat, commune.lon)
            if best is None or km < best[1]:
                best = (commune, km)
        return best

    def locate(
        self,
        city: str | None = None,
        postcode: str | None = None,
        lat: float | None = None,
        lon: float | None = None,
        *,
        address: str | None = None,
        venue: str | None = None,
    ) -> Commune | None:
        """The member commune an event takes place in, or None when it is not in the region."""
        for text in (city, address):
            if text:
                found = self._match_name(text)
                if found is _OUTSIDE:
                    return None
                if isinstance(found, Commune):
                    return found
        for text in (venue, address):
            commune = self.match_venue(text)
            if commune:
                return commune
        for text in (postcode, address):
            if text:
                commune = self._match_postcode(text)
                if commune:
                    return commune
        if postcode and postcode.strip() in self.ambiguous_postcodes and lat is None:
            return None
        if _is_number(lat) and _is_number(lon):
            assert lat is not None and lon is not None
            near = self.nearest(lat, lon)
            if near and near[1] <= self.coordinate_margin_km:
                return near[0]
        return None

    def in_region(
        self,
        city: str | None = None,
        postcode: str | None = None,
        lat: float | None = None,
        lon: float | None = None,
    ) -> bool:
        """True when the town, postcode or coordinates place an event in the region."""
        return self.locate(city, postcode, lat, lon) is not None


def _words_pattern(names: Any) -> re.Pattern[str] | None:
    """One regex finding any of these folded names as whole words, longest first."""
    ordered = sorted({n for n in names if n}, key=len, reverse=True)
    if not ordered:
        return None
    alternatives = "|".join(re.escape(n) for n in ordered)
    return re.compile(rf"(?<![0-9a-z])(?:{alternatives})(?![0-9a-z])")


def _title_case(folded: str) -> str:
    small = {"de", "du", "des", "la", "le", "les", "en", "sur", "sous", "d", "l"}
    words = folded.split()
    return "-".join(w if i and w in small else w.capitalize() for i, w in enumerate(words))


def _is_number(value: float | None) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine) in kilometres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(min(1.0, math.sqrt(h)))


def pack_path(name: str) -> Path:
    """The folder of a region pack: a folder path as given, else aggregator/regions/<name>."""
    candidate = Path(name)
    if candidate.is_dir() and (candidate / "region.toml").is_file():
        return candidate
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", name):
        raise ConfigError(f"unknown region {name!r}: {available_regions()}")
    return PACKS / name


def available_regions() -> list[str]:
    """The names of the region packs shipped with the package."""
    return sorted(p.name for p in PACKS.iterdir() if (p / "region.toml").is_file())


@cache
def load_region(name: str) -> Region:
    """Load (once) the region pack called ``name``; ConfigError when it is unknown or broken."""
    folder = pack_path(name)
    toml_path = folder / "region.toml"
    if not toml_path.is_file():
        raise ConfigError(f"unknown region {name!r}; available: {', '.join(available_regions())}")
    try:
        meta = tomllib.loads(toml_path.read_text(encoding="utf-8"))
        communes = _read_communes(folder / meta.get("communes", "communes.csv"))
        zone(meta["timezone"])
    except (tomllib.TOMLDecodeError, KeyError, ValueError, OSError) as exc:
        raise ConfigError(f"region pack {folder} is broken: {exc!r}") from exc
    starter = folder / meta.get("starter_sources", "sources.csv")
    routes = folder / meta.get("routes", "routes.toml")
    return Region(
        name=meta.get("name", folder.name),
        display_name=meta.get("display_name", folder.name),
        timezone=meta["timezone"],
        language=meta.get("language", "en"),
        communes=communes,
        path=folder,
        venue_aliases={fold(k): v for k, v in meta.get("venue_aliases", {}).items()},
        town_aliases={fold(k): v for k, v in meta.get("town_aliases", {}).items()},
        outside_towns=frozenset(fold(t) for t in meta.get("outside_towns", [])),
        ambiguous_postcodes=frozenset(meta.get("ambiguous_postcodes", [])),
        postcode_defaults=dict(meta.get("postcode_defaults", {})),
        postcode_pattern=meta.get("postcode_pattern", r"(?<!\d)\d{5}(?!\d)"),
        coordinate_margin_km=float(meta.get("coordinate_margin_km", 8.0)),
        taxonomy_additions={  # topic -> keywords; "relevance.<list>" -> relevance cue words
            (topic if key == "keywords" else f"{topic}.{key}"): tuple(values)
            for topic, spec in meta.get("taxonomy", {}).items()
            for key, values in spec.items()
            if isinstance(values, list)
        },
        starter_sources_csv=starter if starter.is_file() else None,
        routes_toml=routes if routes.is_file() else None,
        ambiguous_town_aliases=frozenset(fold(t) for t in meta.get("ambiguous_town_aliases", [])),
        region_phrases=tuple(fold(p) for p in meta.get("region_phrases", []) if fold(p)),
        commune_parts={
            str(part): str(whole)
            for whole, parts in meta.get("commune_parts", {}).items()
            for part in parts
        },
        extra_title_words=tuple(meta.get("title_words", [])),
    )


def _read_communes(path: Path) -> tuple[Commune, ...]:
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return tuple(
        Commune(
            insee=row["insee"].strip(),
            name=row["name"].strip(),
            postcodes=tuple(
                re.sub(r"\s+", "", p).upper() for p in row["postcodes"].split(";") if p.strip()
            ),
            lat=float(row["latitude"]),
            lon=float(row["longitude"]),
        )
        for row in rows
    )
