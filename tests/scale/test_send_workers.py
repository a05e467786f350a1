"""Three sender workers share one digest's deliveries: one message per subscriber (PostgreSQL)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from aggregator.models import Delivery, DeliveryStatus, Subscriber
from aggregator.settings import Settings
from tests.newsletter.conftest import CREATED, NOW, WEEK, add_event, paris
from tests.scale import workers
from tests.support.smtpserver import LoopbackSMTPServer

SUBSCRIBERS = 2000


def seed_events(session: Session) -> None:
    """A small week (two events): rendering 2,000 digests stays quick."""
    add_event(
        session,
        "Marseille JUG : Java 25 en production",
        paris(2026, 12, 1, 18, 30),
        end=paris(2026, 12, 1, 21, 0),
        venue="La Coque",
        topics=["web-mobile", "cloud-devops"],
        url="https://marsjug.org/reunions/2026-12-01",
    )
    add_event(
        session,
        "Atelier Arduino : capteurs et domotique",
        paris(2026, 12, 3, 18, 30),
        venue="Openlab",
        city="Aix-en-Provence",
        insee="13001",  # Aix-en-Provence
        topics=["fablab-hardware"],
        url="https://openlab-aix.fr/agenda/atelier-arduino",
    )


def add_subscribers(engine: Engine, count: int) -> list[str]:
    """``count`` confirmed readers; their addresses."""
    emails = [f"lectrice.{i:05d}@exemple-marseille.fr" for i in range(count)]
    with Session(engine) as session:
        session.add_all(
            Subscriber(
                email=email,
                status="confirmed",
                language="fr" if i % 4 else "en",
                consent_at=CREATED,
                consent_origin="scale test",
                confirmed_at=CREATED,
                created_at=CREATED,
            )
            for i, email in enumerate(emails)
        )
        session.commit()
    return emails


@pytest.mark.postgres
@pytest.mark.slow
def test_three_sender_workers_send_each_subscriber_exactly_one_message(
    tmp_path: Path,
    settings: Settings,
    pg_url: str,
    pg_engine: Engine,
    smtp_server: LoopbackSMTPServer,
) -> None:
    with Session(pg_engine) as session:
        seed_events(session)
        session.commit()
    emails = add_subscribers(pg_engine, SUBSCRIBERS)
    conf = settings.model_copy(update={"database_url": pg_url, "mail_url": smtp_server.url})

    children = [workers.start(conf, "send", WEEK, NOW.isoformat()) for _ in range(3)]
    reports = workers.results(children, timeout=120)

    assert sum(int(r["sent"]) for r in reports) == SUBSCRIBERS
    assert all(int(r["sent"]) > 0 for r in reports)  # the work was shared, not done by one
    received = Counter(smtp_server.recipients())
    assert received == Counter(emails)
    ids = [m["Message-ID"] for m in smtp_server.messages]
    assert len(set(ids)) == SUBSCRIBERS
    with Session(pg_engine) as session:
        statuses = session.exec(
            select(Delivery.status, func.count()).group_by(Delivery.status)
        ).all()
    assert dict(statuses) == {DeliveryStatus.sent: SUBSCRIBERS}
