"""Issue 21's fast paths give what the straightforward code gave.

* The topic finder (token tables) against the regex alternations it replaced, kept here as
  the reference and built from the same taxonomy: random texts made of keywords, their
  pieces and the characters around word boundaries.
* ``normalize`` of every RawEvent parsed from tests/data, the dedupe pairs, the labelled
  relevance events and the benchmark corpus against a snapshot taken before the change
  (``tests/aggregator/normalize_corpus.py``), cold and again with every memo warm.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.normalize import canonical_url, clean_title, clean_url, html_to_text, sanitize_html
from aggregator.place import clean_text
from aggregator.regions import fold, load_region
from aggregator.topics import _Matcher, load_taxonomy
from tests.aggregator import normalize_corpus


class RegexMatcher:
    """The matcher before issue 21: one alternation of every keyword per mode."""

    def __init__(self, keywords: dict[str, set[str]]) -> None:
        self.labels: dict[tuple[int, str], set[str]] = defaultdict(set)
        self.names: dict[tuple[int, str], str] = {}
        modes: tuple[list[str], list[str], list[str]] = ([], [], [])
        for keyword, labels in keywords.items():
            letters = re.sub(r"[^A-Za-z]", "", keyword)
            if keyword.isupper() and len(letters) <= 3 and keyword.isalnum():
                mode, key = 1, keyword
            elif re.search(r"[+#./]", keyword):
                mode, key = 2, keyword.lower()
            elif len(fold(keyword)) >= 2:
                mode, key = 0, fold(keyword)
            else:
                continue
            modes[mode].append(re.escape(key))
            self.labels[(mode, key)].update(labels)
            self.names.setdefault((mode, key), keyword)
        self.patterns = tuple(self._alternation(parts) for parts in modes)

    @staticmethod
    def _alternation(parts: list[str]) -> re.Pattern[str] | None:
        if not parts:
            return None
        parts = sorted(set(parts), key=len, reverse=True)
        return re.compile(r"(?<![\w])(" + "|".join(parts) + r")(?![\w])")

    def sequence(self, mode: int, text: str) -> tuple[str, ...]:
        """The keywords of ``mode`` found in ``text`` (fold(text) for mode 0), in order."""
        pattern = self.patterns[mode]
        target = text.lower() if mode == 2 else text
        return tuple(m.group(1) for m in pattern.finditer(target)) if pattern and target else ()

    def find(self, text: str, folded_text: str) -> dict[str, set[str]]:
        hits: dict[str, set[str]] = defaultdict(set)
        targets = (folded_text, text, text.lower())
        for mode, (pattern, target) in enumerate(zip(self.patterns, targets, strict=True)):
            if pattern is None or not target:
                continue
            for match in pattern.finditer(target):
                key = match.group(1)
                for label in self.labels.get((mode, key), ()):
                    hits[label].add(self.names.get((mode, key), key))
        return hits


REGION = load_region("aix-marseille")
TAXONOMIES = (load_taxonomy(), load_taxonomy(REGION))


def _matcher(index: int) -> _Matcher:
    matcher = TAXONOMIES[index]._matcher
    assert matcher is not None
    return matcher


REFERENCES = tuple(RegexMatcher(_matcher(i).keywords) for i in range(len(TAXONOMIES)))
KEYWORDS = sorted({k for i in range(len(TAXONOMIES)) for k in _matcher(i).keywords})
PIECES = sorted({p for k in KEYWORDS for p in re.split(r"(\W)", k) if p})
GLUE = [" ", "  ", "", "-", ".", "+", "#", "/", "_", "'", ",", "\n", "é", "x", "2", "É", "(", ")"]


def _spelling(word: str, how: int) -> str:
    return (word, word.upper(), word.lower(), word.title(), fold(word))[how]


words = st.one_of(
    st.builds(_spelling, st.sampled_from(KEYWORDS), st.integers(0, 4)),
    st.builds(_spelling, st.sampled_from(PIECES), st.integers(0, 4)),
    st.sampled_from(GLUE),
    st.text(max_size=4),
)
texts = st.lists(words, max_size=14).map("".join)


def _same(found: dict[str, set[str]], expected: dict[str, set[str]]) -> None:
    assert {k: v for k, v in found.items() if v} == {k: v for k, v in expected.items() if v}


def _same_order(text: str, which: int) -> None:
    """The same keywords in the same order, mode by mode (the order explain() adds them)."""
    for mode, target in enumerate((fold(text), text, text)):
        expected = REFERENCES[which].sequence(mode, target)
        assert _matcher(which)._keys_in(mode, target) == expected, (mode, target)


@settings(max_examples=400, deadline=None)
@given(texts, st.integers(0, len(TAXONOMIES) - 1))
def test_the_token_finder_finds_what_the_regex_alternation_found(text: str, which: int) -> None:
    folded = fold(text)
    expected = REFERENCES[which].find(text, folded)
    _same(_matcher(which).find(text, folded), expected)
    _same(_matcher(which).find(text, folded), expected)  # remembered: the same again
    _same_order(text, which)


@pytest.mark.parametrize(
    "text",
    [
        "asp.net", "ASP.NET et .NET", "c++x", "C++ / C#", "node.js,react", "Go, IA & AI", "go",
        "Tech", "la tech-week", "data science data", "machine  learning", "DevOps_day", "",
        "\u0130stanbul ia", "IA\u0301", "web3 web 3", "l'IA", "Python3 python",
    ],
)
def test_the_token_finder_on_word_boundary_cases(text: str) -> None:
    for which in range(len(TAXONOMIES)):
        _same(_matcher(which).find(text, fold(text)), REFERENCES[which].find(text, fold(text)))
        _same_order(text, which)


def test_every_labelled_event_finds_the_same_words() -> None:
    lines = (normalize_corpus.DATA / "relevance" / "events.csv").read_text(encoding="utf-8")
    for text in lines.splitlines():
        for which in range(len(TAXONOMIES)):
            _same(_matcher(which).find(text, fold(text)),
                  REFERENCES[which].find(text, fold(text)))
            _same_order(text, which)


@pytest.mark.parametrize(
    "value",
    [
        "<b>x</b> &amp; y", "a\n\nb", "  ", "http://Ex.org:80/a?utm_x=1", "HACKATHON À AIX | Meetup",
        "https://ex.org/" + "a" * 3000, "Atelier Python en ligne. " * 400,  # past the memos
    ],
)
def test_remembered_text_functions_give_the_same_value_twice(value: str) -> None:
    for function in (sanitize_html, clean_url, canonical_url, clean_text):
        assert function(value) == function(value)
    html = sanitize_html(value)
    assert html_to_text(html) == html_to_text(html)
    assert clean_title(value, REGION) == clean_title(value, REGION) == clean_title(value, REGION)


def test_normalize_gives_the_snapshot_taken_before_the_fast_paths() -> None:
    snapshot = json.loads(normalize_corpus.SNAPSHOT.read_text(encoding="utf-8"))
    compared, differ = 0, []
    for name, raws in normalize_corpus.groups():
        if name not in snapshot or snapshot[name][0] != normalize_corpus.input_digest(raws):
            continue  # inputs moved since the snapshot: nothing to compare
        compared += 1
        cold = normalize_corpus.output_digest(raws)
        warm = normalize_corpus.output_digest(raws)
        if not cold == warm == snapshot[name][1]:
            differ.append(name)
    if not compared:
        pytest.skip("the snapshot's inputs all moved: regenerate it (normalize_corpus.py)")
    assert not differ
    assert compared >= len(snapshot) // 2, "most inputs moved: regenerate the snapshot"
