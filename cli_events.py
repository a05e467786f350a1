"""``techagenda events``: list, rematch and count the stored events."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

import typer
from sqlmodel import select

from aggregator.models import utcnow
from cli_support import current, echo_json

events_app = typer.Typer(help="Stored events.", no_args_is_help=True)


@events_app.command("list")
def events_list(
    week: Annotated[str | None, typer.Option(help="ISO week, e.g. 2026-W49")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON array")] = False,
    show_all: Annotated[
        bool, typer.Option("--all", help="Every stored event, with reasons")
    ] = False,
) -> None:
    """List what the public agenda shows (upcoming, in region or online, relevant)."""
    from aggregator.queries import all_events_with_reasons, list_agenda
    from aggregator.regions import load_region
    from cli_digest import week_option

    settings = current().settings
    region = load_region(settings.region)
    now = utcnow()
    if week:
        start, end = week_option(week).bounds(region.tz)
    else:
        start, end = now, now + timedelta(days=365)
    with current().session() as session:
        if show_all:
            pairs = all_events_with_reasons(session, region=region, now=now, settings=settings)
        else:
            pairs = [
                (e, None)
                for e in list_agenda(
                    session, region=region, start=start, end=end, settings=settings
                )
            ]
        feeds, pages = _feeds_and_pages(session, [e.id for e, _ in pairs if e.id is not None])
    rows = [
        _event_json(e, feeds.get(e.id or 0, []), reason) | {"links": pages.get(e.id or 0, [])}
        for e, reason in pairs
    ]
    if as_json:
        if not show_all:
            for row in rows:
                row.pop("excluded", None)
        echo_json(rows)
        return
    if not rows:
        typer.echo("No events.")
    for row in rows:
        where = "en ligne" if row["online"] else (row["city"] or "?")
        flag = f"  [{row['excluded']}]" if row.get("excluded") else ""
        typer.echo(f"{row['start'][:16]:<16}  {row['title'][:60]:<60}  {where}{flag}")


def _feeds_and_pages(
    session: Any, ids: list[int]
) -> tuple[dict[int, list[str]], dict[int, list[str]]]:
    """Per event: the feed URL of every source carrying it, and each source's event page."""
    from sqlmodel import col

    from aggregator.models import EventLink, Source

    feeds: dict[int, list[str]] = {}
    pages: dict[int, list[str]] = {}
    for i in range(0, len(ids), 500):
        rows = session.exec(
            select(EventLink.event_id, EventLink.url, Source.url)
            .join(Source, col(Source.id) == col(EventLink.source_id))
            .where(col(EventLink.event_id).in_(ids[i : i + 500]))
            .order_by(col(EventLink.event_id), col(EventLink.id))
        ).all()
        for event_id, page, feed in rows:
            for found, url in ((feeds, feed), (pages, page)):
                if url and url not in found.setdefault(event_id, []):
                    found[event_id].append(url)
    return feeds, pages


def _event_json(event: Any, sources: list[str], reason: str | None) -> dict[str, Any]:
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(event.timezone or "UTC")

    def iso(value: Any) -> str | None:
        if value is None:
            return None
        if isinstance(value, datetime):
            value = value.astimezone(zone)
        return str(value.isoformat())

    start = iso(event.start_date) if event.all_day else iso(event.start)
    end = iso(event.end_date) if event.all_day else iso(event.end)
    return {
        "id": event.id,
        "title": event.title,
        "start": start or "",
        "end": end,
        "all_day": event.all_day,
        "timezone": event.timezone,
        "status": event.status,
        "venue": event.venue,
        "city": event.city,
        "online": event.online,
        "url": event.url,
        "topics": list(event.topics or []),
        "sources": sources,
        "excluded": reason,
    }


@events_app.command("rematch")
def events_rematch(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Score every pair of stored listings again: fuse events that are one, queue the
    possible duplicates for the admin (order-independent; never splits)."""
    from aggregator.duplicates import rematch_store

    with current().session() as session:
        stats = rematch_store(session, now=utcnow())
        session.commit()
    data = {
        "listings": stats.listings,
        "fused": stats.fused,
        "queued": stats.reviews,
        "fusions": [list(f) for f in stats.fusions],
    }
    if as_json:
        echo_json(data)
        return
    typer.echo(
        f"{stats.listings} listings scored; {stats.fused} events fused into others; "
        f"{stats.reviews} possible duplicates queued for review"
    )


@events_app.command("stats")
def events_stats(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Per source: events, in-region share, online share, duplicates merged, warnings."""
    from aggregator.queries import source_stats

    with current().session() as session:
        stats = source_stats(session)
    if as_json:
        echo_json(stats)
        return
    for row in stats:
        typer.echo("  ".join(f"{k}={v}" for k, v in row.items()))
