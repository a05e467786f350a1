"""The quoted-printable of a raw copy, encoded line by line with shared lines cached, is
byte for byte what encoding the whole body gives (then CRLF line ends)."""

from __future__ import annotations

import binascii
import random

import pytest

from newsletter import messages
from newsletter.messages import _qp_lines


def _whole(body: str) -> bytes:
    return binascii.b2a_qp(body.encode("utf-8"), istext=True).decode("ascii").replace(
        "\n", "\r\n").encode("ascii")


EDGES = [
    "x" * 75 + " \n",  # end-of-line space right at the soft-break column
    "x" * 74 + "\t\n",
    "x" * 73 + "é\n",
    "x" * 75 + "=\n",
    "x" * 200 + "\n",
    ".\n. \n..\n",
    "\n\n\n",
    "a =\n=b\n\u00a0\n",
]


@pytest.mark.parametrize("body", EDGES)
def test_edge_lines_encode_as_the_whole_body(body: str) -> None:
    assert _qp_lines(body) == _whole(body)
    assert _qp_lines(body) == _whole(body)  # from the cache this time


@pytest.mark.parametrize("seed", range(5))
def test_random_bodies_encode_as_the_whole_body(seed: int) -> None:
    rng = random.Random(seed)
    alphabet = "ab .=\t é€\u00a0-_<>\"'\x00\x7f"
    for _ in range(2000):
        size = rng.randrange(0, 300)
        body = "".join(rng.choice(alphabet) if rng.random() < 0.93 else "\n"
                       for _ in range(size)) + "\n"
        if rng.random() < 0.3:
            body = "y" * rng.randrange(60, 90) + rng.choice(" \t=é.") + "\n" + body
        assert _qp_lines(body) == _whole(body)


def test_the_cache_stays_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(messages, "_MAX_QP_LINES", 10)
    monkeypatch.setattr(messages, "_QP", {})
    body = "".join(f"line {i} é\n" for i in range(35))
    assert _qp_lines(body) == _whole(body)
    assert len(messages._QP) <= 10
