"""Previewing a digest into HTML and text files, without touching the ledger."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

from sqlmodel import Session, select

from aggregator.errors import NotFoundError
from aggregator.models import Subscriber
from aggregator.settings import Settings
from aggregator.weeks import Week
from newsletter import ledger
from newsletter.compose import content_for, load_inputs
from newsletter.links import personal_links
from newsletter.render import region_display_name, render_digest


def preview_digest(
    session: Session,
    settings: Settings,
    *,
    email: str | None,
    week: str,
    now: datetime,
    out_dir: Path,
    include_week: bool = False,
) -> tuple[Path, Path]:
    """Write the digest of ``email`` (or of a whole-region reader) as HTML and text files.

    Nothing is recorded: a preview leaves the ledger as it was. ``include_week`` treats
    this week's own sent digest as already told (see :func:`preview_next_digest`).
    """
    Week.parse(week)
    if email:
        sub = session.exec(select(Subscriber).where(Subscriber.email == email.lower())).first()
        if sub is None:
            raise NotFoundError(f"no subscriber with the address {email}")
    else:
        sub = Subscriber(id=0, email="preview@example.org", language="fr", status="confirmed")
    inputs = load_inputs(session, settings, week=week, include_week=include_week)
    content = content_for(inputs, sub)
    region_name = region_display_name(settings)
    links = personal_links(settings, sub, content)
    html, text = render_digest(
        content, ledger.to_prefs(sub), settings, region_name=region_name, links=links
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    suffix = "-next" if include_week else ""
    stem = f"digest-{week}{suffix}-{re.sub(r'[^a-z0-9]+', '-', sub.email.lower()).strip('-')}"
    html_path, text_path = out_dir / f"{stem}.html", out_dir / f"{stem}.txt"
    html_path.write_text(html, encoding="utf-8")
    text_path.write_text(text, encoding="utf-8")
    return html_path, text_path


def preview_next_digest(
    session: Session,
    settings: Settings,
    *,
    email: str,
    now: datetime,
    out_dir: Path,
    week: str | None = None,
) -> tuple[Path, Path]:
    """The digest ``email`` would get if one were sent now, after the ones already sent.

    Every digest already sent to them (this week's too) counts as told, so events changed
    since then show MOVED or CANCELLED and events they never saw show NEW. ``week``
    defaults to the region's current week. Nothing is recorded.
    """
    chosen = week or str(Week.of(now, settings.tz))
    return preview_digest(
        session, settings, email=email, week=chosen, now=now, out_dir=out_dir, include_week=True
    )
