"""docs/security.md cannot rot: every test it names exists."""

from __future__ import annotations

import re

from tests.hardening.helpers import ROOT

NAMED = re.compile(r"`(tests/[\w/]+\.py)?::(test_\w+)`")


def test_every_test_named_in_the_threat_table_exists() -> None:
    doc = (ROOT / "docs" / "security.md").read_text(encoding="utf-8")
    current, missing, named = "", [], 0
    for match in NAMED.finditer(doc):
        current = match.group(1) or current
        source = (ROOT / current).read_text(encoding="utf-8")
        named += 1
        if not re.search(rf"^def {match.group(2)}\(", source, re.M):
            missing.append(f"{current}::{match.group(2)}")
    assert named >= 30
    assert missing == []
