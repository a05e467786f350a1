"""The golden corpus: every file of tests/data/{ical,feeds,html,bad,text,platforms} (read
recursively: ``platforms/<platform>/``) against its
``<case>.expected.json`` — the exact ``techagenda extract --json`` output for a FIXED
window (2026-03-01 to 2027-03-01 UTC) and no default timezone (no ``--timezone``), so
dates never rot. An unreadable file expects ``{"error": "<one-line message>"}``.

Regenerate after a deliberate change with ``python -m tests.crawlers.test_parsers_corpus``
and review the diff like code.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from aggregator.errors import FetchError, ParseError
from aggregator.raw import SourceDefaults
from aggregator.settings import Settings
from crawlers.extract import event_to_json, extract_target

DATA = Path(__file__).resolve().parents[1] / "data"
FAMILIES = ("ical", "feeds", "html", "bad", "text", "platforms")
WINDOW_START = datetime(2026, 3, 1, tzinfo=UTC)
WINDOW_END = datetime(2027, 3, 1, tzinfo=UTC)
DEFAULTS = SourceDefaults(timezone=None, language="fr")


def corpus_files() -> list[Path]:
    return sorted(
        path
        for family in FAMILIES
        for path in (DATA / family).rglob("*")
        if path.is_file() and not path.name.endswith(".expected.json")
    )


def expected_path(path: Path) -> Path:
    return path.with_name(path.stem + ".expected.json")


def extract_as_json(path: Path, settings: Settings) -> Any:
    """What ``techagenda extract PATH --json --from 2026-03-01 --to 2027-03-01`` prints."""
    try:
        found = extract_target(
            str(path),
            settings,
            defaults=DEFAULTS,
            window_start=WINDOW_START,
            window_end=WINDOW_END,
        )
    except (ParseError, FetchError) as exc:
        return {"error": str(exc)}
    return [event_to_json(event) for event in found.events]


@pytest.mark.parametrize("path", corpus_files(), ids=lambda p: str(p.relative_to(DATA)))
def test_extract_prints_the_expected_events_for_every_corpus_file(
    path: Path, settings: Settings
) -> None:
    expected = json.loads(expected_path(path).read_text(encoding="utf-8"))
    assert extract_as_json(path, settings) == expected


def test_every_corpus_file_has_an_expected_output() -> None:
    missing = [p.name for p in corpus_files() if not expected_path(p).is_file()]
    assert missing == []


def _regenerate() -> None:
    settings = Settings(data_dir=Path("var/test-corpus"))
    for path in corpus_files():
        output = extract_as_json(path, settings)
        text = json.dumps(output, ensure_ascii=False, indent=2) + "\n"
        expected_path(path).write_text(text, encoding="utf-8")
        print(f"{path.relative_to(DATA)}: {len(output) if isinstance(output, list) else output}")


if __name__ == "__main__":
    _regenerate()
    sys.exit(0)
