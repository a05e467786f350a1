"""Importing a subscriber list from another tool (consent already gathered there).

CSV with a header; ``email`` is required, ``language``, ``topics`` and ``towns`` are
optional (lists inside a cell separated by ``;`` or ``|``, or by commas when the
file itself uses ``;``). Imported rows are confirmed. Nothing aborts the import: each
bad row is reported with its line number and the reason.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlmodel import Session

from aggregator.errors import InvalidInputError
from newsletter.subscribers import add_confirmed, find_by_email, normalize_email


@dataclass
class ImportReport:
    """What an import did: counts of new and known addresses, and each rejected row."""

    added: int = 0
    present: int = 0
    invalid: list[tuple[int, str, str]] = field(default_factory=list)  # (line, email, reason)


def _split(cell: str | None, delimiter: str) -> list[str]:
    if not cell:
        return []
    seps = r"[;|]" if delimiter == "," else r"[,|]"
    return [part.strip() for part in re.split(seps, cell) if part.strip()]


def _sniff_delimiter(sample: str) -> str:
    header = sample.splitlines()[0] if sample else ""
    return ";" if header.count(";") > header.count(",") else ","


def _town_resolver(region: str | None) -> Callable[[str], str]:
    """INSEE codes pass through; with a region pack, names and postcodes are matched too."""
    if region is None:
        return lambda value: value
    from aggregator.regions import load_region

    pack = load_region(region)

    def resolve(value: str) -> str:
        if re.fullmatch(r"\d[\dAB]\d{3}", value) and pack.commune(value) is not None:
            return value
        commune = pack.match_town(value)
        return commune.insee if commune is not None else value

    return resolve


def import_subscribers_csv(
    session: Session,
    path: Path | str,
    *,
    now: datetime,
    origin: str = "import",
    region: str | None = None,
) -> ImportReport:
    """Add every valid, new address of the CSV file at ``path`` as a confirmed subscriber.

    With ``region`` (a region pack name), towns may also be written as names or postcodes.
    """
    report = ImportReport()
    resolve = _town_resolver(region)
    text = Path(path).read_text(encoding="utf-8-sig")
    delimiter = _sniff_delimiter(text)
    reader = csv.DictReader(text.splitlines(), delimiter=delimiter)
    columns = {(name or "").strip().lower(): name for name in reader.fieldnames or []}
    if "email" not in columns:
        raise InvalidInputError(f"{path}: no 'email' column in the header")
    seen: set[str] = set()
    for row in reader:
        line = reader.line_num
        cells = {key: (row.get(name) or "").strip() for key, name in columns.items()}
        raw_email = cells.get("email", "")
        try:
            email = normalize_email(raw_email)
        except InvalidInputError as exc:
            report.invalid.append((line, raw_email, str(exc)))
            continue
        if email in seen or find_by_email(session, email) is not None:
            report.present += 1
            seen.add(email)
            continue
        try:
            # add_confirmed validates everything before it writes anything
            add_confirmed(
                session,
                email,
                language=cells.get("language") or "fr",
                topics=_split(cells.get("topics"), delimiter),
                towns=[resolve(t) for t in _split(cells.get("towns"), delimiter)],
                origin=origin,
                now=now,
            )
        except InvalidInputError as exc:
            report.invalid.append((line, raw_email, str(exc)))
            continue
        seen.add(email)
        report.added += 1
    return report
