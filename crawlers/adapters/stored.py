"""Routes on Source rows: apply a pack's routes at import, read a source's route back,
and re-run it against a saved page (``techagenda sources test``, :func:`try_route`).

The store's edge for :mod:`crawlers.adapters.routes`: ``Source.adapter`` holds the
adapter's name (``None`` when unreadable) and ``Source.route`` the whole route as JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlmodel import Session, select

from aggregator.errors import ConfigError, InvalidInputError, NotFoundError
from aggregator.ingest import source_defaults
from aggregator.models import Source
from aggregator.regions import load_region
from aggregator.settings import Settings
from aggregator.sources import find_source
from crawlers.adapters import read_route
from crawlers.adapters.routes import Route
from crawlers.document import Fetched, Reading
from crawlers.extract import read_target


@dataclass
class RoutesReport:
    """What applying a pack's routes did."""

    routed: int = 0  # sources given an adapter
    unreadable: int = 0  # sources given a reason instead
    moved: list[str] = field(default_factory=list)  # sources whose URL the route corrected
    unmatched: list[str] = field(default_factory=list)  # routes naming no stored source
    conflicts: list[str] = field(default_factory=list)  # corrected URL already another source's

    def __str__(self) -> str:
        return (
            f"{self.routed} with an adapter, {self.unreadable} unreadable (with the reason), "
            f"{len(self.moved)} URL(s) corrected"
        )


def apply_routes(session: Session, routes: list[Route]) -> RoutesReport:
    """Record each route on the source of that name; a route's URL replaces the stored one
    (the corrected URL of a moved feed). Running it twice changes nothing more."""
    report = RoutesReport()
    for route in routes:
        source = session.exec(select(Source).where(Source.name == route.name)).first()
        if source is None:
            report.unmatched.append(route.name)
            continue
        source.adapter = route.adapter
        source.route = route.to_json()
        if route.spider:
            source.spider = route.spider
        if route.page_url:
            source.page_url = route.page_url
        if route.url and route.url != source.url:
            other = find_source(session, route.url)
            if other is not None and other.id != source.id:
                report.conflicts.append(f"{route.name}: {route.url} is source {other.id}")
            else:
                source.page_url = source.page_url or source.url  # the import still finds it
                source.url = route.url
                source.etag = source.last_modified = None
                if source.last_error and source.last_error.startswith("no URL known yet"):
                    source.last_error = None
                report.moved.append(route.name)
        if route.readable:
            report.routed += 1
        else:
            report.unreadable += 1
        session.add(source)
        session.flush()
    return report


def route_of(source: Source) -> Route | None:
    """The route stored on a source (``None`` when it has none)."""
    if not source.route:
        return None
    try:
        return Route.from_json(source.route)
    except ConfigError as exc:  # names the key: fix it in the pack and import again
        raise ConfigError(
            f"source {source.id} ({source.name}): stored route is broken: {exc}"
        ) from exc


def describe_route(source: Source) -> str:
    """``sources list``'s column: the adapter, or why the source cannot be read."""
    route = route_of(source)
    if route is None:
        return source.adapter or "-"
    return route.describe()


def try_route(
    session: Session,
    settings: Settings,
    source_id: int,
    *,
    page: Path | None,
    now: datetime,
) -> tuple[Source, Reading]:
    """Re-run a source's route against a saved page (else its live URL): what it finds now.

    Nothing is stored. Raises NotFoundError for an unknown source or page, InvalidInputError
    for a source that has neither a route nor a URL."""
    source = session.get(Source, source_id)
    if source is None:
        raise NotFoundError(f"no source {source_id}")
    route = route_of(source)
    if route is not None and not route.readable:
        raise InvalidInputError(f"source {source_id} is unreadable: {route.unreadable}")
    url = (route.url if route else None) or source.url
    if page is None and not url:
        raise InvalidInputError(f"source {source_id} ({source.name}) has no URL: give --page")
    if page is not None and not page.is_file():
        raise NotFoundError(f"no such file: {page}")
    body, final_url, headers = read_target(str(page) if page else url or "", settings)
    if page is not None and url:
        final_url = url  # links on a saved page resolve against the site, as in a crawl
    region = load_region(settings.region)
    base = source_defaults(source, region)
    defaults = type(base)(
        timezone=base.timezone,
        language=base.language,
        city=base.city,
        window_start=now - timedelta(days=settings.crawl_window_past_days),
        window_end=now + timedelta(days=settings.crawl_window_future_days),
    )
    reading = read_route(Fetched(body, final_url, headers), defaults, route=route, region=region)
    return source, reading
