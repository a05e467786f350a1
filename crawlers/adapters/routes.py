"""A source's extraction as data: the typed shape of a region pack's ``routes.toml``.

Each ``[[source]]`` table names a starter source (its ``name`` in ``sources.csv``) and
says how it is read: an ``adapter`` with its ``url`` (plus ``paging`` and a ``keep``
filter when needed), or ``unreadable = "<why>"``. A ``css`` route carries a
:class:`CssSchema` (selectors for the card list, title, date text, venue, link, and an
optional ``follow`` step reading the event's own page). A ``manual`` route names a spider
class registered in ``crawlers/spiders/``.

:func:`parse_routes` is pure (a dict in, routes out) and raises
:class:`~aggregator.errors.ConfigError` naming the table and the key at fault;
:func:`load_routes` reads the file. :meth:`Route.to_json` / :meth:`Route.from_json` are
what a ``Source.route`` column holds.
"""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from aggregator.errors import ConfigError

ADAPTERS = (
    "ical", "feed", "schemaorg", "openagenda", "tec", "wp-rest", "bevy", "meetup",
    "developers-events", "css", "manual",
)  # fmt: skip
UNREADABLE = "unreadable"
_MAX_PAGES = 20


@dataclass(frozen=True, slots=True)
class Paging:
    """Pages of one listing: ``param`` takes ``first``, ``first + step``... (``pages`` of them)."""

    param: str
    first: int = 1
    step: int = 1
    pages: int = 1

    def urls(self, url: str) -> list[str]:
        """The URL of each page, the first one included."""
        parts = urlsplit(url)
        query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                 if k != self.param]  # fmt: skip
        out = []
        for n in range(self.pages):
            value = str(self.first + n * self.step)
            out.append(urlunsplit(parts._replace(query=urlencode([*query, (self.param, value)]))))
        return out


@dataclass(frozen=True, slots=True)
class FollowStep:
    """Read each card's link; the event page's values win over the card's (when found)."""

    title: str | None = None
    date: str | None = None
    time: str | None = None
    venue: str | None = None
    description: str | None = None


@dataclass(frozen=True, slots=True)
class CssSchema:
    """Selectors (parsel CSS, with ``::text`` / ``::attr(name)``) for an HTML listing.

    ``items`` selects one node per event card; every other selector is relative to a card.
    ``date`` is ISO 8601 or prose in ``language`` (read by ``crawlers.parsers.textdates``);
    ``time`` adds a clock when the date text has none."""

    items: str
    title: str
    date: str
    link: str | None = None
    time: str | None = None
    end: str | None = None
    venue: str | None = None
    description: str | None = None
    image: str | None = None
    language: str = "fr"
    follow: FollowStep | None = None


@dataclass(frozen=True, slots=True)
class Keep:
    """Keep only some events of a shared document (a conference list, all WordCamps)."""

    cities: tuple[str, ...] = ()  # the event's city (or venue/title) names one of these
    titles: tuple[str, ...] = ()  # the title contains one of these (case-insensitive)


@dataclass(frozen=True, slots=True)
class Route:
    """How one source is read, or why it cannot be."""

    name: str
    adapter: str | None
    url: str | None = None
    urls: tuple[str, ...] = ()  # further documents read like ``url``
    paging: Paging | None = None
    css: CssSchema | None = None
    keep: Keep | None = None
    spider: str | None = None  # the ``manual`` adapter's spider name
    unreadable: str | None = None
    page_url: str | None = None  # corrected home page (e.g. a new domain)
    confidence: str | None = None
    evidence: str | None = None
    fixture: str | None = None  # name of its captured-shape file in tests/data/sites/
    headers: dict[str, str] = field(default_factory=dict)
    # For documents with no fixed shape (WordPress wp/v2 items): RawEvent field → dotted
    # path in an item, handed to the parsers as ``SourceDefaults.mapping``.
    mapping: dict[str, str] = field(default_factory=dict)

    @property
    def readable(self) -> bool:
        return self.adapter is not None

    @property
    def follows(self) -> bool:
        return self.css is not None and self.css.follow is not None

    def start_urls(self) -> list[str]:
        """Every document of one crawl: each page of ``url``, then ``urls``."""
        if self.url is None:
            return []
        first = self.paging.urls(self.url) if self.paging else [self.url]
        return list(dict.fromkeys([*first, *self.urls]))

    def describe(self) -> str:
        """One line for ``sources list``: the adapter, or the reason it has none."""
        if self.adapter is None:
            return f"unreadable: {self.unreadable}"
        if self.adapter == "manual" and self.spider:
            return f"manual ({self.spider})"  # the spider class in crawlers/spiders/
        return self.adapter

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in data.items()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Route:
        return parse_route(_without_none(data), where="stored route")


def _without_none(data: dict[str, Any]) -> dict[str, Any]:
    return {
        k: _without_none(v) if isinstance(v, dict) else v for k, v in data.items() if v is not None
    }


# ------------------------------------------------------------------ parsing


def load_routes(path: Path) -> list[Route]:
    """The routes of a ``routes.toml``; ConfigError when it is missing or invalid."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    return parse_routes(data, where=str(path))


def parse_routes(data: dict[str, Any], *, where: str = "routes") -> list[Route]:
    """Routes from the parsed TOML (``[[source]]`` tables); names must be unique."""
    tables = data.get("source", [])
    if not isinstance(tables, list):
        raise ConfigError(f"{where}: expected [[source]] tables")
    routes: list[Route] = []
    seen: set[str] = set()
    for index, table in enumerate(tables, start=1):
        label = f"{where}: source #{index}"
        if not isinstance(table, dict):
            raise ConfigError(f"{label}: expected a table")
        route = parse_route(table, where=label)
        if route.name in seen:
            raise ConfigError(f"{label}: name {route.name!r} given twice")
        seen.add(route.name)
        routes.append(route)
    return routes


_KEYS = {
    "name", "adapter", "url", "urls", "paging", "css", "keep", "spider", "unreadable",
    "page_url", "confidence", "evidence", "fixture", "headers", "mapping",
}  # fmt: skip


def parse_route(table: dict[str, Any], *, where: str) -> Route:
    """One route from its table; ConfigError saying which key is wrong."""
    name = table.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{where}: 'name' is required (the source's name in sources.csv)")
    label = f"{where} ({name})"
    unknown = sorted(set(table) - _KEYS)
    if unknown:
        raise ConfigError(f"{label}: unknown key(s) {', '.join(unknown)}")
    adapter = table.get("adapter")
    unreadable = table.get("unreadable")
    if adapter is None and unreadable is None:
        raise ConfigError(f"{label}: give an 'adapter' or 'unreadable = \"<why>\"'")
    if adapter is not None and unreadable is not None:
        raise ConfigError(f"{label}: 'adapter' and 'unreadable' exclude each other")
    if unreadable is not None and (not isinstance(unreadable, str) or not unreadable.strip()):
        raise ConfigError(f"{label}: 'unreadable' must say why")
    if adapter is not None and adapter not in ADAPTERS:
        raise ConfigError(f"{label}: unknown adapter {adapter!r} (known: {', '.join(ADAPTERS)})")
    url = _url(table.get("url"), label, "url")
    if adapter is not None and adapter != "manual" and url is None:
        raise ConfigError(f"{label}: adapter {adapter!r} needs a 'url'")
    css = _css(table.get("css"), label) if "css" in table else None
    if adapter == "css" and css is None:
        raise ConfigError(f"{label}: a css route needs a [source.css] schema")
    if css is not None and adapter != "css":
        raise ConfigError(f"{label}: [source.css] is only for adapter = 'css'")
    spider = table.get("spider")
    if adapter == "manual" and not (isinstance(spider, str) and spider):
        raise ConfigError(f"{label}: a manual route names its 'spider' (crawlers/spiders/)")
    return Route(
        name=name.strip(),
        adapter=adapter,
        url=url,
        urls=tuple(_url(u, label, "urls") or "" for u in _list(table.get("urls"), label, "urls")),
        paging=_paging(table.get("paging"), label) if "paging" in table else None,
        css=css,
        keep=_keep(table.get("keep"), label) if "keep" in table else None,
        spider=spider if isinstance(spider, str) else None,
        unreadable=unreadable.strip() if isinstance(unreadable, str) else None,
        page_url=_url(table.get("page_url"), label, "page_url"),
        confidence=_text(table.get("confidence"), label, "confidence"),
        evidence=_text(table.get("evidence"), label, "evidence"),
        fixture=_text(table.get("fixture"), label, "fixture"),
        headers=_headers(table.get("headers"), label),
        mapping=_headers(table.get("mapping"), label, key="mapping"),
    )


def _text(value: Any, label: str, key: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigError(f"{label}: '{key}' must be text")
    return value


def _url(value: Any, label: str, key: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or urlsplit(value).scheme not in ("http", "https"):
        raise ConfigError(f"{label}: '{key}' must be an http(s) URL, not {value!r}")
    return value


def _list(value: Any, label: str, key: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{label}: '{key}' must be a list of text")
    return list(value)


def _headers(value: Any, label: str, *, key: str = "headers") -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ConfigError(f"{label}: '{key}' must map names to text")
    return dict(value)


def _int(table: dict[str, Any], key: str, default: int, label: str, low: int) -> int:
    value = table.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise ConfigError(f"{label}: paging '{key}' must be a whole number ≥ {low}")
    return value


def _paging(value: Any, label: str) -> Paging:
    if not isinstance(value, dict) or not isinstance(value.get("param"), str):
        raise ConfigError(f"{label}: paging needs a 'param' (the query parameter that pages)")
    pages = _int(value, "pages", 1, label, 1)
    if pages > _MAX_PAGES:
        raise ConfigError(f"{label}: paging 'pages' must be at most {_MAX_PAGES}")
    return Paging(
        param=value["param"],
        first=_int(value, "first", 1, label, 0),
        step=_int(value, "step", 1, label, 1),
        pages=pages,
    )


def _selector(table: dict[str, Any], key: str, label: str, *, required: bool) -> str | None:
    value = table.get(key)
    if value is None:
        if required:
            raise ConfigError(f"{label}: css schema needs '{key}'")
        return None
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{label}: css '{key}' must be a selector")
    from parsel import Selector  # validate the selector now, not at crawl time

    try:
        Selector(text="<html></html>").css(value)
    except Exception as exc:  # cssselect raises several kinds
        raise ConfigError(f"{label}: css '{key}' is not a valid selector: {exc}") from exc
    return value


def _css(value: Any, label: str) -> CssSchema:
    if not isinstance(value, dict):
        raise ConfigError(f"{label}: [source.css] must be a table")
    known = {"items", "title", "date", "link", "time", "end", "venue", "description", "image",
             "language", "follow"}  # fmt: skip
    unknown = sorted(set(value) - known)
    if unknown:
        raise ConfigError(f"{label}: unknown css key(s) {', '.join(unknown)}")
    language = value.get("language", "fr")
    if language not in ("fr", "en"):
        raise ConfigError(f"{label}: css 'language' must be 'fr' or 'en' (prose dates)")
    follow = None
    if "follow" in value:
        step = value["follow"]
        if not isinstance(step, dict) or not step:
            raise ConfigError(f"{label}: css 'follow' must be a table of selectors")
        bad = sorted(set(step) - {"title", "date", "time", "venue", "description"})
        if bad:
            raise ConfigError(f"{label}: unknown css follow key(s) {', '.join(bad)}")
        follow = FollowStep(**{k: _selector(step, k, label, required=False) for k in step})
    return CssSchema(
        items=_selector(value, "items", label, required=True) or "",
        title=_selector(value, "title", label, required=True) or "",
        date=_selector(value, "date", label, required=True) or "",
        link=_selector(value, "link", label, required=False),
        time=_selector(value, "time", label, required=False),
        end=_selector(value, "end", label, required=False),
        venue=_selector(value, "venue", label, required=False),
        description=_selector(value, "description", label, required=False),
        image=_selector(value, "image", label, required=False),
        language=language,
        follow=follow,
    )


def _keep(value: Any, label: str) -> Keep:
    if not isinstance(value, dict):
        raise ConfigError(f"{label}: 'keep' must be a table (cities, titles)")
    return Keep(
        cities=tuple(_list(value.get("cities"), label, "keep.cities")),
        titles=tuple(_list(value.get("titles"), label, "keep.titles")),
    )
