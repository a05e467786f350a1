"""``techagenda demo``: the whole job on the demo dataset, over real loopback HTTP.

Renders demo/site/ with dates relative to today, serves it on 127.0.0.1, registers the
sources and subscribers of demo/sources.toml, crawls them in a child Scrapy process,
and sends the coming week's digest to the configured mailer (the file outbox by default).
Running it again is safe: sources and subscribers are upserted, ingest is idempotent and
the week's digest is only sent once.
"""

from __future__ import annotations

import functools
import threading
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from aggregator.db import make_engine, session_scope, upgrade
from aggregator.models import Source, Subscriber, SubscriberStatus, utcnow
from aggregator.settings import Settings
from aggregator.weeks import Week
from demo.site_render import render_site

DEMO_CONFIG = Path(__file__).parent / "sources.toml"


class _QuietHandler(SimpleHTTPRequestHandler):
    extensions_map = {
        **SimpleHTTPRequestHandler.extensions_map,
        ".ics": "text/calendar; charset=utf-8",
        ".rss": "application/rss+xml; charset=utf-8",
        ".atom": "application/atom+xml; charset=utf-8",
        ".html": "text/html; charset=utf-8",
    }

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def serve_folder(folder: Path, port: int) -> Iterator[str]:
    """Serve ``folder`` on 127.0.0.1 (``port``, or any free port if taken); yield the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    try:
        httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
    except OSError:
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def register_sources(
    session: Session, base_url: str, config: dict[str, Any], now: datetime
) -> None:
    """Upsert the demo sources by name (the loopback port may change between runs)."""
    for entry in config["source"]:
        url = f"{base_url}/{entry['file']}"
        source = session.exec(select(Source).where(Source.name == entry["name"])).first()
        if source is None:
            source = Source(name=entry["name"], url=url, created_at=now)
        source.url = url
        source.kind = entry.get("kind")
        source.authority = entry.get("authority", 50)
        source.state = "approved"
        source.etag = source.last_modified = None  # the site was re-rendered: fetch it all
        session.add(source)


def register_subscribers(session: Session, config: dict[str, Any], now: datetime) -> None:
    """Add the demo subscribers as confirmed (they exist only in the demo)."""
    from newsletter.subscribers import add_confirmed

    for entry in config["subscriber"]:
        existing = session.exec(
            select(Subscriber).where(Subscriber.email == entry["email"])
        ).first()
        if existing is not None and existing.status == SubscriberStatus.confirmed:
            continue
        add_confirmed(
            session,
            entry["email"],
            language=entry["language"],
            topics=entry["topics"],
            towns=entry["towns"],
            include_online=entry["include_online"],
            origin="demo",
            now=now,
        )


def run_demo(
    settings: Settings, *, port: int = 8751, echo: Callable[[str], None] = print
) -> dict[str, Any]:
    """Run the demo end to end and print a summary; returns the figures.

    First pass: crawl the site as it is, send the coming week's digest. Second pass: the
    site changes a little (an event moved, one cancelled, one new), it is crawled again,
    and the first subscriber's next digest is previewed with its change markers.
    """
    from crawlers.run import run_crawl
    from newsletter.send import preview_digest, preview_next_digest, send_digest

    allow = {x for x in settings.fetch_allowlist.split(",") if x.strip()}
    settings.fetch_allowlist = ",".join(sorted(allow | {"127.0.0.1/32"}))
    config = tomllib.loads(DEMO_CONFIG.read_text(encoding="utf-8"))
    engine = make_engine(settings.db_url)
    upgrade(engine)
    today = datetime.now(settings.tz).date()
    week = str(Week.upcoming(today))
    reader = config["subscriber"][0]["email"]
    site_dir = settings.data_dir / "demo-site"
    preview_dir = settings.data_dir / "preview"
    with serve_folder(site_dir, port) as base_url:
        render_site(site_dir, today=today, base_url=base_url, tz=settings.timezone)
        with session_scope(engine) as session:
            register_sources(session, base_url, config, utcnow())
            register_subscribers(session, config, utcnow())
        echo(f"Demo sources served at {base_url}/ ({len(config['source'])} sources)")
        run = run_crawl(settings, requested_by="demo")
        report = send_digest(engine, settings, week=week, now=utcnow())
        with session_scope(engine) as session:
            html, _text = preview_digest(
                session, settings, email=reader, week=week, now=utcnow(), out_dir=preview_dir
            )
        render_site(site_dir, today=today, base_url=base_url, tz=settings.timezone, changed=True)
        with session_scope(engine) as session:
            register_sources(session, base_url, config, utcnow())
        changes = run_crawl(settings, requested_by="demo")
        with session_scope(engine) as session:
            next_html, _ = preview_next_digest(
                session,
                settings,
                email=reader,
                now=utcnow(),
                out_dir=preview_dir / "next",
                week=week,
            )
    stats, later = run.stats or {}, changes.stats or {}
    figures = {
        "crawl": run.status,
        "sources": stats.get("sources", 0),
        "failed": stats.get("failed", 0),
        "found": stats.get("found", 0),
        "new": stats.get("new", 0),
        "merged": stats.get("merged", 0),
        "week": week,
        "digests_sent": report.sent,
        "outbox": settings.outbox_url,
        "preview": str(html.resolve()),
        "next_preview": str(next_html.resolve()),
    }
    echo(
        f"Crawl {run.id}: {run.status} — {figures['sources']} sources crawled, "
        f"{figures['failed']} failed"
    )
    echo(
        f"Events: {figures['found']} found, {figures['new']} new, "
        f"{figures['merged']} merged as duplicates"
    )
    echo(
        f"Digest {week}: {report.sent} sent, {report.skipped} skipped (nothing to say), "
        f"{report.failed} failed"
    )
    echo(f"Outbox: {settings.outbox_url}")
    echo(f"HTML preview: {figures['preview']}")
    echo(
        f"Then the sources changed (crawl {changes.id}): {later.get('new', 0)} new, "
        f"{later.get('updated', 0)} updated, {later.get('cancelled', 0)} cancelled"
    )
    echo(f"Next digest, with its NEW/MOVED/CANCELLED markers: {figures['next_preview']}")
    engine.dispose()
    return figures
