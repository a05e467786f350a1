"""The benchmark harness on a tiny corpus: deterministic input, sane figures, no timing asserts."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import httpx

from aggregator.raw import SourceDefaults
from benchmarks.generate import NOW, build_corpus, serve_corpus, write_corpus
from benchmarks.harness import format_table, measure
from benchmarks.run import main
from crawlers.parsers import parse_document


def test_the_same_seed_writes_the_same_bytes_and_another_seed_does_not(tmp_path: Path) -> None:
    one, two, other = tmp_path / "one", tmp_path / "two", tmp_path / "other"
    write_corpus(build_corpus(12, 8, seed=7), one)
    write_corpus(build_corpus(12, 8, seed=7), two)
    write_corpus(build_corpus(12, 8, seed=8), other)
    files = sorted(p.relative_to(one) for p in one.rglob("*") if p.is_file())
    assert len(files) == 13  # 12 documents and the manifest
    for name in files:
        assert (one / name).read_bytes() == (two / name).read_bytes(), name
    assert (one / "manifest.json").read_bytes() != (other / "manifest.json").read_bytes()


def test_the_corpus_mixes_formats_and_plants_duplicates_at_about_the_asked_rate() -> None:
    manifest = build_corpus(120, 10, duplicate_rate=0.2).manifest()
    assert set(manifest["formats"]) == {"ical", "rss", "atom", "jsonld", "microdata", "h-event"}  # type: ignore[arg-type]
    assert 0.12 < manifest["duplicate_rate"] < 0.28  # type: ignore[operator]
    assert manifest["all_day"] and manifest["weekly_series"] and manifest["online"]
    assert manifest["occurrences"] > manifest["listings"]  # type: ignore[operator]


def test_our_parsers_read_every_planned_occurrence_of_the_corpus() -> None:
    corpus = build_corpus(18, 6, seed=3)
    defaults = SourceDefaults(window_start=NOW - timedelta(days=30), window_end=NOW + timedelta(days=180))
    found = expected = 0
    for source in corpus.sources:
        result = parse_document(corpus.document(source), url=f"http://127.0.0.1{source.path}",
                                headers={}, defaults=defaults)
        found += len(result.events)
        expected += sum(max(1, corpus.events[i.event].weekly) for i in source.listings)
    assert found >= 0.95 * expected


def test_the_corpus_server_answers_an_unchanged_document_with_304(tmp_path: Path) -> None:
    corpus = build_corpus(2, 3, seed=1)
    write_corpus(corpus, tmp_path)
    server = serve_corpus(tmp_path)
    try:
        url = server.url(corpus.sources[0].path)
        first = httpx.get(url)
        again = httpx.get(url, headers={"If-None-Match": first.headers["ETag"]})
    finally:
        server.stop()
    assert first.status_code == 200 and first.content == corpus.document(corpus.sources[0])
    assert again.status_code == 304


def test_a_stage_in_its_own_process_gives_nonzero_figures_and_a_missing_module_a_row() -> None:
    rows = measure("parse", "benchmarks.stages_core:floor_and_parse", timeout=120,
                   sources=6, per_source=4, seed=1)
    floor, ours = rows
    assert floor["items"] > 0 and ours["items"] > 0
    assert floor["per_second"] > 0 and ours["per_second"] > 0 and ours["peak_mb"] > 0
    assert ours["items"] >= 0.9 * floor["items"]  # loose: same documents, same events
    missing = measure("later", "benchmarks.not_landed_yet:stage", timeout=60)
    assert missing[0]["per_second"] is None and "not available yet" in missing[0]["note"]
    assert "not available yet" in format_table(rows + missing)


def test_quick_run_of_the_pure_stages_writes_the_table_as_json(tmp_path: Path) -> None:
    out = tmp_path / "last.json"
    assert main(["--quick", "--only", "dedupe", "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    real, dense = report["rows"]
    assert real["stage"] == "dedupe (cluster)" and real["items"] == 10_000 and real["seconds"] > 0
    assert dense["stage"] == "dedupe (dense: 120 days)" and "120 days" in dense["note"]
    assert "recall" in real["note"] and report["machine"]["nproc"] >= 1
