"""The organizer health mail: when an approved source breaks, tell the person who runs it.

A source with a ``contact_email`` is unwell when it failed ``crawl_flag_after`` crawls in a
row, when its last crawls succeeded but it has no upcoming event left, or when its UIDs
churn (a check saw them change between two fetches, or the last crawls found mostly "new"
events that are the old ones under new identifiers), or when the collapse guard marked it
suspect (``aggregator.collapse``: its page or feed suddenly lists none or few of its
events; told once per collapse). The mail says what we saw, how to fix it, the last
error, and links to the submit page to re-check the feed. At most one mail a week per
source (``Source.health_mailed_at``). Messages are built with ``EmailMessage``
(``newsletter.messages``), so no feed title can add a header.

The decisions (:func:`health_issues`, :func:`mail_due`) are pure; :func:`send_health_mails`
reads the store, sends through ``make_mailer(settings.outbox_url)`` and stamps the source.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from urllib.parse import urlencode

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from aggregator.errors import MailError
from aggregator.models import CrawlRun, Event, EventLink, Source, SourceFetch, SourceState
from aggregator.settings import Settings
from newsletter.mailers import Mailer, make_mailer
from newsletter.messages import clean_header, sender_domain
from newsletter.organizer_mail import organizer_message

log = logging.getLogger("techagenda.health")

MAIL_EVERY = timedelta(days=7)
EMPTY_AFTER = 3  # successful crawls with nothing upcoming before we write
CHURN_AFTER = 2  # crawls in a row where most events came back under new UIDs
FAILING, EMPTY, CHURN, SUSPECT = "failing", "no_future", "uid_churn", "suspect"

_TEXT = {
    FAILING: (
        "Nous n'arrivons plus à lire votre flux : {n} tentatives de suite ont échoué.",
        "Vérifiez que l'adresse répond toujours (pas de page de connexion, pas d'erreur "
        "404 ou 500) et qu'elle n'a pas changé ; sinon envoyez-nous la nouvelle adresse.",
        "We can no longer read your feed: {n} attempts in a row failed.",
        "Check that the address still answers (no login page, no 404 or 500 error) and has "
        "not moved; if it has, send us the new address.",
    ),
    EMPTY: (
        "Votre flux répond mais n'annonce plus aucun événement à venir.",
        "Si vous avez des dates prévues, vérifiez qu'elles sont publiées dans ce flux "
        "(et pas seulement sur une autre page).",
        "Your feed answers but no longer lists any upcoming event.",
        "If you have dates planned, check that they are published in this feed (not only "
        "on another page).",
    ),
    SUSPECT: (
        "Votre page ou votre flux ne montre plus (ou presque plus) les événements que nous y "
        "lisions : la présentation a peut-être changé. Nous gardons vos événements affichés "
        "en attendant.",
        "Si vous avez refait votre site, dites-le nous ou publiez un flux iCal (ou des "
        "données schema.org Event) : nous adapterons la lecture.",
        "Your page or feed no longer shows (or hardly shows) the events we read there: its "
        "layout may have changed. We keep your events listed in the meantime.",
        "If you have redesigned your site, tell us or publish an iCal feed (or schema.org "
        "Event data): we will adapt how we read it.",
    ),
    CHURN: (
        "Les identifiants (UID) de vos événements changent d'une lecture à l'autre : "
        "chaque passage les fait apparaître comme nouveaux.",
        "Donnez à chaque événement un UID stable (par exemple l'identifiant de l'événement "
        "dans votre outil), qui ne change pas à chaque téléchargement.",
        "Your events' identifiers (UID) change from one download to the next: every crawl "
        "sees them as new events.",
        "Give each event a stable UID (for example its id in your tool) that does not "
        "change on every download.",
    ),
}


@dataclass
class HealthReport:
    """What one run of the health mail did."""

    sent: list[int] = field(default_factory=list)  # source ids mailed
    failed: list[tuple[int, str]] = field(default_factory=list)  # (source id, error)
    waiting: list[int] = field(default_factory=list)  # unwell, but mailed less than a week ago


# ------------------------------------------------------------------ pure decisions


def health_issues(
    source: Source,
    fetches: Sequence[SourceFetch],
    upcoming: int,
    *,
    flag_after: int,
    empty_after: int = EMPTY_AFTER,
) -> list[str]:
    """What is wrong with ``source`` given its latest crawl fetches (newest first) and its
    number of upcoming events; empty when nothing is."""
    issues: list[str] = []
    if flag_after > 0 and source.consecutive_failures >= flag_after:
        issues.append(FAILING)
    recent = list(fetches[:empty_after])
    if (
        FAILING not in issues
        and upcoming == 0
        and len(recent) >= empty_after
        and all(f.error is None for f in recent)
    ):
        issues.append(EMPTY)
    if _check_saw_churn(source) or _crawls_show_churn(fetches):
        issues.append(CHURN)
    if suspect_untold(source):
        issues.append(SUSPECT)
    return issues


def suspect_untold(source: Source) -> bool:
    """The source is suspect and its organizer has not been mailed since it became so."""
    if not source.suspect:
        return False
    since, mailed = source.suspect_since, source.health_mailed_at
    return mailed is None or since is None or mailed < since


def _check_saw_churn(source: Source) -> bool:
    findings = (source.last_check or {}).get("findings") or []
    return any(isinstance(f, dict) and f.get("code") == "uid_churn" for f in findings)


def _crawls_show_churn(fetches: Sequence[SourceFetch]) -> bool:
    """The last crawls each found most of their events "new", and were not the first ones."""
    if len(fetches) <= CHURN_AFTER:
        return False
    return all(
        f.error is None
        and not f.not_modified
        and f.events_found >= 2
        and 2 * (f.events_new + f.events_merged) >= f.events_found
        for f in fetches[:CHURN_AFTER]
    )


def mail_due(source: Source, now: datetime) -> bool:
    """At most one health mail a week per source."""
    last = source.health_mailed_at
    return last is None or now - last >= MAIL_EVERY


def recheck_url(settings: Settings, source: Source) -> str:
    """The submit page with the feed filled in, to see the findings again."""
    return f"{settings.base_url.rstrip('/')}/submit?{urlencode({'url': source.url})}"


# ------------------------------------------------------------------ the message


def build_health_message(
    settings: Settings, source: Source, issues: Sequence[str], *, now: datetime
) -> EmailMessage:
    """The mail to the organizer: French, then English; plain text and HTML."""
    assert source.contact_email and source.id is not None
    name = clean_header(source.name, limit=80)
    link = recheck_url(settings, source)
    french: list[str] = [f"Bonjour,\n\nNous lisons votre agenda « {name} » ({source.url})."]
    english: list[str] = [f"Hello,\n\nWe read your calendar '{name}' ({source.url})."]
    for issue in issues:
        seen_fr, fix_fr, seen_en, fix_en = _TEXT[issue]
        n = source.consecutive_failures
        french.append(f"- Ce que nous voyons : {seen_fr.format(n=n)}\n  Que faire : {fix_fr}")
        english.append(f"- What we see: {seen_en.format(n=n)}\n  How to fix it: {fix_en}")
    if source.last_error:
        french.append(f"Dernière erreur : {source.last_error}")
        english.append(f"Last error: {source.last_error}")
    findings = [f for f in (source.last_check or {}).get("findings") or [] if isinstance(f, dict)]
    if findings:
        french.append("Notre dernière vérification disait aussi :")
        french.extend(f"- {f.get('message_fr', '')}" for f in findings)
        english.append("Our last check also said:")
        english.extend(f"- {f.get('message_en', '')}" for f in findings)
    french.append(f"Une fois corrigé, vérifiez votre flux ici : {link}")
    english.append(f"Once fixed, check your feed here: {link}")
    french.append("Nous ne vous écrirons pas plus d'une fois par semaine à ce sujet.")
    english.append("We will not write about this more than once a week.")
    seed = f"{settings.secret_key}|health|{source.id}|{now.date().isoformat()}".encode()
    message_id = (
        f"<health.{source.id}.{now:%Y%m%d}.{hashlib.sha256(seed).hexdigest()[:12]}"
        f"@{sender_domain(settings)}>"
    )
    return organizer_message(
        settings,
        to=source.contact_email,
        subject=f"Votre agenda « {name} » : un souci de lecture / your feed needs attention",
        sections=[french, english],
        message_id=message_id,
        now=now,
    )


# ------------------------------------------------------------------ store and send


def send_health_mails(
    engine: Engine,
    settings: Settings,
    *,
    now: datetime,
    empty_after: int = EMPTY_AFTER,
    mailer: Mailer | None = None,
) -> HealthReport:
    """Mail the organizer of each unwell approved source, at most once a week each."""
    report = HealthReport()
    with Session(engine) as session:
        ids = session.exec(
            select(Source.id).where(
                Source.state == SourceState.approved,
                col(Source.contact_email).is_not(None),
                col(Source.contact_email) != "",
            )
        ).all()
    if not ids:
        return report
    with mailer or make_mailer(settings.outbox_url) as out:
        for source_id in ids:
            assert source_id is not None
            with Session(engine) as session:
                source = session.get(Source, source_id)
                assert source is not None
                issues = health_issues(
                    source,
                    _crawl_fetches(session, source_id, max(empty_after, CHURN_AFTER + 1)),
                    _upcoming(session, source_id, now),
                    flag_after=settings.crawl_flag_after,
                    empty_after=empty_after,
                )
                if not issues:
                    continue
                if not mail_due(source, now):
                    report.waiting.append(source_id)
                    continue
                try:
                    out.send(build_health_message(settings, source, issues, now=now))
                except MailError as exc:
                    log.warning("health mail for source %s not sent: %s", source_id, exc)
                    report.failed.append((source_id, str(exc)))
                    continue
                source.health_mailed_at = now
                session.add(source)
                session.commit()
                report.sent.append(source_id)
                log.info("health mail sent for source %s (%s)", source_id, ", ".join(issues))
    return report


def _crawl_fetches(session: Session, source_id: int, limit: int) -> list[SourceFetch]:
    """The source's latest fetches by real crawls (not by checks), newest first."""
    return list(
        session.exec(
            select(SourceFetch)
            .join(CrawlRun, col(CrawlRun.id) == col(SourceFetch.crawl_run_id))
            .where(SourceFetch.source_id == source_id, CrawlRun.requested_by != "check")
            .order_by(col(SourceFetch.id).desc())
            .limit(limit)
        ).all()
    )


def _upcoming(session: Session, source_id: int, now: datetime) -> int:
    """Events of this source still live in its feed that start or end from now on."""
    query = (
        select(sa.func.count(sa.distinct(col(Event.id))))
        .join(EventLink, col(EventLink.event_id) == col(Event.id))
        .where(
            EventLink.source_id == source_id,
            col(EventLink.gone_since).is_(None),
            sa.or_(col(Event.start) >= now, col(Event.end) >= now),
        )
    )
    return int(session.exec(query).one())
