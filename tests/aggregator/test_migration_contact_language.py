"""Revision 0011 moves the organizer's language out of ``source.last_check`` into a column."""

from __future__ import annotations

import json

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from aggregator.db import make_engine, upgrade


def test_the_language_kept_in_last_check_becomes_the_column(blank_url: str) -> None:
    engine: Engine = make_engine(blank_url)
    upgrade(engine, "0010")
    rows = [
        (1, {"organizer": {"language": "en", "submitted_at": "2026-12-01T10:00:00+00:00"}}),
        (2, {"organizer": {"language": "xx"}}),
        (3, {"format": "ical"}),
        (4, None),
    ]
    required = {c["name"]: c["type"] for c in sa.inspect(engine).get_columns("source")
                if not c["nullable"] and c["name"] != "id"}  # fmt: skip

    def filler(kind: object) -> object:
        python = getattr(kind, "python_type", str)
        return {bool: False, int: 0, float: 0.0}.get(python, "x")

    with engine.begin() as conn:
        for sid, last_check in rows:
            values = {name: filler(kind) for name, kind in required.items()}
            values.update(id=sid, url=f"https://e.example/{sid}", name=f"s{sid}",
                          last_check=None if last_check is None else json.dumps(last_check))
            names = ", ".join(values)
            conn.execute(sa.text(f"INSERT INTO source ({names}) VALUES "
                                 f"({', '.join(':' + n for n in values)})"), values)  # fmt: skip
    upgrade(engine)
    with engine.connect() as conn:
        found = dict(conn.execute(sa.text("SELECT id, contact_language FROM source")).all())
    engine.dispose()
    assert found == {1: "en", 2: None, 3: None, 4: None}
