"""Topics and tech relevance from a transparent keyword taxonomy kept as data.

The taxonomy is ``aggregator/regions/_taxonomy.toml`` plus the region pack's additions (its
header states the scoring rules). :func:`explain` scores an event from its words and names the
words behind the score; :func:`classify` gives its topics and score. Whether the score is
enough depends on the source's scope and threshold (``aggregator.relevance``).
"""

from __future__ import annotations

import re
import tomllib
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from aggregator.regions import TAXONOMY_FILE, Region, fold


@dataclass(frozen=True, slots=True)
class Topic:
    """One topic of the taxonomy."""

    slug: str
    fr: str
    en: str
    keywords: tuple[str, ...]
    weight: float = 1.0

    def label(self, language: str | None = "fr") -> str:
        return self.en if (language or "fr").startswith("en") else self.fr


class _Matcher:
    r"""Finds keywords as whole words: folded text, or exact case for short acronyms.

    Three matching modes: folded text (``fold``: words and single spaces), exact case for
    short acronyms (one word each), lower case for the keywords with ``+#./``. Each is a
    trie of its keywords' tokens; a text is cut once into tokens (its words for the first
    two modes; runs of word characters and single other characters for the third) and read
    left to right: at each token the longest keyword that starts there, with no word
    character on either side, is a hit and the reading goes on after it. That is what one
    alternation of every keyword (longest first) between ``(?<![\w])`` and ``(?![\w])``
    finds with ``finditer``; ``tests/aggregator/test_normalize_equivalence.py`` keeps that
    alternation as the reference. A hit maps back to its labels.
    """

    def __init__(self, keywords: dict[str, set[str]]) -> None:
        self.labels: dict[tuple[int, str], set[str]] = defaultdict(set)
        self.names: dict[tuple[int, str], str] = {}  # as the taxonomy writes it, for display
        self.keywords = keywords  # what it was built from (keyword -> labels)
        self.modes = (_Table(str.split), _Table(_RUNS.findall), _Table(_TOKENS.findall))
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
            self.modes[mode].add(key)
            self.labels[(mode, key)].update(labels)
            self.names.setdefault((mode, key), keyword)
        self._memo: dict[tuple[int, str], tuple[str, ...]] = {}

    def find(self, text: str, folded_text: str) -> dict[str, set[str]]:
        """label -> the distinct keywords of that label found in the text.

        ``folded_text`` is ``fold(text)``."""
        hits: dict[str, set[str]] = defaultdict(set)
        for mode, target in enumerate((folded_text, text, text)):
            if not target:
                continue
            for key in self._keys_in(mode, target):
                for label in self.labels.get((mode, key), ()):
                    hits[label].add(self.names.get((mode, key), key))
        return hits

    def _keys_in(self, mode: int, target: str) -> tuple[str, ...]:
        """The keywords of ``mode`` in ``target``, in text order (remembered per text)."""
        found = self._memo.get((mode, target))
        if found is None:
            table = self.modes[mode]
            found = table.scan(target.lower() if mode == 2 else target) if table.root else ()
            _remember(self._memo, (mode, target), found, len(target))
        return found


_NEEDLES = 64  # keywords looked for as substrings before a text is cut into tokens
_TOKENS = re.compile(r"\w+|\W")
_RUNS = re.compile(r"\w+")
_WORD = re.compile(r"\w")


class _Table:
    """The keywords of one mode as a trie of tokens (a keyword ends at a node's "" entry).

    ``tokens`` cuts a text (and a keyword) into tokens."""

    def __init__(self, tokens: Callable[[str], list[str]]) -> None:
        self.root: dict[str, Any] = {}
        self.tokens = tokens
        self.keys: list[str] = []
        self.needles: tuple[str, ...] = ()  # all the keywords, when they are few

    def add(self, key: str) -> None:
        node = self.root
        for token in self.tokens(key):
            node = node.setdefault(token, {})
        node[""] = key  # no token is empty
        self.keys.append(key)
        self.needles = tuple(self.keys) if len(self.keys) <= _NEEDLES else ()

    def scan(self, text: str) -> tuple[str, ...]:
        if self.needles and not any(needle in text for needle in self.needles):
            return ()  # a few keywords, none a part of the text (looked for in C)
        tokens = self.tokens(text)
        root = self.root
        firsts = root.keys() & set(tokens)
        if not firsts:
            return ()
        starts: list[int] = []  # where a keyword may start, found by list.index (in C)
        for first in firsts:
            at = -1
            try:
                while True:
                    at = tokens.index(first, at + 1)
                    starts.append(at)
            except ValueError:
                pass
        starts.sort()
        found: list[str] = []
        count, free = len(tokens), 0  # tokens before ``free`` are in a keyword found
        for at in starts:
            # A keyword starting with a symbol (".net") must not follow a word character;
            # one starting with a word does not (a word token is a whole run of them).
            if at < free or (at and not _WORD.match(tokens[at]) and _WORD.match(tokens[at - 1])):
                continue
            node, end, best = root[tokens[at]], at + 1, None
            while True:
                key = node.get("")
                # ...and the same after one ending with a symbol ("c++").
                if key is not None and (
                    end == count or _WORD.match(key[-1]) or not _WORD.match(tokens[end])
                ):
                    best, free_at = key, end
                if end == count:
                    break
                node = node.get(tokens[end])
                if node is None:
                    break
                end += 1
            if best is not None:
                found.append(best)
                free = free_at
        return tuple(found)


# Texts remembered per matcher or taxonomy, up to _MEMO_TEXT characters: a full memo starts
# again (a bound on memory, not an LRU).
_MEMO_SIZE, _MEMO_TEXT = 1 << 12, 8000


def _remember(memo: dict[Any, Any], key: Any, value: Any, size: int) -> None:
    if size <= _MEMO_TEXT:
        if len(memo) >= _MEMO_SIZE:
            memo.clear()
        memo[key] = value
# How much a place counts: a cue in the title, the categories or the description.
PLACES = ("title", "categories", "description")


@dataclass(frozen=True)
class Taxonomy:
    """Topics, their matcher and the relevance weights (see the TOML file for the rules)."""

    topics: tuple[Topic, ...]
    title_weight: float = 1.0
    category_weight: float = 0.75
    description_weight: float = 0.5
    tech_word_weight: float = 0.5
    strong_tech_weight: float = 1.0
    off_topic_weight: float = 0.5
    strong_off_topic_weight: float = 1.0
    off_topic_description_weight: float = 0.5
    phrase_weight: float = 1.5
    source_priors: dict[str, float] = field(default_factory=dict)
    _matcher: _Matcher | None = field(default=None, repr=False)
    _cue_weights: dict[str, float] = field(default_factory=dict, repr=False)
    # (title, categories, description) -> what explain() said (a copy starts with none)
    _explained: dict[tuple[str, str, str], Relevance] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def topic(self, slug: str) -> Topic | None:
        return next((t for t in self.topics if t.slug == slug), None)

    def labels(self, language: str | None = "fr") -> dict[str, str]:
        """slug -> display name in ``language`` (fr or en), in taxonomy order."""
        return {t.slug: t.label(language) for t in self.topics}

    def place_weight(self, place: str) -> float:
        return {
            "title": self.title_weight,
            "categories": self.category_weight,
            "description": self.description_weight,
        }[place]


# Labels of relevance cues in the matcher (topics use their slug).
_CUES = {
    "tech_words": "+tech",
    "strong_tech_words": "+strong",
    "off_topic_words": "-off",
    "strong_off_topic_words": "-strong",
}


@cache
def load_taxonomy(region: Region | None = None) -> Taxonomy:
    """The shared taxonomy, with the region pack's keyword and cue additions (cached)."""
    data: dict[str, Any] = tomllib.loads(TAXONOMY_FILE.read_text(encoding="utf-8"))
    extra = region.taxonomy_additions if region else {}
    topics = tuple(
        Topic(
            slug=slug,
            fr=spec.get("fr", slug),
            en=spec.get("en", slug),
            keywords=tuple(spec.get("keywords", ())) + tuple(extra.get(slug, ())),
            weight=float(spec.get("weight", 1.0)),
        )
        for slug, spec in data.get("topics", {}).items()
    )
    relevance = data.get("relevance", {})
    mapping = _keyword_map(topics)
    for name, label in _CUES.items():
        for word in (*relevance.get(name, ()), *extra.get(f"relevance.{name}", ())):
            mapping[word].add(label)
    tax = Taxonomy(
        topics=topics,
        title_weight=float(data.get("title_weight", 1.0)),
        category_weight=float(data.get("category_weight", 0.75)),
        description_weight=float(data.get("description_weight", 0.5)),
        tech_word_weight=float(relevance.get("tech_word_weight", 0.5)),
        strong_tech_weight=float(relevance.get("strong_tech_weight", 1.0)),
        off_topic_weight=float(relevance.get("off_topic_weight", 0.5)),
        strong_off_topic_weight=float(relevance.get("strong_off_topic_weight", 1.0)),
        off_topic_description_weight=float(relevance.get("off_topic_description_weight", 0.5)),
        phrase_weight=float(relevance.get("phrase_weight", 1.5)),
        source_priors={k: float(v) for k, v in relevance.get("source_priors", {}).items()},
        _matcher=_Matcher(mapping),
    )
    weights = {
        "+tech": tax.tech_word_weight,
        "+strong": tax.strong_tech_weight,
        "-off": -tax.off_topic_weight,
        "-strong": -tax.strong_off_topic_weight,
        **{t.slug: t.weight for t in topics},
    }
    tax._cue_weights.update(weights)
    return tax


def _keyword_map(topics: tuple[Topic, ...]) -> dict[str, set[str]]:
    mapping: dict[str, set[str]] = defaultdict(set)
    for topic in topics:
        for keyword in topic.keywords:
            mapping[keyword].add(topic.slug)
    return mapping


@dataclass(frozen=True)
class Relevance:
    """An event's tech relevance: its score and the words that made it (for an admin)."""

    topics: tuple[str, ...]
    # Negative when off-topic cues outweigh the tech ones; below -off_topic_weight only when a
    # strong off-topic cue (concert, yoga, marché...) does: "clearly off topic".
    score: float
    words: tuple[tuple[str, float], ...]  # (word as matched, what it added), largest first

    def why(self, limit: int = 4) -> str:
        """The words behind the score, e.g. "concert −1.0, numérique +0.5"."""
        return ", ".join(f"{w} {c:+.1f}" for w, c in self.words[:limit])


def explain(
    title: str, description: str | None, categories: tuple[str, ...], taxonomy: Taxonomy
) -> Relevance:
    """Score an event from its words: each distinct cue counts once, at its best place.

    A topic keyword adds its topic's weight, a generic tech word ``tech_word_weight``, a strong
    one ``strong_tech_weight``; a keyword of several words (a phrase) counts ``phrase_weight``
    times more. Off-topic cues subtract. Each is scaled by where it stands (title, categories,
    description). A topic is given when a keyword is in the title or categories, or when two
    different keywords of it are in the description.
    """
    texts = (title or "", " ; ".join(categories), (description or "")[:20000])
    relevance = taxonomy._explained.get(texts)
    if relevance is None:
        relevance = _explain(*texts, taxonomy)
        _remember(taxonomy._explained, texts, relevance, len(texts[0]) + len(texts[2]))
    return relevance


def _explain(title: str, categories: str, description: str, taxonomy: Taxonomy) -> Relevance:
    texts = {"title": title, "categories": categories, "description": description}
    assert taxonomy._matcher is not None
    found = {p: taxonomy._matcher.find(t, fold(t)) for p, t in texts.items()}
    present = found["title"].keys() | found["categories"].keys() | found["description"].keys()
    topics = tuple(
        t.slug
        for t in taxonomy.topics
        if t.slug in present
        and (
            found["title"].get(t.slug)
            or found["categories"].get(t.slug)
            or len(found["description"].get(t.slug, ())) >= 2
        )
    )
    best: dict[str, tuple[str, float]] = {}  # folded word -> (word, what it adds)
    strong_title = strong_off = False
    for place in PLACES:
        place_factor = taxonomy.place_weight(place)
        for key, labels in _keys(found[place]).items():
            factor = place_factor
            weights = [taxonomy._cue_weights.get(label, 0.0) for label in labels]
            weight = min(weights) if min(weights) < 0 else max(weights)
            if weight > 0 and " " in key.strip():
                weight *= taxonomy.phrase_weight
            strong_title = strong_title or (place == "title" and weight >= 1.0)
            strong_off = strong_off or weight <= -taxonomy.strong_off_topic_weight
            if weight < 0 and place == "description":  # an aside, not what the event is
                factor = taxonomy.off_topic_description_weight
            value, folded = weight * factor, fold(key)
            if folded not in best or abs(value) > abs(best[folded][1]):
                best[folded] = (key, value)
    if strong_title:  # a plain tech title is not undone by a weak off-topic word ("festival")
        weak = -taxonomy.off_topic_weight
        best = {k: kv for k, kv in best.items() if not (weak * 1.001 <= kv[1] < 0)}
    words = tuple(sorted(((k, round(v, 3)) for k, v in best.values()), key=lambda kv: -abs(kv[1])))
    score = sum(v for _, v in best.values())
    if not strong_off:  # weak off-topic words alone never make an event "off topic"
        score = max(score, -taxonomy.off_topic_weight)
    return Relevance(topics, round(score, 3), words)


def _keys(hits: dict[str, set[str]]) -> dict[str, set[str]]:
    """Invert label -> keys into key -> labels."""
    keys: dict[str, set[str]] = defaultdict(set)
    for label, found in hits.items():
        for key in found:
            keys[key].add(label)
    return keys


def classify(
    title: str, description: str | None, categories: tuple[str, ...], taxonomy: Taxonomy
) -> tuple[tuple[str, ...], float]:
    """The topics of an event (taxonomy order) and its tech-relevance score (see ``explain``)."""
    relevance = explain(title, description, categories, taxonomy)
    return relevance.topics, relevance.score


def source_prior(kind: str | None, taxonomy: Taxonomy) -> float:
    """The relevance a source's kind adds to each of its events (0 for a city agenda)."""
    return taxonomy.source_priors.get((kind or "").strip().lower(), 0.0)
