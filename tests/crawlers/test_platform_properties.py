"""Properties of the platform parsers: a platform document damaged anywhere (a field of
the wrong type, a missing part) still gives a result or one ParseError, never a crash."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aggregator.errors import ParseError
from aggregator.raw import SourceDefaults
from crawlers.parsers import ParseResult, parse_document

DATA = Path(__file__).resolve().parents[1] / "data" / "platforms"
SAMPLES = sorted(p for p in DATA.rglob("*.json") if not p.name.endswith(".expected.json"))
DEFAULTS = SourceDefaults(
    timezone="Europe/Paris",
    city="Marseille",
    window_start=datetime(2026, 3, 1, tzinfo=UTC),
    window_end=datetime(2027, 3, 1, tzinfo=UTC),
)
KEYS = st.sampled_from(
    ["events", "total", "after", "uid", "slug", "title", "timings", "begin", "end", "location",
     "firstTiming", "dateRange", "attendanceMode", "status", "start_date", "utc_start_date",
     "timezone", "all_day", "venue", "type", "Event", "startTime", "object", "orderedItems",
     "start_datetime", "place", "is_visible", "parentId", "recurrent", "results", "name",
     "date", "hyperlink", "start", "local", "utc", "id", "link", "rendered", "acf", "meta"]
)  # fmt: skip
JUNK = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=6),
    max_leaves=25,
)


def read_or_error(data: Any) -> None:
    body = json.dumps(data).encode()
    try:
        result = parse_document(body, url="https://x.example/api", headers={}, defaults=DEFAULTS)
    except ParseError:
        return
    assert isinstance(result, ParseResult)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found.extend(_paths(value, (*prefix, key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found.extend(_paths(value, (*prefix, index)))
    return found


def _replace(node: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    copy = dict(node) if isinstance(node, dict) else list(node)
    copy[head] = _replace(node[head], rest, value)
    return copy


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=JUNK)
def test_json_made_of_platform_keys_never_crashes_a_parser(data: Any) -> None:
    read_or_error(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sample=st.sampled_from(SAMPLES), choice=st.integers(min_value=0), junk=JUNK)
def test_a_platform_document_damaged_anywhere_never_crashes(
    sample: Path, choice: int, junk: Any
) -> None:
    document = json.loads(sample.read_text(encoding="utf-8"))
    paths = _paths(document)
    read_or_error(_replace(document, paths[choice % len(paths)], junk))
