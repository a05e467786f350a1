"""Ingest one big batch in one transaction, in a process the fault tests can SIGKILL.

python -m tests.hardening.ingest_child DB_URL SOURCE_ID COUNT

Prints ``start`` just before ``ingest_events`` and ``done`` after the commit.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from tempfile import mkdtemp

from sqlmodel import Session

from aggregator.db import make_engine
from aggregator.ingest import ingest_events
from aggregator.models import Source
from aggregator.raw import RawEvent
from tests.hardening.helpers import TOPICS, hardening_settings

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def batch(count: int) -> list[RawEvent]:
    """``count`` distinct events of the coming months, as an iCal parser would give them."""
    first = datetime(2026, 12, 1, 17, 30, tzinfo=UTC)
    events = []
    for n in range(count):
        title, where = TOPICS[n % len(TOPICS)]
        start = first + timedelta(hours=7 * n)
        events.append(
            RawEvent(
                title=f"{title} n°{n}",
                start=start,
                end=start + timedelta(hours=2),
                uid=f"batch-{n:05d}@agenda.tech-sud.example",
                url=f"https://agenda.tech-sud.example/e/{n}",
                address=where,
                description="Présentations, démonstrations et échanges.",
                source_format="ical",
            )
        )
    return events


def main(db_url: str, source_id: str, count: str) -> int:
    settings = hardening_settings(Path(mkdtemp()), db_url)
    events = batch(int(count))
    engine = make_engine(db_url)
    with Session(engine) as session:
        source = session.get(Source, int(source_id))
        assert source is not None
        print("start", flush=True)
        ingest_events(session, source, events, now=NOW, complete=True, settings=settings)
        session.commit()
    print("done", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
