"""The tech filter of a ``mixed`` source, measured on 439 labelled real-world event titles.

Precision and recall of the tech class must both reach 0.95, on the whole set and on the
held-out rows (every 5th row, kept out of the taxonomy's tuning). See tests/data/relevance/.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from aggregator.regions import load_region
from aggregator.topics import explain, load_taxonomy

DATA = Path(__file__).parents[1] / "data" / "relevance" / "events.csv"
BAR = 1.0  # a mixed source's default threshold (settings.relevance_threshold)


@dataclass
class Confusion:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0
    wrong: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    def __str__(self) -> str:
        lines = [
            f"tp={self.tp} fp={self.fp} fn={self.fn} tn={self.tn} "
            f"precision={self.precision:.3f} recall={self.recall:.3f}",
            *self.wrong,
        ]
        return "\n".join(lines)


def _rows() -> list[dict[str, str]]:
    with DATA.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _score(rows: list[tuple[int, dict[str, str]]]) -> Confusion:
    taxonomy = load_taxonomy(load_region("aix-marseille"))
    result = Confusion()
    for _, row in rows:
        relevance = explain(row["title"], row["description"], (), taxonomy)
        predicted, gold = relevance.score >= BAR, row["label"] == "tech"
        if predicted and gold:
            result.tp += 1
        elif predicted:
            result.fp += 1
            result.wrong.append(f"  FP {relevance.score:+.2f} {row['title']!r} ({relevance.why()})")
        elif gold:
            result.fn += 1
            result.wrong.append(f"  FN {relevance.score:+.2f} {row['title']!r} ({relevance.why()})")
        else:
            result.tn += 1
    return result


def test_the_labelled_set_is_large_mixed_and_sourced() -> None:
    rows = _rows()
    tech = sum(r["label"] == "tech" for r in rows)
    assert len(rows) >= 400
    assert 0.25 <= tech / len(rows) <= 0.4
    assert {r["label"] for r in rows} == {"tech", "not-tech"}
    assert {r["lang"] for r in rows} == {"fr", "en"}
    assert all(r["source"].strip() and r["title"].strip() for r in rows)


def test_mixed_scope_precision_and_recall_reach_095_on_all_rows_and_held_out_rows() -> None:
    indexed = list(enumerate(_rows()))
    tuned = _score([(i, r) for i, r in indexed if i % 5 != 4])
    held_out = _score([(i, r) for i, r in indexed if i % 5 == 4])
    everything = _score(indexed)
    report = f"tuning rows: {tuned}\nheld-out rows: {held_out}\nall rows: {everything}"
    print(report)
    for result in (held_out, everything):
        assert result.precision >= 0.95 and result.recall >= 0.95, report
