"""The collapse guard: a source that suddenly lists nothing, or loses most of what it listed,
has more likely been redesigned (selectors no longer match, a feed emptied by mistake) than
cancelled its whole programme.

:func:`judge_crawl` is pure. Given what one *complete, successful* crawl listed, what the
store holds live for the source, and how many crawls in a row each missing listing has
been missing, it decides:

* **collapsed** — the source used to list upcoming events and now lists none of them, or
  has lost more than half of them (judged from ``MIN_FOR_SHARE`` upcoming listings up):
  nothing is counted gone, the source is marked suspect, the admin and the organizer are
  told;
* otherwise, which listings are **gone**: those missing from ``gone_after`` successful
  crawls in a row (a one-off glitch never cancels anything), and the updated counters.

Cancellations a source states (``STATUS:CANCELLED``, OpenAgenda status 6...) are not
decided here: the listing is present and says so, and ingest applies it at once.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

EMPTIED, HALVED = "emptied", "halved"
MIN_FOR_SHARE = 3  # upcoming listings before "lost more than half" means anything


@dataclass(frozen=True)
class CrawlVerdict:
    """What one complete crawl of a source means for its stored listings."""

    collapsed: bool
    reason: str | None = None  # EMPTIED or HALVED when collapsed
    expected: int = 0  # upcoming listings the store held live before the crawl
    lost: int = 0  # how many of them this crawl did not list
    gone: frozenset[str] = frozenset()  # external ids that count as gone now
    missing: dict[str, int] = field(default_factory=dict)  # counters to keep

    def message(self, language: str = "en") -> str:
        """The reason in plain words, for the admin page and the source's row."""
        if not self.collapsed:
            return ""
        if self.reason == EMPTIED:
            if language == "fr":
                return (f"la dernière lecture ne trouve plus aucun des {self.expected} "
                        "événements à venir : page refaite ou flux vidé ? Les événements "
                        "sont gardés.")  # fmt: skip
            return (f"the last crawl found none of the {self.expected} upcoming events: "
                    "page redesigned or feed emptied? The events are kept.")  # fmt: skip
        if language == "fr":
            return (f"la dernière lecture a perdu {self.lost} des {self.expected} événements "
                    "à venir : page refaite ? Les événements sont gardés.")  # fmt: skip
        return (f"the last crawl lost {self.lost} of the {self.expected} upcoming events: "
                "page redesigned? The events are kept.")  # fmt: skip


def judge_crawl(
    listed: Collection[str],
    live: Collection[str],
    upcoming: Collection[str],
    missing: Mapping[str, int],
    *,
    gone_after: int,
) -> CrawlVerdict:
    """Judge one complete crawl.

    ``listed``: external ids the crawl listed; ``live``: the source's stored listings not
    gone yet; ``upcoming``: those of them whose event has not ended; ``missing``: the
    counters kept from earlier crawls; ``gone_after``: crawls in a row before gone (≥ 1).
    """
    listed_set = set(listed)
    expected = set(upcoming) & set(live)
    lost = expected - listed_set
    emptied = bool(expected) and not listed_set
    halved = len(expected) >= MIN_FOR_SHARE and 2 * len(lost) > len(expected)
    if emptied or halved:
        return CrawlVerdict(
            collapsed=True,
            reason=EMPTIED if emptied else HALVED,
            expected=len(expected),
            lost=len(lost),
            missing={k: v for k, v in missing.items() if k in live},
        )
    counters: dict[str, int] = {}
    gone: set[str] = set()
    for ext in set(live) - listed_set:
        count = missing.get(ext, 0) + 1
        if count >= max(1, gone_after):
            gone.add(ext)
        else:
            counters[ext] = count
    return CrawlVerdict(
        collapsed=False,
        expected=len(expected),
        lost=len(lost),
        gone=frozenset(gone),
        missing=counters,
    )
