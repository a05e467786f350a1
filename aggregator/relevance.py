"""Source scope and the relevance rule: what makes an event tech enough to publish.

A source's scope says how its events earn relevance:

* ``tech``: the organizer's or a tech community's own feed. Every event is relevant unless it
  is clearly off topic: strong off-topic cues (concert, yoga, marché...) outweigh every tech
  cue by a full strong cue (``off_topic``). A tech group's "Apéro de fin d'année" stays, and so
  does its party whose description mentions a DJ.
* ``mixed``: a city, library, venue or general agenda. Each event must reach the source's
  threshold with its own words (``aggregator.topics.explain``), plus the kind's prior.

Sources added by an admin or submitted by an organizer default to ``tech``; the region pack's
general agendas (kinds aggregator, venue, city, library) to ``mixed``. ``Event.relevance`` is
stored on a scale where 1.0 is the source's bar (``scope_relevance``). Pure functions only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from aggregator.regions import load_region
from aggregator.topics import Taxonomy, explain, load_taxonomy

DEFAULT_REGION = "aix-marseille"  # the settings' default region pack

TECH, MIXED = "tech", "mixed"
SCOPES = (TECH, MIXED)
MIXED_KINDS = frozenset({"aggregator", "venue", "city", "library"})
# sources check proposes "tech" when at least this share of a feed's events score tech alone.
TECH_SHARE = 0.6


def default_scope(kind: str | None) -> str:
    """The scope of a source that has none set: mixed for general agendas, else tech."""
    return MIXED if (kind or "").strip().lower() in MIXED_KINDS else TECH


def effective_scope(scope: str | None, kind: str | None) -> str:
    """A source's scope: its own when valid, else its kind's default."""
    return scope if scope in SCOPES else default_scope(kind)


def check_scope(value: str | None) -> str | None:
    """A scope as given by a person: tech, mixed, or empty (None); ValueError otherwise."""
    text = (value or "").strip().lower()
    if not text:
        return None
    if text not in SCOPES:
        raise ValueError(f"unknown scope {value!r}: use tech or mixed")
    return text


def off_topic(content: float, taxonomy: Taxonomy) -> bool:
    """True when strong off-topic cues outweigh every tech cue of the event by a full strong
    cue (one in the title, or two in the description): a concert, a yoga class, a market."""
    return content <= -taxonomy.strong_off_topic_weight


def scope_relevance(
    content: float, *, scope: str, prior: float, threshold: float, taxonomy: Taxonomy
) -> float:
    """``Event.relevance`` (1.0 = the bar) from the content score and the source's settings."""
    if threshold <= 0:  # an admin lowered the bar to nothing: only off-topic events stay out
        return 0.0 if off_topic(content, taxonomy) else 1.0
    if scope == TECH:
        return 0.0 if off_topic(content, taxonomy) else round(max(1.0, content / threshold), 3)
    return round(max(content + prior, 0.0) / threshold, 3)


@dataclass(frozen=True)
class ScopeProposal:
    """What ``sources check`` proposes for a feed, and why."""

    scope: str
    tech_share: float  # share of the events that reach the bar on their own words
    events: int

    def __str__(self) -> str:
        return (
            f"scope proposed: {self.scope} ({self.tech_share:.0%} of {self.events} events "
            f"score tech on their own words)"
        )

    def as_json(self) -> dict[str, Any]:
        """What ``Source.last_check`` keeps of it."""
        return {"scope_proposed": self.scope, "tech_share": self.tech_share}


def _words(event: Any) -> tuple[str, str | None, tuple[str, ...]]:
    """(title, description, categories) of a tuple, a dict, a RawEvent or a NormalizedEvent."""
    if isinstance(event, tuple):
        title, description, *rest = (*event, ())
        return str(title or ""), description, tuple(rest[0] or ())
    get = event.get if isinstance(event, dict) else lambda k, d=None: getattr(event, k, d)
    description = get("description") or get("description_text")
    return str(get("title") or ""), description, tuple(get("categories") or ())


def propose_scope(
    events: Iterable[Any], taxonomy: Taxonomy | None = None, *, threshold: float = 1.0
) -> ScopeProposal:
    """Propose tech when most of a feed's events score tech on their own words, else mixed.

    ``events``: RawEvents, NormalizedEvents, dicts or (title, description[, categories])
    tuples; ``taxonomy`` defaults to the shared one with the default region's additions.
    """
    if taxonomy is None:
        taxonomy = load_taxonomy(load_region(DEFAULT_REGION))
    scores = [explain(*_words(e), taxonomy).score for e in events]
    if not scores:
        return ScopeProposal(TECH, 0.0, 0)
    share = sum(s >= threshold for s in scores) / len(scores)
    return ScopeProposal(TECH if share >= TECH_SHARE else MIXED, round(share, 3), len(scores))


def exclusion_reason(
    title: str,
    description: str | None,
    categories: tuple[str, ...],
    taxonomy: Taxonomy,
    *,
    scope: str,
    threshold: float,
    language: str = "en",
) -> str:
    """Why an event is not tech enough, with the words behind its score, in English (the
    CLI) or French (the admin), e.g. "not tech enough (mixed source): score 0.40 < threshold
    1.00 (words: concert -1.0)" / "hors sujet (source mixte) : score 0.40 < seuil 1.00 (mots :
    concert -1.0)"."""
    relevance = explain(title, description, categories, taxonomy)
    score = f"{relevance.score:.2f}"
    if language.startswith("fr"):
        words = relevance.why() or "aucun mot tech"
        if scope == TECH:
            return f"hors sujet pour une source tech : score {score} (mots : {words})"
        return f"hors sujet (source mixte) : score {score} < seuil {threshold:.2f} (mots : {words})"
    words = relevance.why() or "no tech word"
    if scope == TECH:
        return f"off topic for a tech source: score {score} (words: {words})"
    return (
        f"not tech enough (mixed source): score {score} < threshold {threshold:.2f} "
        f"(words: {words})"
    )
