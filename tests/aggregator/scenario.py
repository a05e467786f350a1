"""A realistic multi-source week (tests/data/scenarios/<name>/): serve its documents on a
loopback HTTP server, fetch and parse them with the real parsers, ingest them, and score
the events the store holds against the scenario's truth (pairwise precision and recall)."""

from __future__ import annotations

import json
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from itertools import combinations
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from aggregator.ingest import ingest_events, source_defaults
from aggregator.models import EventLink, Source
from aggregator.regions import load_region
from aggregator.settings import Settings
from crawlers.parsers import parse_document
from tests.support.httpserver import LoopbackHTTPServer

SCENARIOS = Path(__file__).parents[1] / "data" / "scenarios"


@dataclass(frozen=True)
class Scenario:
    name: str
    sources: list[dict[str, Any]]
    truth: dict[str, Any]

    @property
    def now(self) -> datetime:
        return datetime.fromisoformat(self.truth["now"])

    def path(self, name: str) -> Path:
        return SCENARIOS / self.name / name


def load(name: str) -> Scenario:
    folder = SCENARIOS / name
    return Scenario(name, json.loads((folder / "sources.json").read_text("utf-8")),
                    json.loads((folder / "truth.json").read_text("utf-8")))


def serve(scenario: Scenario, server: LoopbackHTTPServer) -> None:
    for spec in scenario.sources:
        server.add(spec["path"], scenario.path(spec["file"]).read_bytes(),
                   headers={"Content-Type": spec["content_type"]})


def add_sources(session: Session, scenario: Scenario, server: LoopbackHTTPServer) -> dict[str, Source]:
    made = {}
    for spec in scenario.sources:
        source = Source(name=spec["name"], url=server.url(spec["path"]), kind=spec["kind"],
                        authority=spec["authority"], town=spec["town"], state="approved")
        session.add(source)
        made[spec["file"]] = source
    session.commit()
    return made


def crawl(session: Session, scenario: Scenario, sources: dict[str, Source], settings: Settings,
          *, order: list[str] | None = None, now: datetime | None = None) -> None:
    """Fetch every source's document over HTTP, parse it and ingest it (commit per source)."""
    region = load_region(settings.region)
    for file in order or [s["file"] for s in scenario.sources]:
        source = sources[file]
        assert source.url
        with urllib.request.urlopen(source.url, timeout=10) as response:
            body, headers = response.read(), dict(response.headers)
        result = parse_document(body, url=source.url, headers=headers,
                                defaults=source_defaults(source, region))
        ingest_events(session, source, result.events, now=now or scenario.now, complete=True,
                      settings=settings)
        session.commit()


def assignment(session: Session, sources: dict[str, Source]) -> dict[str, int]:
    """scenario id ("file:external id") -> the event id its link belongs to."""
    file_of = {s.id: f for f, s in sources.items()}
    return {f"{file_of[link.source_id]}:{link.external_id}": link.event_id
            for link in session.exec(select(EventLink))}


@dataclass(frozen=True)
class Score:
    precision: float
    recall: float
    duplicates_left: int
    near_misses_merged: list[str]
    false_merges: list[tuple[str, str]]
    missed: list[tuple[str, str]]


def score(scenario: Scenario, assigned: dict[str, int]) -> Score:
    truth_of: dict[str, int] = {}
    for n, group in enumerate(scenario.truth["groups"]):
        for member in group["ids"]:
            truth_of[member] = n
    missing = set(truth_of) - set(assigned)
    assert not missing, f"records never ingested: {sorted(missing)}"
    ids = sorted(assigned)
    tp = fp = fn = 0
    false_merges, missed = [], []
    for a, b in combinations(ids, 2):
        same_truth = a in truth_of and truth_of.get(a) == truth_of.get(b)
        same_event = assigned[a] == assigned[b]
        tp += same_truth and same_event
        if same_event and not same_truth:
            fp += 1
            false_merges.append((a, b))
        if same_truth and not same_event:
            fn += 1
            missed.append((a, b))
    left = sum(len({assigned[m] for m in g["ids"]}) - 1 for g in scenario.truth["groups"])
    near = [nm["why"] for nm in scenario.truth["near_misses"]
            if assigned[nm["ids"][0]] == assigned[nm["ids"][1]]]
    return Score(tp / (tp + fp) if tp + fp else 1.0, tp / (tp + fn) if tp + fn else 1.0,
                 left, near, false_merges, missed)
