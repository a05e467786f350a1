"""Render demo/site/ templates with dates relative to a given day (pure: no I/O but the files).

Templates use ``at(days, "HH:MM")`` (an aware datetime in the demo timezone, ``days`` after
the reference day) and filters that print it the way each format does: ``ics`` (local
``YYYYMMDDTHHMMSS``), ``icsutc``, ``icsdate``, ``iso``, ``isodate``, ``rfc822`` and ``fr``
(French prose: "mardi 1 décembre 2026 à 18h30").
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from email.utils import format_datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_date
from jinja2 import Environment, FileSystemLoader, StrictUndefined

SITE = Path(__file__).parent / "site"


def _fr(value: datetime) -> str:
    day = format_date(value.date(), "EEEE d MMMM y", locale="fr_FR")
    return f"{day} à {value.hour}h{value.minute:02d}"


def render_site(
    out_dir: Path, *, today: date, base_url: str, tz: str = "Europe/Paris", changed: bool = False
) -> list[Path]:
    """Write every template of demo/site/ into ``out_dir`` with dates shifted to ``today``.

    ``changed`` renders the site as it reads a little later: an event moved, one cancelled
    and one new (the demo's second pass, which shows the digest's change markers).
    """
    zone = ZoneInfo(tz)

    def at(days: int, hhmm: str) -> datetime:
        hour, minute = (int(x) for x in hhmm.split(":"))
        return datetime.combine(today + timedelta(days=days), time(hour, minute), tzinfo=zone)

    env = Environment(loader=FileSystemLoader(SITE), undefined=StrictUndefined, autoescape=False)
    env.filters.update(
        ics=lambda d: d.strftime("%Y%m%dT%H%M%S"),
        icsutc=lambda d: d.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ"),
        icsdate=lambda d: d.strftime("%Y%m%d"),
        iso=lambda d: d.isoformat(),
        isodate=lambda d: d.date().isoformat(),
        rfc822=format_datetime,
        fr=_fr,
    )
    now = datetime.combine(today, time(9, 0), tzinfo=zone)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for template in sorted(p.name for p in SITE.iterdir() if p.is_file()):
        text = env.get_template(template).render(
            at=at, now=now, base=base_url.rstrip("/"), changed=changed
        )
        target = out_dir / template
        target.write_text(text, encoding="utf-8")
        written.append(target)
    return written
