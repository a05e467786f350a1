"""Run every benchmark stage, print one table, write it to ``var/bench/last.json``.

    python -m benchmarks.run --quick      # make bench: under 3 minutes on 2 cores
    python -m benchmarks.run --full       # make bench-full: 1k, 10k and 100k events
    python -m benchmarks.run --quick --only dedupe,web

Each stage runs in a fresh process (see ``benchmarks.harness``), bounded in time; a stage
whose module has not landed, or whose database is absent, gets a row saying so. Every
server is on 127.0.0.1. PostgreSQL stages use ``BENCH_POSTGRES_URL`` or
``TEST_POSTGRES_URL`` (a throwaway schema, dropped afterwards).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.harness import Row, format_table, measure, skipped

SEED = 20261126


@dataclass(frozen=True)
class Plan:
    """Sizes per stage for one mode."""

    parse: tuple[tuple[int, int], ...]  # (sources, events per source)
    dedupe: tuple[int, ...]
    ingest: tuple[tuple[int, int], ...]
    crawl: tuple[tuple[int, int], ...]
    digest: tuple[int, ...]  # subscribers
    web_requests: int  # per endpoint, at most
    web_seconds: float  # per endpoint: no request starts after this
    web_paths: tuple[str, ...] = ("/", "/api/events", "/feed.ics")
    web_events: tuple[int, ...] = (20_000,)  # upcoming events in the store, a row set each
    timeout: float = 120.0
    extra: dict[str, Any] = field(default_factory=dict)


QUICK = Plan(parse=((60, 25),), dedupe=(10_000,), ingest=((40, 25),), crawl=((40, 25),),
             digest=(200, 400), web_requests=1000, web_seconds=5.0, web_events=(2_000, 20_000),
             web_paths=("/", "/api/events"), timeout=90.0)
FULL = Plan(parse=((40, 25), (400, 25), (4000, 25)), dedupe=(1_000, 10_000, 100_000),
            ingest=((40, 25), (400, 25), (4000, 25)), crawl=((40, 25), (400, 25)),
            digest=(1_000, 10_000), web_requests=1000, web_seconds=30.0, timeout=1200.0)
STORED = 50_000  # the ingest rows into a store that already holds a year of events
STAGES = ("parse", "normalize", "dedupe", "ingest", "crawl", "digest", "web")


def postgres_url() -> str | None:
    return os.environ.get("BENCH_POSTGRES_URL") or os.environ.get("TEST_POSTGRES_URL") or None


def run_plan(plan: Plan, only: set[str], workdir: Path,
             web_generators: tuple[str, ...] = ("raw",)) -> list[Row]:
    """Every selected stage of ``plan``, printed as it lands."""
    rows: list[Row] = []

    def add(new: list[Row]) -> None:
        for row in new:
            rows.append(row)
            print(f"  {row['stage']:<34} {row.get('size', '')!s:<12} "
                  f"{row.get('per_second') or '-'!s:>10} /s  {row.get('note', '')}", flush=True)

    core = "benchmarks.stages_core"
    io = "benchmarks.stages_io"
    t = plan.timeout
    if "parse" in only:
        for s, m in plan.parse:
            add(measure("parse", f"{core}:floor_and_parse", timeout=t, sources=s, per_source=m, seed=SEED))
    if "normalize" in only:
        for s, m in plan.parse:
            add(measure("normalize", f"{core}:normalize_stage", timeout=t, sources=s, per_source=m, seed=SEED))
    if "dedupe" in only:
        for n in plan.dedupe:
            add(measure("dedupe", f"{core}:dedupe_stage", timeout=t, events=n, seed=SEED))
    if "ingest" in only:
        pg = postgres_url()
        for s, m in plan.ingest:
            add(measure("ingest sqlite", f"{core}:ingest_stage", timeout=t, sources=s, per_source=m,
                        seed=SEED, database="sqlite", url=None, workdir=str(workdir)))
            add(measure("ingest sqlite", f"{core}:ingest_stage", timeout=t, sources=s, per_source=m,
                        seed=SEED, database="sqlite", url=None, workdir=str(workdir),
                        stored=STORED))
            if pg:
                add(measure("ingest postgresql", f"{core}:ingest_stage", timeout=t, sources=s,
                            per_source=m, seed=SEED, database="postgresql", url=pg, workdir=str(workdir)))
            else:
                add([skipped("ingest postgresql", "skipped: set BENCH_POSTGRES_URL or TEST_POSTGRES_URL",
                             f"{s}x{m}")])
    if "crawl" in only:
        for s, m in plan.crawl:
            add(measure("crawl", f"{io}:crawl_stage", timeout=t, sources=s, per_source=m, seed=SEED,
                        workdir=str(workdir)))
    if "digest" in only:
        for n in plan.digest:
            add(measure("digest", f"{io}:digest_stage", timeout=t, subscribers=n, seed=SEED,
                        workdir=str(workdir)))
    if "web" in only:
        for n in plan.web_events:
            for generator in web_generators:
                add(measure("web", f"{io}:web_stage", timeout=t, events=n,
                            requests=plan.web_requests, clients=20, seed=SEED,
                            workdir=str(workdir), seconds=plan.web_seconds, paths=plan.web_paths,
                            generator=generator))
    return rows


def summary(rows: list[Row]) -> list[str]:
    """End-to-end throughput as a share of the floor, and the re-crawl speed-up."""
    lines = []
    floors = [r for r in rows if r["stage"].startswith("floor") and r.get("per_second")]
    crawls = [r for r in rows if r["stage"].startswith("crawl: first") and r.get("per_second")]
    for crawl in crawls[:2] if floors else ():
        floor = floors[0]
        where = crawl["stage"].removeprefix("crawl: first").strip(", ") or "one host"
        lines.append(f"end to end (crawl+parse+ingest, {where}) {crawl['per_second']:,.0f} "
                     f"events/s = {crawl['per_second'] / floor['per_second']:.0%} of the "
                     f"bare-parser floor ({floor['per_second']:,.0f} events/s)")
    for r in rows:
        if r["stage"] == "crawl: re-crawl unchanged" and r.get("speedup"):
            lines.append(f"re-crawl of unchanged sources: {r['speedup']:.1f}x faster than the first crawl")
    return lines


def machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        mem = next(line for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal"))
        ram = f"{int(mem.split()[1]) / 1024 / 1024:.1f} GiB"
    except (OSError, StopIteration):
        ram = "?"
    return {"nproc": os.cpu_count(), "cpu": model, "ram": ram, "python": platform.python_version(),
            "platform": platform.platform()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="small sizes, under 3 minutes (default)")
    mode.add_argument("--full", action="store_true", help="1k, 10k and 100k events")
    parser.add_argument("--only", default="", help=f"comma-separated stages among {', '.join(STAGES)}")
    parser.add_argument("--out", type=Path, default=Path("var/bench/last.json"))
    parser.add_argument("--web-client", choices=("raw", "httpx", "both"), default="raw",
                        help="the web stage's load generator: one asyncio loop (raw), a thread "
                             "with an httpx client per client (httpx), or both")
    args = parser.parse_args(argv)
    plan = FULL if args.full else QUICK
    only = set(filter(None, args.only.split(","))) or set(STAGES)
    unknown = only - set(STAGES)
    if unknown:
        parser.error(f"unknown stage(s): {', '.join(sorted(unknown))}")
    started = time.perf_counter()
    print(f"techagenda benchmarks ({'full' if args.full else 'quick'}); every server on 127.0.0.1",
          flush=True)
    with tempfile.TemporaryDirectory(prefix="techagenda-bench-") as tmp:
        generators = ("raw", "httpx") if args.web_client == "both" else (args.web_client,)
        rows = run_plan(plan, only, Path(tmp), generators)
    elapsed = time.perf_counter() - started
    print()
    print(format_table(rows))
    for line in summary(rows):
        print(line)
    print(f"total {elapsed:.0f} s")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    report = {"mode": "full" if args.full else "quick", "seed": SEED, "seconds": round(elapsed, 1),
              "machine": machine(), "rows": rows, "summary": summary(rows),
              "argv": sys.argv[1:] if argv is None else argv}
    args.out.write_text(json.dumps(report, indent=1, default=str), encoding="utf-8")
    print(f"written: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
