"""``techagenda events``: list, rematch and count the stored events."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer

from aggregator.models import utcnow
from aggregator.read import PublicEvent, public_view
from aggregator.timeutil import local, zone
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
    from aggregator.queries import all_events_with_reasons, event_sources, list_agenda
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
        sources = event_sources(session, [e.id for e, _ in pairs if e.id is not None])
    base = str(settings.base_url)
    views = [
        (public_view(e, base_url=base, sources=sources.get(e.id or 0, [])), reason)
        for e, reason in pairs
    ]
    if as_json:  # the API's keys; --all adds why each event is off the agenda
        echo_json([v.as_json() | ({"excluded": r} if show_all else {}) for v, r in views])
        return
    if not views:
        typer.echo("No events.")
    for view, reason in views:
        where = "en ligne" if view.online else (view.city or "?")
        flag = f"  [{reason}]" if reason else ""
        typer.echo(f"{_when(view):<16}  {view.title[:60]:<60}  {where}{flag}")


def _when(view: PublicEvent) -> str:
    """The local start, ``2026-12-01T18:30`` (the day alone for an all-day event)."""
    if view.all_day or view.start is None:
        return view.start_date.isoformat() if view.start_date else "?"
    return local(view.start, zone(view.timezone, "UTC")).strftime("%Y-%m-%dT%H:%M")


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
