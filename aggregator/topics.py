"""Topics and tech relevance from a transparent keyword taxonomy kept as data.

The taxonomy is ``aggregator/regions/_taxonomy.toml`` plus the region pack's additions.
:func:`classify` returns the topics of an event and a relevance score; an event is
relevant when its score (plus its source's prior, see :func:`source_prior`) reaches the
source's threshold. The scoring rules are written at the top of the TOML file.
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

    One alternation per matching mode over every keyword; a hit maps back to its labels.
    """

    def __init__(self, keywords: dict[str, set[str]]) -> None:
        self.labels: dict[tuple[int, str], set[str]] = defaultdict(set)
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
        self.patterns = tuple(_alternation(parts) for parts in modes)

    def find(self, text: str, folded_text: str) -> dict[str, set[str]]:
        """label -> the distinct keywords of that label found in the text."""
        hits: dict[str, set[str]] = defaultdict(set)
        targets = (folded_text, text, text.lower())
        for mode, (pattern, target) in enumerate(zip(self.patterns, targets, strict=True)):
            if pattern is None or not target:
                continue
            for match in pattern.finditer(target):
                key = match.group(1)
                for label in self.labels.get((mode, key), ()):
                    hits[label].add(key)
        return hits


def _alternation(parts: list[str]) -> re.Pattern[str] | None:
    if not parts:
        return None
    parts = sorted(set(parts), key=len, reverse=True)
    return re.compile(r"(?<![\w])(" + "|".join(parts) + r")(?![\w])")


@dataclass(frozen=True)
class Taxonomy:
    """Topics, their matchers and the relevance weights."""

    topics: tuple[Topic, ...]
    title_weight: float = 1.0
    category_weight: float = 0.75
    description_weight: float = 0.5
    tech_word_weight: float = 0.5
    off_topic_weight: float = 0.5
    source_priors: dict[str, float] = field(default_factory=dict)
    _topics: _Matcher | None = field(default=None, repr=False)
    _tech: _Matcher | None = field(default=None, repr=False)
    _off: _Matcher | None = field(default=None, repr=False)

    def topic(self, slug: str) -> Topic | None:
        return next((t for t in self.topics if t.slug == slug), None)

    def labels(self, language: str | None = "fr") -> dict[str, str]:
        """slug -> display name in ``language`` (fr or en), in taxonomy order."""
        return {t.slug: t.label(language) for t in self.topics}


@cache
def load_taxonomy(region: Region | None = None) -> Taxonomy:
    """The shared taxonomy, with the region pack's keyword additions (cached)."""
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
    return Taxonomy(
        topics=topics,
        title_weight=float(data.get("title_weight", 1.0)),
        category_weight=float(data.get("category_weight", 0.75)),
        description_weight=float(data.get("description_weight", 0.5)),
        tech_word_weight=float(relevance.get("tech_word_weight", 0.5)),
        off_topic_weight=float(relevance.get("off_topic_weight", 0.5)),
        source_priors={k: float(v) for k, v in relevance.get("source_priors", {}).items()},
        _topics=_Matcher(_keyword_map(topics)),
        _tech=_Matcher({w: {"tech"} for w in relevance.get("tech_words", ())}),
        _off=_Matcher({w: {"off"} for w in relevance.get("off_topic_words", ())}),
    )


def _keyword_map(topics: tuple[Topic, ...]) -> dict[str, set[str]]:
    mapping: dict[str, set[str]] = defaultdict(set)
    for topic in topics:
        for keyword in topic.keywords:
            mapping[keyword].add(topic.slug)
    return mapping


def classify(
    title: str, description: str | None, categories: tuple[str, ...], taxonomy: Taxonomy
) -> tuple[tuple[str, ...], float]:
    """The topics of an event (taxonomy order) and its tech-relevance score (>= 0).

    A topic is given when a keyword is in the title or categories, or when two different
    keywords of it are in the description.
    """
    description = (description or "")[:20000]
    places = {
        "title": (title, taxonomy.title_weight),
        "categories": (" ; ".join(categories), taxonomy.category_weight),
        "description": (description, taxonomy.description_weight),
    }
    folded = {k: fold(text) for k, (text, _) in places.items()}
    assert taxonomy._topics and taxonomy._tech and taxonomy._off
    found = {k: taxonomy._topics.find(text, folded[k]) for k, (text, _) in places.items()}
    topics: list[str] = []
    score = 0.0
    for topic in taxonomy.topics:
        hits = {k: found[k].get(topic.slug, set()) for k in places}
        if hits["title"] or hits["categories"] or len(hits["description"]) >= 2:
            topics.append(topic.slug)
        score += topic.weight * sum(places[k][1] for k, kws in hits.items() if kws)
    tech, off = taxonomy._tech, taxonomy._off
    if tech.find(title, folded["title"]) or tech.find(description, folded["description"]):
        score += taxonomy.tech_word_weight
    if not found["title"] and off.find(title, folded["title"]):
        score -= taxonomy.off_topic_weight
    return tuple(topics), round(max(score, 0.0), 3)


def source_prior(kind: str | None, taxonomy: Taxonomy) -> float:
    """The relevance a source's kind adds to each of its events (0 for a city agenda)."""
    return taxonomy.source_priors.get((kind or "").strip().lower(), 0.0)
