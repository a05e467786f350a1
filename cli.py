"""The ``techagenda`` command: thin Typer wrappers over the packages' Python API.

Every command reads the same settings (environment, then ``techagenda.toml``). Errors are
turned into one-line messages and exit codes in one place, :func:`main`:

    0 ok · 1 other error · 2 usage · 3 configuration · 4 not found · 5 source (fetch/parse)
    6 database · 7 mail
"""

from __future__ import annotations

import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer
from sqlmodel import Session, select

from aggregator import errors
from aggregator.db import make_engine, upgrade
from aggregator.models import Source, utcnow
from cli_digest import digest_app
from cli_events import events_app
from cli_subscribers import subscribers_app
from cli_support import Context, current, echo_rows, reset

if TYPE_CHECKING:
    from crawlers.adapters.routes import Route

EXIT_CODES: list[tuple[type[Exception], int]] = [
    (errors.ConfigError, 3),
    (errors.NotFoundError, 4),
    (errors.SourceError, 5),
    (errors.StoreError, 6),
    (errors.MailError, 7),
    (errors.TechagendaError, 1),
]

app = typer.Typer(
    help="techagenda: local tech events gathered from the open web, mailed weekly.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
sources_app = typer.Typer(help="Event sources: add, import, check, approve.", no_args_is_help=True)
admin_app = typer.Typer(help="Web admin accounts.", no_args_is_help=True)
for sub, name in [
    (db_app, "db"),
    (sources_app, "sources"),
    (events_app, "events"),
    (subscribers_app, "subscribers"),
    (digest_app, "digest"),
    (admin_app, "admin"),
]:
    app.add_typer(sub, name=name)


class _Current:
    """``ctx``: the context of the command being run (``cli_support.current()``)."""

    def __getattr__(self, name: str) -> Any:
        return getattr(current(), name)


ctx = cast(Context, _Current())


@app.callback()
def _fresh_context() -> None:
    """Each invocation reads the settings anew (tests run many in one process)."""
    reset()


def _day(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise typer.BadParameter(f"expected YYYY-MM-DD, got {text!r}", param_hint=option) from exc


# ---------------------------------------------------------------- init / db


@app.command()
def init(
    region: Annotated[str | None, typer.Option(help="Region pack, e.g. aix-marseille")] = None,
    import_starter: Annotated[
        bool | None,
        typer.Option("--import-sources/--no-import-sources", help="Import the starter sources"),
    ] = None,
) -> None:
    """Create the data dir, the secret key and the database schema."""
    from aggregator.regions import load_region
    from aggregator.sources import import_sources_csv

    settings = ctx.settings
    if region:
        settings.region = region
    pack = load_region(settings.region)
    _ = ctx.engine
    typer.echo(f"Database ready: {settings.db_url}")
    typer.echo(f"Region: {pack.display_name} ({pack.timezone})")
    starter = getattr(pack, "starter_sources", None)
    if starter and Path(starter).is_file():
        if import_starter is None:
            import_starter = sys.stdin.isatty() and typer.confirm(
                f"Import the {pack.display_name} starter sources (pending approval)?", default=True
            )
        if import_starter:
            with ctx.session() as session:
                report = import_sources_csv(
                    session, Path(starter), now=utcnow(), default_zone=pack.timezone
                )
                routed = _apply_pack_routes(session, pack.routes)
            typer.echo(
                f"Starter sources: {report.added} added (pending approval), "
                f"{report.skipped} already present."
            )
            if routed:
                typer.echo(f"  Routes: {routed}")
            if report.without_url:
                typer.echo(
                    f"  {report.without_url} of them have no URL yet: "
                    "`techagenda sources set-url ID URL` before approving."
                )


def _apply_pack_routes(session: Session, routes_file: Path | None) -> str:
    """Record the pack's routes (routes.toml) on the starter sources; a summary line."""
    if routes_file is None:
        return ""
    from crawlers.adapters.routes import load_routes
    from crawlers.adapters.stored import apply_routes

    report = apply_routes(session, load_routes(routes_file))
    notes = [str(report), *(f"not applied: {c}" for c in report.conflicts)]
    return "; ".join(notes)


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Apply the schema migrations (Alembic) up to REVISION."""
    upgrade(make_engine(ctx.settings.db_url), revision)
    typer.echo(f"Database at {revision}: {ctx.settings.db_url}")


# ---------------------------------------------------------------- sources


@sources_app.command("add")
def sources_add(
    url: str,
    name: Annotated[str | None, typer.Option(help="Display name")] = None,
    timezone: Annotated[str | None, typer.Option(help="Default IANA timezone")] = None,
    scope: Annotated[
        str, typer.Option(help="tech: every event is relevant unless off topic; mixed: each earns it")
    ] = "tech",
) -> None:
    """Add a source as an admin: approved at once (scope tech unless told otherwise)."""
    from aggregator.regions import load_region
    from aggregator.service import add_source

    _check_url(url)
    if timezone:
        _check_timezone(timezone)
    scope = _check_scope(scope) or "tech"
    region_zone = load_region(ctx.settings.region).timezone
    with ctx.session() as session:
        source = add_source(session, url, name=name, timezone=timezone, scope=scope,
                            default_zone=region_zone, now=utcnow())  # fmt: skip
        typer.echo(
            f"Source {source.id}: {source.name} <{source.url}> ({source.state}, {source.scope})"
        )


@sources_app.command("list")
def sources_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """List the sources with their state, how each is read (adapter or why not) and health."""
    from crawlers.adapters.stored import describe_route

    with ctx.session() as session:
        rows = session.exec(select(Source).order_by(Source.id)).all()  # type: ignore[arg-type]
        data = [
            {
                "id": s.id,
                "name": s.name,
                "url": s.url,
                "state": s.state,
                "scope": s.scope,
                "adapter": describe_route(s),
                "suspect": s.suspect_reason if s.suspect else None,
                "format": s.detected_format,
                "last_success": s.last_success_at,
                "failures": s.consecutive_failures,
                "last_error": s.last_error,
            }
            for s in rows
        ]
    echo_rows(
        data,
        as_json=as_json,
        empty="No sources yet: `techagenda sources add URL` or `sources import FILE.csv`.",
        lines=_source_lines,
    )


def _source_lines(row: dict[str, Any]) -> list[str]:
    health = f"{row['failures']} failures: {row['last_error']}" if row["failures"] else "ok"
    if row["suspect"]:
        health = f"suspect: {row['suspect']}"
    return [
        f"{row['id']:>4}  {row['state']:<9} {row['format'] or '-':<10} "
        f"{str(row['name'])[:40]:<40}  {row['url'] or '(no URL yet)'}  [{health}]",
        f"      read by: {row['adapter']}",
    ]


@sources_app.command("test")
def sources_test(
    source_id: int,
    page: Annotated[
        Path | None, typer.Option(help="A saved page to read instead of fetching the source")
    ] = None,
) -> None:
    """Re-run a source's route (css selectors, adapter) on a saved page and print what it
    finds, to fix a broken selector. Nothing is stored."""
    from aggregator.regions import load_region
    from crawlers.adapters.stored import describe_route, route_of, try_route
    from crawlers.check import manual_route_note

    with ctx.session() as session:
        source, reading = try_route(session, ctx.settings, source_id, page=page, now=utcnow())
        typer.echo(f"Source {source.id}: {source.name} — read by: {describe_route(source)}")
        note = manual_route_note(route_of(source), source.id)
    typer.echo(f"Read as: {reading.platform}; events: {len(reading.events)}")
    for event in reading.events:
        where = event.venue or event.city or ""
        typer.echo(f"  {str(event.start)[:16]:<16}  {event.title[:60]:<60}  {where}")
    for link in reading.links:
        typer.echo(f"  follows: {link}")
    for warning in reading.warnings:
        typer.echo(f"  warning: {warning}")
    if note is not None:
        typer.echo(f"  note: {note.message(load_region(ctx.settings.region).language)}")


@sources_app.command("import")
def sources_import(
    path: Path,
    scope: Annotated[
        str | None, typer.Option(help="Scope of rows without a scope column: tech or mixed")
    ] = None,
) -> None:
    """Import sources from a CSV (name, town, kind, page_url, feed_url, scope) as pending."""
    from aggregator.regions import load_region
    from aggregator.sources import import_sources_csv

    default = _check_scope(scope)
    if not path.is_file():
        raise errors.NotFoundError(f"no such file: {path}")
    region_zone = load_region(ctx.settings.region).timezone
    with ctx.session() as session:
        report = import_sources_csv(
            session, path, now=utcnow(), default_scope=default, default_zone=region_zone
        )
    typer.echo(
        f"{report.added} added, {report.skipped} already present, {len(report.invalid)} invalid"
    )
    if report.without_url:
        typer.echo(f"  {report.without_url} added without a URL: `sources set-url ID URL` first")
    for row, reason in report.invalid:
        typer.echo(f"  row {row}: {reason}")


def _set_state(source_id: int, state: str) -> None:
    from aggregator.sources import set_source_state

    with ctx.session() as session:
        source = set_source_state(session, source_id, state)
        typer.echo(f"Source {source.id}: {source.name} is now {source.state}")


@sources_app.command("set-url")
def sources_set_url(source_id: int, url: str) -> None:
    """Give a source its feed or page URL (a starter source may have none yet)."""
    from aggregator.sources import set_source_url

    _check_url(url)
    with ctx.session() as session:
        source = set_source_url(session, source_id, url)
        typer.echo(f"Source {source.id}: {source.name} <{source.url}> ({source.state})")


@sources_app.command("approve")
def sources_approve(source_id: int) -> None:
    """Approve a pending source: it is crawled from now on."""
    _set_state(source_id, "approved")


@sources_app.command("reject")
def sources_reject(source_id: int) -> None:
    """Reject a source: it is never crawled."""
    _set_state(source_id, "rejected")


@sources_app.command("check")
def sources_check(source_id: int) -> None:
    """Fetch a source once, report its format, upcoming events and warnings, and record it."""
    from aggregator.regions import load_region
    from aggregator.relevance import effective_scope, propose_scope
    from aggregator.service import check_source
    from aggregator.topics import load_taxonomy
    from crawlers.check import check_source as check

    with ctx.session() as session:
        report = check_source(session, ctx.settings, source_id, check=check, now=utcnow())
        source = session.get(Source, source_id)
        scope = effective_scope(source.scope, source.kind) if source else "tech"
    typer.echo(f"Format: {report.format or '-'}; upcoming events: {report.upcoming}")
    if report.events:
        taxonomy = load_taxonomy(load_region(ctx.settings.region))
        proposal = propose_scope(
            ((e.title, e.description, tuple(e.categories)) for e in report.events), taxonomy
        )
        change = "" if proposal.scope == scope else f" (now {scope}: admin page to change)"
        typer.echo(f"{proposal}{change}")
    for warning in report.warnings:
        typer.echo(f"  warning: {warning}")
    if report.error:
        raise errors.SourceError(report.error, source_id=source_id)


# ---------------------------------------------------------------- crawl


@app.command()
def crawl(
    source: Annotated[
        int | None, typer.Option("--source", help="Crawl only this source ID")
    ] = None,
    worker: Annotated[bool, typer.Option(help="Run as a shared-queue worker (REDIS_URL)")] = False,
) -> None:
    """Crawl the approved sources (or one) in a child Scrapy process, then ingest."""
    from crawlers.run import run_crawl

    if worker:
        from crawlers.queue import run_worker

        run_worker(ctx.settings)
        return
    from aggregator import service

    ids = None if source is None else [source]
    result = service.crawl(ctx.engine, ctx.settings, ids, "cli", run=run_crawl)
    if result.run is None:
        if result.busy:
            raise errors.TechagendaError("another crawl of these sources is running; try later")
        raise errors.SourceError(result.error or "the crawl could not run")
    run = result.run
    stats = run.stats or {}
    typer.echo(f"Crawl {run.id}: {run.status}")
    for key in (
        "sources",
        "fetched",
        "not_modified",
        "failed",
        "found",
        "new",
        "updated",
        "merged",
        "cancelled",
    ):
        if key in stats:
            typer.echo(f"  {key}: {stats[key]}")
    if run.status != "done":
        raise errors.SourceError(run.error or "crawl failed")


# ---------------------------------------------------------------- serve / scheduler / admin


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Bind address")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port")] = 8000,
    workers: Annotated[
        int,
        typer.Option(
            min=0, envvar="WEB_WORKERS", help="Worker processes; 0: one per core (the default)"
        ),
    ] = 0,
) -> None:
    """Run the web app (public agenda, subscriber pages, organizer submission, admin)."""
    from web.app import default_workers, run

    _ = ctx.engine
    run(ctx.settings, host=host, port=port, workers=workers or default_workers())


@app.command("scheduler")
def scheduler_cmd(
    list_jobs: Annotated[
        bool, typer.Option("--list", help="Print jobs and next run times")
    ] = False,
) -> None:
    """Run the scheduler: due crawls, admin-queued crawls, the weekly digest."""
    import scheduler

    _ = ctx.engine
    if list_jobs:
        for job_id, trigger, next_run in scheduler.list_jobs(ctx.settings):
            typer.echo(f"{job_id:<22} {next_run!s:<28} {trigger}")
        return
    scheduler.run_scheduler(ctx.settings)


@admin_app.command("create")
def admin_create(
    username: str,
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
) -> None:
    """Create a web admin account (password hashed with argon2)."""
    from aggregator.admins import create_admin

    with ctx.session() as session:
        admin = create_admin(session, username, password, now=utcnow())
        typer.echo(f"Admin {admin.id}: {username}")


# ---------------------------------------------------------------- extract / demo


@app.command()
def extract(
    target: Annotated[str, typer.Argument(metavar="PATH_OR_URL")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON array")] = False,
    timezone: Annotated[str | None, typer.Option(help="Timezone for floating times")] = None,
    date_from: Annotated[str | None, typer.Option("--from", help="YYYY-MM-DD")] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="YYYY-MM-DD")] = None,
    route_of: Annotated[
        str | None, typer.Option("--route-of", help="Read it with this pack source's route")
    ] = None,
    source_id: Annotated[
        int | None, typer.Option("--source", help="Read it with the route of source ID")
    ] = None,
) -> None:
    """Detect the format of one file or URL and print the events found (no database), or
    read it the way a source's route says (``--route-of NAME`` in the region pack, or
    ``--source ID`` stored), as the crawl and ``sources test`` do."""
    from aggregator.raw import SourceDefaults
    from crawlers.adapters import read_route, route_reader
    from crawlers.extract import event_to_json, extract_target

    settings = ctx.settings
    if timezone:
        _check_timezone(timezone)
    tz = settings.tz
    now = datetime.now(tz)
    start_day, end_day = _day(date_from, "--from"), _day(date_to, "--to")
    window_start = (
        datetime.combine(start_day, datetime.min.time(), tzinfo=tz)
        if start_day
        else now - timedelta(days=settings.crawl_window_past_days)
    )
    window_end = (
        datetime.combine(end_day + timedelta(days=1), datetime.min.time(), tzinfo=tz)
        if end_day
        else now + timedelta(days=settings.crawl_window_future_days)
    )
    if "://" not in target and not Path(target).is_file():
        raise errors.NotFoundError(f"no such file: {target}")
    defaults = SourceDefaults(timezone=timezone, window_start=window_start, window_end=window_end)
    route = _extract_route(route_of, source_id)
    if route is not None:
        typer.echo(f"route: {route.name} ({route.describe()})", err=True)
    extraction = extract_target(
        target, settings, defaults=defaults, window_start=window_start, window_end=window_end,
        reader=route_reader(route),
        card_reader=(lambda f, d, c: read_route(f, d, route=route, card=c)) if route else None,
    )  # fmt: skip
    typer.echo(f"platform: {extraction.platform} ({extraction.pages} document(s) read)", err=True)
    for warning in extraction.warnings:
        typer.echo(f"warning: {warning}", err=True)
    rows = [event_to_json(e) for e in extraction.events]
    echo_rows(rows, as_json=as_json, empty="No events found.", lines=_extracted_lines)


def _extracted_lines(row: dict[str, Any]) -> list[str]:
    where = "online" if row["online"] else (row["city"] or row["venue"] or "?")
    return [
        f"{str(row['start'])[:16]:<16}  {row['title'][:60]:<60}  {where}  [{row['source_format']}]"
    ]


def _extract_route(name: str | None, source_id: int | None) -> Route | None:
    """The route ``extract`` reads with: a pack source's by name, or a stored source's."""
    from aggregator.regions import load_region
    from crawlers.adapters.routes import load_routes
    from crawlers.adapters.stored import route_of
    from crawlers.extract import find_route

    if name is not None and source_id is not None:
        raise typer.BadParameter("give --route-of or --source, not both", param_hint="--source")
    if name is not None:
        routes_file = load_region(ctx.settings.region).routes
        if routes_file is None:
            raise errors.ConfigError(f"region {ctx.settings.region!r} has no routes.toml")
        return find_route(load_routes(routes_file), name)
    if source_id is None:
        return None
    with ctx.session() as session:
        source = session.get(Source, source_id)
        if source is None:
            raise errors.NotFoundError(f"no source {source_id}")
        route = route_of(source)
    if route is None:
        raise errors.InvalidInputError(f"source {source_id} has no route: import the pack")
    return find_route([route], route.name)  # says why an unreadable one is


@app.command()
def demo(
    port: Annotated[int, typer.Option(help="Loopback port serving the demo sources")] = 8751,
) -> None:
    """Run the whole job on the demo dataset: crawl, ingest, digest to the outbox."""
    from demo.run import run_demo

    run_demo(ctx.settings, port=port, echo=typer.echo)


# ---------------------------------------------------------------- helpers and entry


def _check_url(url: str) -> None:
    if not url.startswith(("http://", "https://", "file://")):
        raise typer.BadParameter(f"{url!r} is not an http(s) URL", param_hint="URL")


def _check_scope(value: str | None) -> str | None:
    from aggregator.relevance import check_scope

    try:
        return check_scope(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--scope") from exc


def _check_timezone(name: str) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise typer.BadParameter(f"unknown timezone {name!r}", param_hint="--timezone") from exc


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the app, map our errors to one line and an exit code."""
    try:
        result = app(args=argv, standalone_mode=False)
    except SystemExit as exc:
        return int(exc.code or 0)
    except typer.Abort:
        typer.echo("Aborted.", err=True)
        return 1
    except typer.Exit as exc:
        return int(exc.exit_code)
    except Exception as exc:  # one place turns errors into exit codes
        message = getattr(exc, "format_message", None)
        if callable(message) and isinstance(getattr(exc, "exit_code", None), int):
            typer.echo(f"error: {message()}", err=True)  # a usage error worded by Typer
            return int(exc.exit_code)  # type: ignore[attr-defined]
        for kind, code in EXIT_CODES:
            if isinstance(exc, kind):
                typer.echo(f"error: {exc}", err=True)
                return code
        typer.echo(f"error: unexpected {type(exc).__name__}: {exc}", err=True)
        return 1
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
