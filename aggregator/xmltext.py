"""Characters XML 1.0 cannot carry, dropped from text before it is stored or written.

XML forbids the C0 controls but tab, newline and carriage return (U+0000-U+0008, U+000B,
U+000C, U+000E-U+001F), the non-characters U+FFFE and U+FFFF, and lone surrogates
(U+D800-U+DFFF, which a Python ``str`` can hold after a lenient decode). One of them in a
title makes an Atom feed not well-formed; RFC 5545 forbids the controls in iCalendar too.
"""

from __future__ import annotations

import re

_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def drop_xml_illegal(text: str) -> str:
    """``text`` without the characters XML 1.0 forbids (pure, idempotent)."""
    return _ILLEGAL.sub("", text)


def has_xml_illegal(text: str) -> bool:
    return _ILLEGAL.search(text) is not None
