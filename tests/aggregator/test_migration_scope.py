"""Revision 0006 gives every existing source a scope from its kind and every event no mark."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from aggregator.db import make_engine, upgrade


def test_existing_sources_get_mixed_for_general_agendas_and_tech_otherwise(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(engine, "0001")
    with engine.begin() as conn:
        for n, kind in enumerate(["aggregator", "Venue", "city", "library", "meetup group", None]):
            conn.execute(
                sa.text(
                    "INSERT INTO source (name, url, kind, state, timezone, language, authority,"
                    " follow_links, consecutive_failures, flagged) VALUES"
                    " (:name, :url, :kind, 'approved', 'Europe/Paris', 'fr', 50, 0, 0, 0)"
                ),
                {"name": f"s{n}", "url": f"https://s{n}.example/feed", "kind": kind},
            )
    upgrade(engine, "0006")
    with engine.connect() as conn:
        rows = dict(conn.execute(sa.text("SELECT name, scope FROM source")).all())
    assert rows == {"s0": "mixed", "s1": "mixed", "s2": "mixed", "s3": "mixed",
                    "s4": "tech", "s5": "tech"}
    engine.dispose()
