"""The inputs of the normalize equivalence test, and its snapshot of what normalize gave.

Inputs: every RawEvent parsed from the documents under tests/data, the dedupe pairs, the
labelled relevance events and the benchmark corpus. For each group the snapshot keeps a
digest of the inputs and one of ``normalize``'s outputs (``NormalizedEvent.to_json``), taken
from the code before the fast paths of issue 21. A group whose inputs changed since (a
parser or the corpus generator moved) cannot be compared and is skipped; regenerate with
``PYTHONPATH=. python -m tests.aggregator.normalize_corpus`` from a commit whose normalize
is trusted.
"""

from __future__ import annotations

import copy
import csv
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from aggregator.raw import RawEvent, SourceDefaults

DATA = Path(__file__).resolve().parents[1] / "data"
SNAPSHOT = Path(__file__).with_name("normalize_snapshot.json")
TYPES = {".ics": "text/calendar; charset=utf-8", ".rss": "application/rss+xml",
         ".atom": "application/atom+xml", ".xml": "application/xml", ".json": "application/json",
         ".html": "text/html", ".htm": "text/html"}


def _documents() -> Iterator[tuple[str, list[RawEvent]]]:
    from crawlers.parsers import parse_document

    defaults = SourceDefaults()
    for path in sorted(DATA.rglob("*")):
        if not path.is_file() or path.suffix not in TYPES or path.name.endswith("expected.json"):
            continue
        try:
            result = parse_document(path.read_bytes(), url=f"https://example.org/{path.name}",
                                    headers={"Content-Type": TYPES[path.suffix]},
                                    defaults=defaults)
        except Exception:  # a document no parser reads gives no event
            continue
        if result.events:
            yield str(path.relative_to(DATA)), list(result.events)


def _small() -> Iterator[tuple[str, list[RawEvent]]]:
    from tests.aggregator.helpers import raw_from_dict

    pairs = json.loads((DATA / "dedupe" / "pairs.json").read_text(encoding="utf-8"))
    yield "dedupe/pairs", [raw_from_dict(p[side]) for p in pairs for side in ("a", "b")]
    with (DATA / "relevance" / "events.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    yield "relevance/events", [
        RawEvent(title=r["title"], start=None, description=r["description"] or None,
                 categories=tuple(filter(None, (r.get("source") or "").split(":")[:1])),
                 language=r["lang"] or None)
        for r in rows
    ]


def _bench() -> Iterator[tuple[str, list[RawEvent]]]:
    from benchmarks.generate import build_corpus
    from benchmarks.stages_core import parsed_batches

    for source, batch in parsed_batches(build_corpus(60, 25, seed=20261126)):
        yield f"bench/{source.path}", list(batch)


def groups() -> Iterator[tuple[str, list[RawEvent]]]:
    """(name, RawEvents) of every input group, deep-copied (no memo of ingest applies)."""
    for name, raws in (*_documents(), *_small(), *_bench()):
        yield name, copy.deepcopy(raws)


def digest(items: list[Any]) -> str:
    text = json.dumps(items, sort_keys=True, default=repr, ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def input_digest(raws: list[RawEvent]) -> str:
    return digest([repr(r) for r in raws])


def output_digest(raws: list[RawEvent]) -> str:
    from aggregator.normalize import normalize
    from aggregator.regions import load_region

    region = load_region("aix-marseille")
    return digest([normalize(r, defaults=SourceDefaults(), region=region).to_json() for r in raws])


def main() -> None:
    snapshot = {name: (input_digest(raws), output_digest(raws), len(raws))
                for name, raws in groups()}
    SNAPSHOT.write_text(json.dumps(snapshot, indent=0, sort_keys=True) + "\n", encoding="utf-8")
    print(f"{len(snapshot)} groups, {sum(v[2] for v in snapshot.values())} events -> {SNAPSHOT}")


if __name__ == "__main__":
    main()
