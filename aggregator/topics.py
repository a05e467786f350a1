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
    """Finds keywords as whole words: folded text, or exact case for short acronyms.

    Three matching modes (folded text; exact case for short acronyms; lower case for the
    keywords with ``+#./``), each a table of keywords by their first token. The text of a
    mode is cut once into tokens (runs of word characters, single other characters) and
    read left to right: at each token the longest keyword that starts there, with no word
    character on either side, is a hit and the reading goes on after it. That is what one
    alternation of every keyword (longest first) between ``(?<![\\w])`` and ``(?![\\w])``
    finds with ``finditer``; ``tests/aggregator/test_normalize_equivalence.py`` keeps that
    alternation as the reference. A hit maps back to its labels.
    """

    def __init__(self, keywords: dict[str, set[str]]) -> None:
        self.labels: dict[tuple[int, str], set[str]] = defaultdict(set)
        self.names: dict[tuple[int, str], str] = {}  # as the taxonomy writes it, for display
        self.keywords = keywords  # what it was built from (keyword -> labels)
        self.modes: tuple[_Table, _Table, _Table] = (_Table(), _Table(), _Table())
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
        """label -> the distinct keywords of that label found in the text."""
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
            found = table.scan(target.lower() if mode == 2 else target) if table.keys else ()
            _remember(self._memo, (mode, target), found, len(target))
        return found


# Texts remembered per matcher or taxonomy, up to _MEMO_TEXT characters: a full memo starts
# again (a bound on memory, not an LRU).
_MEMO_SIZE, _MEMO_TEXT = 1 << 12, 8000


def _remember(memo: dict[Any, Any], key: Any, value: Any, size: int) -> None:
    if size <= _MEMO_TEXT:
        if len(memo) >= _MEMO_SIZE:
            memo.clear()
        memo[key] = value
_TOKENS = re.compile(r"\w+|\W")
_WORD = re.compile(r"\w")


class _Table:
    """The keywords of one mode as token sequences, by first token."""

    def __init__(self) -> None:
        self.keys: dict[tuple[str, ...], str] = {}
        self.longest: dict[str, int] = {}  # first token -> most tokens of a keyword

    def add(self, key: str) -> None:
        tokens = tuple(_TOKENS.findall(key))
        self.keys[tokens] = key
        self.longest[tokens[0]] = max(self.longest.get(tokens[0], 0), len(tokens))

    def scan(self, text: str) -> tuple[str, ...]:
        tokens = _TOKENS.findall(text)
        longest, keys = self.longest, self.keys
        found: list[str] = []
        count, at = len(tokens), 0
        while at < count:
            span = longest.get(tokens[at])
            if span is None:
                at += 1
                continue
            for size in range(min(span, count - at), 0, -1):
                key = keys.get(tuple(tokens[at : at + size]))
                if key is None:
                    continue
                # Word characters either side of a key that starts or ends with a symbol
                # ("c++", ".net") would join it to a word; a word token ends at a non-word.
                if not _WORD.match(key) and at and _WORD.match(tokens[at - 1]):
                    continue
                end = at + size
                if not _WORD.match(key[-1]) and end < count and _WORD.match(tokens[end]):
                    continue
                found.append(key)
                at = end
                break
            else:
                at += 1
        return tuple(found)


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
    topics = tuple(
        t.slug
        for t in taxonomy.topics
        if found["title"].get(t.slug)
        or found["categories"].get(t.slug)
        or len(found["description"].get(t.slug, ())) >= 2
    )
    best: dict[str, tuple[str, float]] = {}  # folded word -> (word, what it adds)
    strong_title = strong_off = False
    for place in PLACES:
        for key, labels in _keys(found[place]).items():
            factor = taxonomy.place_weight(place)
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
