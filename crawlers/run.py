"""Run a crawl: a ``CrawlRun`` row, Scrapy in a child process, a time limit, a summary.

Scrapy's reactor cannot restart inside one process, so :func:`run_crawl` (called by the CLI
and the scheduler) starts ``python -m crawlers.run --run-id N`` and waits for it. The child
reads its settings from the environment, which the parent fills explicitly from its own
``Settings`` object, so overrides made in code (tests, CLI flags) reach the child. Whatever
happens — a crash, a kill on timeout — the run ends ``done`` or ``failed`` with its stats
summed from the ``SourceFetch`` rows the child wrote.

Platform notes: the child gets its own session (process group) so a timeout kills Scrapy
and anything it started; on Windows (no process groups) only the child itself is killed.
The child dies with its parent: on Linux the kernel sends it SIGKILL when the parent dies
(``prctl(PR_SET_PDEATHSIG)``), and everywhere it watches its parent's pid and exits when
it is gone, so a killed CLI or scheduler leaves no crawl running on its own.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from aggregator.db import make_engine
from aggregator.errors import ConfigError, NotFoundError
from aggregator.models import CrawlRun, RunStatus, Source, SourceFetch, SourceState, utcnow
from aggregator.processes import PRCTL, die_with_parent, watch_parent
from aggregator.settings import Settings, load_settings
from crawlers.queue_keys import QUEUE_KEY, page_cache_settings

log = logging.getLogger(__name__)
LOG_TAIL_LINES = 15


def run_crawl(
    settings: Settings,
    *,
    source_id: int | None = None,
    run_id: int | None = None,
    requested_by: str = "cli",
    timeout: float | None = None,
    now: datetime | None = None,
    queue: str | None = None,
    source_ids: Sequence[int] | None = None,
) -> CrawlRun:
    """Crawl every approved source (or one source, whatever its state, or the approved
    sources among ``source_ids``) in one child process.

    Creates a ``CrawlRun`` (or takes the queued one named by ``run_id``), waits at most
    ``timeout`` seconds (default ``settings.crawl_timeout``), and returns the finished run.
    With ``REDIS_URL`` set, followed pages are shared through the page cache of ``queue``
    (default :data:`crawlers.queue_keys.QUEUE_KEY`) with every other crawl.
    """
    engine = make_engine(settings.db_url)
    try:
        now = now or utcnow()
        run = start_run(
            engine, source_id=source_id, run_id=run_id, requested_by=requested_by, now=now
        )
        assert run.id is not None
        source_id = run.source_id
        limit = timeout if timeout is not None else float(settings.crawl_timeout)
        log_path = Path(settings.data_dir) / "logs" / f"crawl-{run.id}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "crawlers.run", "--run-id", str(run.id)]
        command += ["--now", now.isoformat()]
        if source_id is not None:
            command += ["--source", str(source_id)]
        elif source_ids is not None:
            command += ["--sources", ",".join(str(i) for i in source_ids)]
        if queue is not None:
            command += ["--queue", queue]
        command += ["--parent-pid", str(os.getpid())]
        env = {**os.environ, **settings.to_env()}
        error: str | None = None
        with log_path.open("wb") as log_file:
            child = subprocess.Popen(
                command,
                env=env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=(os.name == "posix"),
                preexec_fn=die_with_parent if PRCTL is not None else None,
            )
            set_pid(engine, run.id, child.pid)
            try:
                code = child.wait(timeout=limit)
            except subprocess.TimeoutExpired:
                kill_group(child)
                code = None
                error = f"the crawl took longer than {limit:g} seconds and was stopped"
        if code not in (0, None) and error is None:
            error = f"the crawler process failed (exit {code}): {_tail(log_path)}"
        return finish_run(engine, run.id, error)
    finally:
        engine.dispose()


def start_run(
    engine: sa.engine.Engine,
    *,
    source_id: int | None,
    run_id: int | None,
    requested_by: str,
    now: datetime,
) -> CrawlRun:
    with Session(engine, expire_on_commit=False) as session:
        if run_id is not None:
            run = session.get(CrawlRun, run_id)
            if run is None:
                raise NotFoundError(f"no crawl run #{run_id}")
            if source_id is not None:
                run.source_id = source_id
        else:
            run = CrawlRun(source_id=source_id, requested_by=requested_by, created_at=now)
        if run.source_id is not None:
            source = session.get(Source, run.source_id)
            if source is None:
                raise NotFoundError(f"no source #{run.source_id}")
            if not source.url:
                raise NotFoundError(f"source #{run.source_id} has no URL yet")
        run.status = RunStatus.running
        run.started_at = now
        session.add(run)
        session.commit()
        return run


def set_pid(engine: sa.engine.Engine, run_id: int, pid: int) -> None:
    with Session(engine) as session:
        run = session.get(CrawlRun, run_id)
        assert run is not None
        run.pid = pid
        session.add(run)
        session.commit()


def kill_group(child: subprocess.Popen[bytes]) -> None:
    try:
        if os.name == "posix":
            os.killpg(child.pid, signal.SIGKILL)
        else:
            child.kill()
    except ProcessLookupError:
        pass
    child.wait()


def _tail(path: Path) -> str:
    lines = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    return "\n".join(lines[-LOG_TAIL_LINES:]) or "no output"


def run_stats(session: Session, run_id: int) -> dict[str, int]:
    """Totals of a run, summed from its SourceFetch rows."""
    fetches = session.exec(select(SourceFetch).where(SourceFetch.crawl_run_id == run_id)).all()
    return {
        "sources": len(fetches),
        "fetched": sum(1 for f in fetches if f.error is None and not f.not_modified),
        "not_modified": sum(1 for f in fetches if f.not_modified),
        "failed": sum(1 for f in fetches if f.error is not None),
        "found": sum(f.events_found for f in fetches),
        "new": sum(f.events_new for f in fetches),
        "updated": sum(f.events_updated for f in fetches),
        "merged": sum(f.events_merged for f in fetches),
        "cancelled": sum(f.events_cancelled for f in fetches),
        "bytes": sum(f.bytes for f in fetches),
    }


def finish_run(engine: sa.engine.Engine, run_id: int, error: str | None) -> CrawlRun:
    with Session(engine, expire_on_commit=False) as session:
        run = session.get(CrawlRun, run_id)
        assert run is not None
        run.stats = run_stats(session, run_id)
        run.status = RunStatus.failed if error else RunStatus.done
        run.error = error
        run.finished_at = utcnow()
        session.add(run)
        session.commit()
        return run


# -- the shared queue (several crawler machines) lives in crawlers.queue, which uses
# run_crawl; this module does not import it back (no cycle) ------------------------------

__all__ = ["QUEUE_KEY", "run_crawl"]


# -- the child process --------------------------------------------------------------------


def select_sources(
    session: Session, source_id: int | None, source_ids: Sequence[int] | None = None
) -> list[Source]:
    """One named source whatever its state, else the approved sources (among ``source_ids``
    when given)."""
    if source_id is not None:
        source = session.get(Source, source_id)
        if source is None:
            raise NotFoundError(f"no source #{source_id}")
        if not source.url:
            raise NotFoundError(f"source #{source_id} has no URL yet")
        return [source]
    query = (
        select(Source)
        .where(Source.state == SourceState.approved, col(Source.url).is_not(None))
        .order_by(col(Source.id))
    )
    if source_ids is not None:
        query = query.where(col(Source.id).in_(list(source_ids)))
    return list(session.exec(query).all())


def prepare_crawl(
    settings: Settings,
    *,
    run_id: int,
    now: datetime,
    source_id: int | None = None,
    queue: str = QUEUE_KEY,
    source_ids: Sequence[int] | None = None,
) -> tuple[dict[str, Any], dict[type[Any], list[Any]]]:
    """The Scrapy settings and the spider groups (spider class -> its sources' jobs) of
    one crawl; a source whose spider is unknown is recorded failed here and left out."""
    from crawlers.items import SourceReport
    from crawlers.pipelines import record_source
    from crawlers.settings import scrapy_settings
    from crawlers.spiders import spider_for
    from crawlers.spiders.base import SourceJob

    engine = make_engine(settings.db_url)
    groups: dict[type[Any], list[Any]] = {}
    try:
        with Session(engine, expire_on_commit=False) as session:
            sources = select_sources(session, source_id, source_ids)
        for source in sources:
            try:
                spider_cls = spider_for(source.spider)
            except ConfigError as exc:
                assert source.id is not None
                report = SourceReport(source_id=source.id, url=source.url or "", error=str(exc))
                record_source(engine, report, [], run_id=run_id, now=now, settings=settings)
                continue
            job = SourceJob.from_source(source, now=now, settings=settings)
            groups.setdefault(spider_cls, []).append(job)
    finally:
        engine.dispose()
    values: dict[str, Any] = scrapy_settings(
        settings,
        TECHAGENDA_SETTINGS=settings,
        TECHAGENDA_RUN_ID=run_id,
        TECHAGENDA_NOW=now.isoformat(),
    )
    page_cache_settings(settings, values, queue=queue)
    return values, groups


def crawl_in_this_process(
    settings: Settings,
    *,
    run_id: int,
    now: datetime,
    source_id: int | None = None,
    queue: str = QUEUE_KEY,
    source_ids: Sequence[int] | None = None,
) -> None:
    """Run Scrapy here (once per process) over the selected sources."""
    from scrapy.crawler import CrawlerProcess

    values, groups = prepare_crawl(
        settings, run_id=run_id, now=now, source_id=source_id, queue=queue,
        source_ids=source_ids,
    )
    if not groups:
        return
    process = CrawlerProcess(values)
    for spider_cls, jobs in groups.items():
        process.crawl(spider_cls, jobs=jobs, max_events=settings.max_events_per_source)
    process.start()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m crawlers.run", description=__doc__)
    parser.add_argument("--run-id", type=int, required=True)
    parser.add_argument("--source", type=int, default=None)
    parser.add_argument("--sources", default=None, help="Comma-separated approved source ids")
    parser.add_argument("--now", default=None, help="ISO instant the crawl window is built from")
    parser.add_argument("--queue", default=QUEUE_KEY, help="Redis key of the shared crawl queue")
    parser.add_argument("--parent-pid", type=int, default=None, help="Exit when it is gone")
    args = parser.parse_args(argv)
    if args.parent_pid is not None:
        watch_parent(args.parent_pid)
    settings = load_settings()
    now = datetime.fromisoformat(args.now) if args.now else utcnow()
    ids = [int(x) for x in args.sources.split(",") if x] if args.sources is not None else None
    crawl_in_this_process(
        settings,
        run_id=args.run_id,
        now=now,
        source_id=args.source,
        queue=args.queue,
        source_ids=ids,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
