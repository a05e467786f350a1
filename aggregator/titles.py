"""A title's comparable key: the words that say which event it is, in order (pure)."""

from __future__ import annotations

from aggregator.match_signals import STOP_WORDS
from aggregator.regions import Region, fold


def title_key(title: str | None, region: Region | None = None) -> str:
    """Accent-, case-, punctuation- and stop-word-free words of a title, in order.

    With a ``region``, its town names are left out too: they say where, not what
    ("Marseille : Kubernetes en production" is the talk "Kubernetes en production"); the
    place check of :func:`compare` keeps a Marseille and an Aix edition apart.
    """
    folded = fold(title)
    if region is not None:
        folded = region.strip_place_words(folded)
    words = [w for w in folded.split() if w not in STOP_WORDS]
    return " ".join(words) if words else folded
