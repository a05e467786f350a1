"""The send gate: checks run before the weekly send, and an admin's approval.

:func:`check_digest` looks at the issue as a whole-region reader would get it and reports:

* ``odd_hours``: timed events starting between 00:00 and 06:00 local (a time-zone slip);
* ``past``: events already over when the check runs;
* ``duplicates``: two events on one day with near-identical title keys, not merged;
* ``broken_sources``: approved sources whose last fetch failed (error or HTTP ≥ 400);
* ``size``: an empty issue (fails hard, unless ``digest_send_empty``), or one under half
  the mean of the last four weeks' issues (``Digest.event_count``).

The ``digest_gate`` setting decides (:func:`gate_decision`): ``auto`` (default) sends unless
a check fails hard; ``gated`` waits for :func:`approve_digest`. An approval always lets the
week's digest go.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from itertools import combinations
from typing import Literal

from sqlalchemy import func
from sqlmodel import Session, col, select

from aggregator.dedupe import title_similarity
from aggregator.models import Digest, Source, SourceFetch, SourceState
from aggregator.settings import Settings
from aggregator.titles import title_key
from newsletter.compose import load_inputs, whole_region
from newsletter.select import DigestItem

Level = Literal["ok", "warn", "fail"]
ODD_HOURS = range(0, 6)  # 00:00–05:59 local
DUPLICATE_SIMILARITY = 85.0
SMALL_SHARE = 0.5
RECENT_WEEKS = 4
GATE_MODES = ("auto", "gated")


@dataclass(frozen=True, slots=True)
class GateCheck:
    """One check's outcome, with the lines that explain it."""

    name: str
    level: Level
    summary: str
    details: tuple[str, ...] = ()


@dataclass
class GateReport:
    """What the gate saw for one week's issue."""

    week: str
    mode: str
    checks: list[GateCheck] = field(default_factory=list)
    issue_size: int = 0
    recent_sizes: list[int] = field(default_factory=list)
    approved_at: datetime | None = None
    approved_by: str | None = None

    @property
    def hard_failed(self) -> bool:
        return any(check.level == "fail" for check in self.checks)

    @property
    def warnings(self) -> list[GateCheck]:
        return [check for check in self.checks if check.level == "warn"]

    @property
    def approved(self) -> bool:
        return self.approved_at is not None


def gate_mode(settings: Settings) -> str:
    mode = str(getattr(settings, "digest_gate", "auto") or "auto").lower()
    return mode if mode in GATE_MODES else "auto"


def gate_decision(report: GateReport) -> str | None:
    """Why the digest must wait (None: it may go)."""
    if report.approved:
        return None
    if report.mode == "gated":
        return "gated mode: waiting for an admin's approval"
    if report.hard_failed:
        failed = "; ".join(c.summary for c in report.checks if c.level == "fail")
        return f"a check failed: {failed}"
    return None


def _label(item: DigestItem) -> str:
    when = item.local_start.strftime("%Y-%m-%d %H:%M") if item.local_start else str(item.day)
    return f"#{item.event.id} {when} {item.event.title}"


def _check(name: str, found: list[str], ok: str, bad: str, level: Level = "warn") -> GateCheck:
    if not found:
        return GateCheck(name, "ok", ok)
    return GateCheck(name, level, bad.format(n=len(found)), tuple(found))


def odd_hour_items(items: list[DigestItem]) -> list[str]:
    return [_label(i) for i in items if i.local_start and i.local_start.hour in ODD_HOURS]


def past_items(items: list[DigestItem], now: datetime, tz: tzinfo) -> list[str]:
    out = []
    for item in items:
        event = item.event
        if event.start is not None and not event.all_day:
            over = (event.end or event.start) < now
        else:
            last = event.end_date or event.start_date
            over = last is not None and last < now.astimezone(tz).date()
        if over:
            out.append(_label(item))
    return out


def duplicate_pairs(items: list[DigestItem]) -> list[str]:
    """Pairs on one day whose title keys are near-identical (dedupe left them apart)."""
    out = []
    by_day: dict[object, list[DigestItem]] = {}
    for item in items:
        by_day.setdefault(item.day, []).append(item)
    for day_items in by_day.values():
        for a, b in combinations(day_items, 2):
            key_a = a.event.title_key or title_key(a.event.title)
            key_b = b.event.title_key or title_key(b.event.title)
            score = title_similarity(key_a, key_b)
            if score >= DUPLICATE_SIMILARITY:
                out.append(f"{_label(a)}  ≈  {_label(b)} (title similarity {score:.0f})")
    return out


def broken_sources(session: Session) -> list[str]:
    """Approved sources whose latest fetch failed."""
    latest = (
        select(func.max(SourceFetch.id)).group_by(col(SourceFetch.source_id)).scalar_subquery()
    )
    rows = session.exec(
        select(SourceFetch, Source)
        .join(Source, col(Source.id) == col(SourceFetch.source_id))
        .where(col(SourceFetch.id).in_(latest), Source.state == SourceState.approved)
        .order_by(col(Source.name))
    ).all()
    out = []
    for fetch, source in rows:
        if fetch.error or (fetch.http_status is not None and fetch.http_status >= 400):
            reason = fetch.error or f"HTTP {fetch.http_status}"
            out.append(f"{source.name} ({fetch.url}): {reason}")
    return out


def recent_sizes(session: Session, settings: Settings, week: str) -> list[int]:
    """The event counts of the region's last ``RECENT_WEEKS`` issues before ``week``."""
    rows = session.exec(
        select(Digest.event_count)
        .where(
            Digest.region == settings.region,
            col(Digest.week) < week,
            col(Digest.event_count).is_not(None),
        )
        .order_by(col(Digest.week).desc())
        .limit(RECENT_WEEKS)
    ).all()
    return [int(n) for n in rows if n is not None]


def size_check(size: int, recent: list[int], *, send_empty: bool) -> GateCheck:
    if size == 0:
        level: Level = "warn" if send_empty else "fail"
        return GateCheck("size", level, "the issue is empty: no event in its two weeks")
    if len(recent) >= 2:
        mean = sum(recent) / len(recent)
        if size < SMALL_SHARE * mean:
            return GateCheck(
                "size",
                "warn",
                f"abnormally small issue: {size} events against {mean:.0f} on average",
                tuple(f"recent weeks: {', '.join(map(str, recent))}",),
            )
    return GateCheck("size", "ok", f"{size} events in the issue")


def check_digest(session: Session, settings: Settings, *, week: str, now: datetime) -> GateReport:
    """Run every check on ``week``'s issue; read-only."""
    inputs = load_inputs(session, settings, week=week)
    content = whole_region(inputs)
    items = [item for item in content.all_items if not item.is_cancelled]
    digest = session.exec(
        select(Digest).where(Digest.region == settings.region, Digest.week == week)
    ).first()
    report = GateReport(week=week, mode=gate_mode(settings), issue_size=content.size)
    report.recent_sizes = recent_sizes(session, settings, week)
    if digest is not None:
        report.approved_at, report.approved_by = digest.approved_at, digest.approved_by
    report.checks = [
        _check("odd_hours", odd_hour_items(items), "no event at an odd hour",
               "{n} event(s) start between 00:00 and 06:00"),
        _check("past", past_items(items, now, inputs.tz), "no event already past",
               "{n} event(s) are already over"),
        _check("duplicates", duplicate_pairs(items), "no likely duplicate",
               "{n} likely duplicate pair(s) not merged"),
        _check("broken_sources", broken_sources(session), "every source answered",
               "{n} source(s) failed at the last crawl"),
        size_check(content.size, report.recent_sizes, send_empty=settings.digest_send_empty),
    ]
    return report


def approve_digest(
    session: Session, settings: Settings, *, week: str, by: str, now: datetime
) -> Digest:
    """Record an admin's go for ``week``'s digest (creates the Digest row when needed)."""
    digest = session.exec(
        select(Digest).where(Digest.region == settings.region, Digest.week == week)
    ).first()
    if digest is None:
        digest = Digest(region=settings.region, week=week, created_at=now)
    digest.approved_at, digest.approved_by = now, by
    session.add(digest)
    session.flush()
    return digest
