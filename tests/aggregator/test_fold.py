"""``fold`` is the one spelling of a text that matching and topics compare: its fast path
gives exactly what the plain character-by-character rule gives."""

from __future__ import annotations

import re
import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.regions import fold


def reference_fold(text: str) -> str:
    """The rule written plainly: NFKD, combining marks out, lower case, words, ST/STE/PCE."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()
    words = re.sub(r"[^0-9a-z]+", " ", plain).split()
    spelled = {"st": "saint", "ste": "sainte", "sts": "saints", "pce": "provence"}
    return " ".join(spelled.get(w, w) for w in words)


def test_french_place_names_and_titles_fold_as_expected() -> None:
    assert fold("Aix-en-Provence : Café ÉCOLE d'Ingénieurs") == "aix en provence cafe ecole d ingenieurs"
    assert fold("ST CANNAT") == "saint cannat"
    assert fold("Ŝtraße ﬁn ½") == "stra e fin 1 2"  # ß is no a-z letter; ligatures opened
    assert fold("") == "" and fold(None) == ""


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=60))
def test_fold_equals_the_plain_rule(text: str) -> None:
    assert fold(text) == reference_fold(text)
