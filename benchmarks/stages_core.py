"""The pure stages: the bare-parser floor, our parse, normalize, dedupe; and ingest.

Each function builds its input from the seeded corpus (not timed), times one stage with
:class:`~benchmarks.harness.Clock` and returns rows. They run in a child process
(``benchmarks.harness.measure``).
"""

from __future__ import annotations

import io
import time
import uuid
from collections import defaultdict
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.generate import NOW, Corpus, SourceSpec, build_corpus
from benchmarks.harness import Clock, Row

CONTENT_TYPES = {"ical": "text/calendar; charset=utf-8", "rss": "application/rss+xml",
                 "atom": "application/atom+xml"}
WINDOW = (NOW - timedelta(days=30), NOW + timedelta(days=180))
ROUNDS = 5  # reads of each document by the floor and by our parse (the fastest counts)
ROUNDS_UP_TO = 10_000  # events; a larger corpus is read once by each


def documents(corpus: Corpus) -> list[tuple[SourceSpec, bytes]]:
    return [(source, corpus.document(source)) for source in corpus.sources]


def url_of(source: SourceSpec) -> str:
    return f"http://127.0.0.1:8000{source.path}"


def bare_parse(source: SourceSpec, body: bytes) -> int:
    """Events found by the bare library alone (what any reader of this document must pay)."""
    if source.format == "ical":
        import icalendar
        import recurring_ical_events

        calendar = icalendar.Calendar.from_ical(body)
        return len(list(recurring_ical_events.of(calendar).between(*WINDOW)))
    if source.format in ("rss", "atom"):
        import feedparser

        return len(feedparser.parse(io.BytesIO(body)).entries)
    import extruct

    syntax = {"jsonld": "json-ld", "microdata": "microdata", "h-event": "microformat"}[source.format]
    data = extruct.extract(body.decode("utf-8"), base_url=url_of(source), syntaxes=[syntax],
                           uniform=True, errors="ignore")
    found = data.get(syntax, [])
    if syntax == "json-ld":
        return sum(len(block) if isinstance(block, list) else 1 for block in found)
    return len(found)


def floor_and_parse(sources: int, per_source: int, seed: int, rounds: int | None = None) -> list[Row]:
    """The floor (bare feedparser / icalendar+recurring-ical-events / extruct) and our parse.

    Each document is read by both in turn, ``rounds`` times (the order swapped every
    round), and each side counts its fastest time per document: on a machine shared with
    other work a stall then lands on neither side, and neither gets the warm-up of the
    other's libraries. One round past ``ROUNDS_UP_TO`` events (the full mode's 100k)."""
    from aggregator.raw import SourceDefaults
    from crawlers.parsers import parse_document

    docs = documents(build_corpus(sources, per_source, seed=seed))
    size = f"{sources}x{per_source}"
    defaults = SourceDefaults(window_start=WINDOW[0], window_end=WINDOW[1])
    if rounds is None:
        rounds = ROUNDS if sources * per_source <= ROUNDS_UP_TO else 1
    floor_s = [float("inf")] * len(docs)
    parse_s = [float("inf")] * len(docs)
    counted, found = [0] * len(docs), [0] * len(docs)

    def read_bare(i: int) -> None:
        source, body = docs[i]
        start = time.perf_counter()
        counted[i] = bare_parse(source, body)
        floor_s[i] = min(floor_s[i], time.perf_counter() - start)

    def read_ours(i: int) -> None:
        source, body = docs[i]
        start = time.perf_counter()
        result = parse_document(body, url=url_of(source), defaults=defaults,
                                headers={"Content-Type": CONTENT_TYPES.get(source.format, "text/html")})
        parse_s[i] = min(parse_s[i], time.perf_counter() - start)
        found[i] = len(result.events)

    with Clock() as clock:
        for lap in range(rounds):
            for i in range(len(docs)):
                for read in (read_bare, read_ours) if lap % 2 == 0 else (read_ours, read_bare):
                    read(i)
    bare, ours = sum(counted), sum(found)
    by_format: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
    for (source, _body), n, seconds in zip(docs, found, parse_s, strict=True):
        by_format[source.format][0] += n
        by_format[source.format][1] += seconds
    split = ", ".join(f"{fmt} {n / max(s, 1e-9):,.0f}/s" for fmt, (n, s) in sorted(by_format.items()))
    floor, parse = replace(clock, seconds=sum(floor_s)), replace(clock, seconds=sum(parse_s))
    rows = [floor.row("floor: bare parsers", bare, "events", size=size,
                      note=f"{len(docs)} documents, fastest of {rounds} per document"),
            parse.row("parse (parse_document)", ours, "events", size=size,
                      note=f"{ours / max(1, bare):.0%} of the floor's events; {split}")]
    rows[1]["vs_floor"] = round(rows[1]["per_second"] / max(rows[0]["per_second"], 1e-9), 2)
    return rows


def parsed_batches(corpus: Corpus) -> list[tuple[SourceSpec, list[Any]]]:
    from aggregator.raw import SourceDefaults
    from crawlers.parsers import parse_document

    defaults = SourceDefaults(window_start=WINDOW[0], window_end=WINDOW[1])
    return [(source, parse_document(body, url=url_of(source), defaults=defaults,
                                    headers={"Content-Type": CONTENT_TYPES.get(source.format, "text/html")}).events)
            for source, body in documents(corpus)]


def normalize_stage(sources: int, per_source: int, seed: int) -> list[Row]:
    from aggregator.normalize import normalize
    from aggregator.raw import SourceDefaults
    from aggregator.regions import load_region

    region = load_region("aix-marseille")
    raws = [raw for _s, batch in parsed_batches(build_corpus(sources, per_source, seed=seed)) for raw in batch]
    defaults = SourceDefaults()
    with Clock() as clock:
        out = [normalize(raw, defaults=defaults, region=region) for raw in raws]
    in_region = sum(1 for e in out if e.in_region)
    return [clock.row("normalize", len(out), "events", size=len(raws),
                      note=f"{in_region / max(1, len(out)):.0%} in region")]


def dedupe_stage(events: int, seed: int) -> list[Row]:
    """``aggregator.dedupe.cluster`` over ``events`` listings; precision/recall on planted pairs.

    Two rows: the listings spread at a real region's density (about eight a day over its ten
    venues, so 100k listings span decades), and the same count crammed into 120 days (a
    dozen unrelated events per venue and hour on 18 topics: a stress test of blocking, whose
    precision says how the score behaves far beyond any real week)."""
    real_days = max(120, events // 8)
    return [_dedupe_row(events, seed, real_days, "dedupe (cluster)"),
            _dedupe_row(events, seed, 120, "dedupe (dense: 120 days)")]


def _dedupe_row(events: int, seed: int, days: int, label: str) -> Row:
    from aggregator.candidate import Candidate
    from aggregator.dedupe import cluster
    from aggregator.regions import load_region
    from aggregator.titles import title_key

    region = load_region("aix-marseille")
    per_source = 25
    corpus = build_corpus(max(1, events // per_source), per_source, seed=seed, days=days)
    candidates: list[Candidate] = []
    truth: dict[Any, int] = {}
    for source in corpus.sources:
        for n, item in enumerate(source.listings):
            e = corpus.events[item.event]
            start = e.start.astimezone(UTC) if isinstance(e.start, datetime) else None
            day = e.start.date() if isinstance(e.start, datetime) else e.start
            key = (source.index, n)
            truth[key] = item.event
            candidates.append(Candidate(
                key=key, title_key=title_key(item.title, region), start=start,
                all_day=e.all_day, start_date=day, source_id=source.index,
                canonical_url=item.url, venue=e.venue[0] if e.venue else None,
                insee=e.town[2] if e.town else None, online=e.town is None, title=item.title))
    with Clock() as clock:
        groups = cluster(candidates)
    # pair counts from a contingency table (never enumerates pairs: a big cluster stays cheap)
    def pairs(n: int) -> int:
        return n * (n - 1) // 2

    found = sum(pairs(len(g)) for g in groups)
    sizes: dict[int, int] = defaultdict(int)
    for event in truth.values():
        sizes[event] += 1
    planted = sum(pairs(n) for n in sizes.values())
    both: dict[tuple[int, int], int] = defaultdict(int)
    for index, group in enumerate(groups):
        for key in group:
            both[(index, truth[key])] += 1
    hit = sum(pairs(n) for n in both.values())
    largest = max((len(g) for g in groups), default=0)
    precision = hit / found if found else 1.0
    recall = hit / planted if planted else 1.0
    return clock.row(label, len(candidates), "events", size=len(candidates),
                     note=f"precision {precision:.3f}, recall {recall:.3f} on {planted} planted "
                          f"pairs; largest group {largest}; {days} days")


def ingest_stage(sources: int, per_source: int, seed: int, database: str, url: str | None,
                 workdir: str, stored: int = 0) -> list[Row]:
    """``ingest_events`` per source (commit each), then the same batches again (unchanged);
    with ``stored``, into a store already holding that many events of the year before."""
    import sqlalchemy as sa
    from sqlmodel import Session

    from aggregator.db import make_engine, upgrade
    from aggregator.ingest import ingest_events
    from aggregator.models import Source, SourceState
    from aggregator.settings import load_settings

    batches = parsed_batches(build_corpus(sources, per_source, seed=seed))
    schema = None
    if database == "sqlite":
        db_url = f"sqlite:///{Path(workdir) / f'ingest-{uuid.uuid4().hex[:8]}.db'}"
        admin = None
    else:
        assert url
        schema = f"bench_{uuid.uuid4().hex[:10]}"
        admin = make_engine(url)
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        db_url = f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"
    try:
        engine = make_engine(db_url)
        upgrade(engine)
        if stored:
            from datetime import date

            from aggregator.models import Event
            from benchmarks.stages_io import _event_rows, _insert

            _insert(engine, Event, _event_rows(stored, date(NOW.year - 1, NOW.month, 1), 330, seed))
        settings = load_settings(data_dir=Path(workdir) / "var", database_url=db_url,
                                 secret_key="bench")
        rows: list[Source] = []
        with Session(engine, expire_on_commit=False) as session:
            for source, _batch in batches:
                row = Source(name=source.name, url=f"http://127.0.0.1:9{source.path}",
                             state=SourceState.approved, language=source.language)
                session.add(row)
                rows.append(row)
            session.commit()
        total = sum(len(b) for _s, b in batches)
        results = []
        for label in ("first", "again (unchanged)"):
            merged = new = 0
            with Clock() as clock, Session(engine, expire_on_commit=False) as session:
                for row, (_s, batch) in zip(rows, batches, strict=True):
                    stats = ingest_events(session, row, batch, now=NOW, complete=True, settings=settings)
                    session.commit()
                    merged += stats.merged
                    new += stats.new
            where = f", {stored:,} stored" if stored else ""
            results.append(clock.row(f"ingest {database}{where}: {label}", total, "events",
                                     size=f"{sources}x{per_source}",
                                     note=f"{new} new, {merged} merged"))
        engine.dispose()
        return results
    finally:
        if admin is not None:
            with admin.begin() as conn:
                conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
