"""Change-aware digests through the real path: ingest twice, send, read what went out."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from aggregator.ingest import ingest_events
from aggregator.models import Delivery, Event, Source
from aggregator.raw import RawEvent
from aggregator.settings import Settings
from newsletter.send import preview_next_digest, send_digest
from tests.newsletter.conftest import add_subscriber

FIRST_CRAWL = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
FIRST_SEND = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)  # Monday of 2026-W48
SECOND_CRAWL = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
SECOND_SEND = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)  # Monday of 2026-W49


def kotlin(**changes: object) -> RawEvent:
    return RawEvent(
        title="Marseille JUG : Kotlin Multiplatform en production",
        start=datetime(2026, 12, 3, 19, 0),
        end=datetime(2026, 12, 3, 21, 0),
        uid="event_301@meetup.com",
        venue="La Coque",
        city="Marseille",
        categories=("java", "kotlin", "développement"),
        description="Un retour d'expérience sur Kotlin Multiplatform, de l'API au mobile.",
    ).with_(**changes)


def apero() -> RawEvent:
    return RawEvent(
        title="Apéro Python Aix : packaging moderne avec uv",
        start=datetime(2026, 12, 2, 18, 30),
        uid="event_302@meetup.com",
        venue="The Babel Community",
        city="Aix-en-Provence",
        categories=("python", "développement"),
        description="Soirée Python : packaging, uv, pyproject.",
    )


def rust_cancelled() -> RawEvent:
    return RawEvent(
        title="Atelier Rust embarqué",
        start=datetime(2026, 12, 1, 18, 0),
        uid="event_303@meetup.com",
        venue="LFO Fablab",
        city="Marseille",
        status="cancelled",
        categories=("rust", "embarqué"),
        description="Atelier de programmation Rust sur microcontrôleur.",
    )


def newcomer() -> RawEvent:
    return RawEvent(
        title="Cloud Native Aix-Marseille : Kubernetes et GitOps",
        start=datetime(2026, 12, 4, 18, 30),
        uid="event_304@meetup.com",
        venue="Thecamp",
        city="Aix-en-Provence",
        categories=("kubernetes", "devops", "cloud"),
        description="Meetup cloud native : Kubernetes, Argo CD, GitOps.",
    )


def clock(at: datetime) -> Callable[[], datetime]:
    return lambda: at


def outbox_messages(settings: Settings) -> list[EmailMessage]:
    folder = Path(settings.outbox_url.removeprefix("file://"))
    return [
        message_from_bytes(p.read_bytes(), policy=default)  # type: ignore[misc]
        for p in sorted(folder.glob("*.eml"))
    ]


def bodies(msg: EmailMessage) -> tuple[str, str]:
    text = msg.get_body(("plain",))
    html = msg.get_body(("html",))
    assert text is not None and html is not None
    return str(text.get_content()), str(html.get_content())


@pytest.fixture
def crawled_twice(sqlite_engine: Engine, settings: Settings) -> Settings:
    """W48's digest sent after a first crawl; then the Kotlin talk moves to 20:00, the
    Python apéro vanishes (cancelled), a Rust workshop arrives already cancelled and a
    Cloud Native meetup is new."""
    settings = settings.model_copy(update={"crawl_gone_after": 1})  # gone at its first miss
    with Session(sqlite_engine, expire_on_commit=False) as s:
        source = Source(name="Meetup Marseille", url="https://meetup.example/ical",
                        kind="meetup group", authority=70, state="approved")
        s.add(source)
        add_subscriber(s, "lea@example.org")
        s.commit()
        ingest_events(s, source, [kotlin(), apero()], now=FIRST_CRAWL, complete=True,
                      settings=settings)
        s.commit()
    first = send_digest(sqlite_engine, settings, week="2026-W48", now=FIRST_SEND,
                        clock=clock(FIRST_SEND))
    assert first.sent == 1, first
    with Session(sqlite_engine, expire_on_commit=False) as s:
        source = s.exec(select(Source)).one()
        ingest_events(
            s, source,
            [kotlin(start=datetime(2026, 12, 3, 20, 0), end=datetime(2026, 12, 3, 22, 0)),
             rust_cancelled(), newcomer()],
            now=SECOND_CRAWL, complete=True, settings=settings,
        )
        s.commit()
    return settings


def test_the_next_digest_marks_a_moved_event_with_its_old_time_struck_through(
    sqlite_engine: Engine, crawled_twice: Settings
) -> None:
    report = send_digest(sqlite_engine, crawled_twice, week="2026-W49", now=SECOND_SEND,
                         clock=clock(SECOND_SEND))
    assert report.sent == 1
    [_, second] = sorted(outbox_messages(crawled_twice), key=lambda m: str(m["Message-ID"]))
    text, html = bodies(second)
    moved_line = next(line for line in text.splitlines() if "Kotlin" in line)
    assert moved_line.startswith("[DÉPLACÉ]")
    assert "20:00 – 22:00" in text and "(était : 19:00)" in text
    assert "<s>19:00</s>" in html and "Déplacé" in html


def test_a_cancellation_after_announcement_is_marked_and_an_unannounced_one_is_absent(
    sqlite_engine: Engine, crawled_twice: Settings
) -> None:
    send_digest(sqlite_engine, crawled_twice, week="2026-W49", now=SECOND_SEND,
                clock=clock(SECOND_SEND))
    [_, second] = sorted(outbox_messages(crawled_twice), key=lambda m: str(m["Message-ID"]))
    text, html = bodies(second)
    assert "[ANNULÉ] Apéro Python Aix" in text
    assert "Rust" not in text and "Rust" not in html
    assert "[NOUVEAU] Cloud Native Aix-Marseille" in text
    assert "[NOUVEAU] Marseille JUG" not in text  # told before: not new


def test_the_watermark_is_per_subscriber_a_newcomer_sees_no_change_markers(
    sqlite_engine: Engine, crawled_twice: Settings
) -> None:
    with Session(sqlite_engine) as s:
        add_subscriber(s, "tom@example.org", language="en")
        s.commit()
    send_digest(sqlite_engine, crawled_twice, week="2026-W49", now=SECOND_SEND,
                clock=clock(SECOND_SEND))
    tom = next(m for m in outbox_messages(crawled_twice) if m["To"] == "tom@example.org")
    text, _ = bodies(tom)
    assert "Kotlin" in text and "[MOVED]" not in text and "[NEW]" not in text
    assert "Apéro Python" not in text  # cancelled before he was ever told
    with Session(sqlite_engine) as s:
        lea = s.exec(select(Delivery).where(Delivery.subscriber_id == 1)).all()
        assert all(d.composed_at is not None for d in lea)


def test_preview_next_digest_counts_this_weeks_sent_issue_as_told(
    sqlite_engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    settings = settings.model_copy(update={"crawl_gone_after": 1})  # gone at its first miss
    with Session(sqlite_engine, expire_on_commit=False) as s:
        source = Source(name="JUG", url="https://jug.example/ical", state="approved",
                        kind="meetup group", authority=70)
        s.add(source)
        add_subscriber(s, "lea@example.org")
        s.commit()
        ingest_events(s, source, [kotlin(), apero()], now=FIRST_CRAWL, complete=True,
                      settings=settings)
        s.commit()
    send_digest(sqlite_engine, settings, week="2026-W49", now=SECOND_SEND,
                clock=clock(SECOND_SEND))
    later = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    with Session(sqlite_engine, expire_on_commit=False) as s:
        source = s.exec(select(Source)).one()
        ingest_events(s, source, [kotlin(venue="Le Village by CA")], now=later,
                      complete=True, settings=settings)
        s.commit()
        _html, text = preview_next_digest(
            s, settings, email="lea@example.org", now=later, out_dir=tmp_path
        )
        assert s.exec(select(Event).where(Event.status == "cancelled")).one().title.startswith(
            "Apéro"
        )
    body = text.read_text()
    assert "[DÉPLACÉ]" in body and "Le Village by CA, Marseille (était : La Coque)" in body
    assert "[ANNULÉ] Apéro Python" in body
