"""Double opt-in, signed links, preferences, leaving, GDPR export and erase, CSV import."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session

from aggregator.errors import InvalidInputError, InvalidTokenError, NotFoundError
from aggregator.models import Delivery, Digest, Subscriber
from aggregator.settings import Settings
from newsletter.importer import import_subscribers_csv
from newsletter.subscribers import (
    add_confirmed,
    confirm,
    delete_subscriber,
    export_data,
    may_send_confirmation,
    recent_confirmations,
    subscribe,
    unsubscribe,
    update_preferences,
)
from newsletter.tokens import make_token, read_token

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def link_token(msg_text: str, route: str) -> str:
    start = msg_text.index(f"/{route}/") + len(route) + 2
    return msg_text[start:].split()[0]


def test_subscribing_sends_a_confirmation_with_a_working_signed_link(
    session: Session, settings: Settings
) -> None:
    sub, msg = subscribe(
        session, settings, " Lea.Martin@Example.FR ", topics=["ia-data"], towns=["13055"], now=NOW
    )
    assert sub.status == "pending" and sub.email == "lea.martin@example.fr"
    assert sub.consent_at == NOW and sub.consent_origin == "web"
    assert msg is not None and msg["To"] == "lea.martin@example.fr"
    assert "Confirmez votre inscription" in str(msg["Subject"])
    body = msg.get_body(("plain",))
    assert body is not None
    token = link_token(body.get_content(), "confirm")
    confirmed = confirm(session, settings, token, now=NOW)
    assert confirmed.status == "confirmed" and confirmed.confirmed_at == NOW
    # a second subscribe of a confirmed address changes nothing and sends nothing
    again, none = subscribe(
        session, settings, "lea.martin@example.fr", topics=["jeu-video"], now=NOW
    )
    assert none is None and again.topics == ["ia-data"]


@pytest.mark.parametrize(
    "bad", ["", "pas-une-adresse", "a@b", "x@exa mple.org", "a\r\nBcc: b@c.org@d.org"]
)
def test_malformed_addresses_are_refused_with_a_clear_error(
    session: Session, settings: Settings, bad: str
) -> None:
    with pytest.raises(InvalidInputError):
        subscribe(session, settings, bad, now=NOW)


def test_a_confirm_token_cannot_unsubscribe_and_expires(
    session: Session, settings: Settings
) -> None:
    sub = add_confirmed(session, "nadia@example.org", language="fr", topics=[], towns=[], now=NOW)
    confirm_token = make_token(settings, sub, "confirm")
    with pytest.raises(InvalidTokenError):
        unsubscribe(session, settings, confirm_token, now=NOW)
    assert read_token(settings, confirm_token, "confirm") == (sub.id, 0, sub.link_secret)
    with pytest.raises(InvalidTokenError) as info:
        read_token(settings, confirm_token, "confirm", max_age=-1)
    assert info.value.expired
    with pytest.raises(InvalidTokenError):
        read_token(settings, confirm_token[:-2] + "xx", "confirm")


def test_unsubscribing_is_idempotent_and_bumping_the_version_revokes_links(
    session: Session, settings: Settings
) -> None:
    sub = add_confirmed(session, "karim@example.org", language="en", topics=[], towns=[], now=NOW)
    token = make_token(settings, sub, "unsubscribe")
    assert unsubscribe(session, settings, token, now=NOW).status == "unsubscribed"
    later = datetime(2026, 11, 27, tzinfo=UTC)
    assert unsubscribe(session, settings, token, now=later).unsubscribed_at == NOW
    sub.token_version += 1
    with pytest.raises(InvalidTokenError):
        unsubscribe(session, settings, token, now=NOW)


def test_resubscribing_after_leaving_asks_for_confirmation_again(
    session: Session, settings: Settings
) -> None:
    sub = add_confirmed(session, "karim@example.org", language="fr", topics=[], towns=[], now=NOW)
    unsubscribe(session, settings, make_token(settings, sub, "unsubscribe"), now=NOW)
    back, msg = subscribe(session, settings, "karim@example.org", language="en", now=NOW)
    assert back.id == sub.id and back.status == "pending" and msg is not None
    assert "Confirm your subscription" in str(msg["Subject"])
    body = msg.get_body(("plain",))
    assert body is not None
    assert (
        confirm(session, settings, link_token(body.get_content(), "confirm"), now=NOW).status
        == "confirmed"
    )


def test_preferences_are_validated_and_saved(session: Session, settings: Settings) -> None:
    sub = add_confirmed(session, "a@example.org", language="fr", topics=[], towns=[], now=NOW)
    token = make_token(settings, sub, "preferences")
    out = update_preferences(
        session,
        settings,
        token,
        language="en",
        topics=["ia-data"],
        towns=["13001"],
        include_online=False,
    )
    assert (out.language, out.topics, out.towns, out.include_online) == (
        "en",
        ["ia-data"],
        ["13001"],
        False,
    )
    with pytest.raises(InvalidInputError):
        update_preferences(
            session, settings, token, language="de", topics=[], towns=[], include_online=True
        )
    with pytest.raises(InvalidInputError):
        update_preferences(
            session,
            settings,
            token,
            language="fr",
            topics=[],
            towns=["Marseille"],
            include_online=True,
        )


def test_export_lists_everything_and_delete_erases_it(session: Session, settings: Settings) -> None:
    sub = add_confirmed(
        session, "a@example.org", language="fr", topics=["ia-data"], towns=[], now=NOW
    )
    digest = Digest(region="aix-marseille", week="2026-W48")
    session.add(digest)
    session.flush()
    assert digest.id and sub.id
    session.add(
        Delivery(
            digest_id=digest.id,
            subscriber_id=sub.id,
            message_id="<m@x>",
            status="sent",
            event_ids=[3],
        )
    )
    session.flush()
    data = export_data(session, sub.id)
    assert data["email"] == "a@example.org" and data["consent_origin"] == "admin"
    assert data["deliveries"] == [
        {
            "region": "aix-marseille",
            "week": "2026-W48",
            "status": "sent",
            "sent_at": None,
            "event_ids": [3],
        }
    ]
    delete_subscriber(session, sub.id)
    session.commit()
    assert session.get(Subscriber, sub.id) is None
    with pytest.raises(NotFoundError):
        export_data(session, sub.id)


def test_import_adds_confirmed_rows_and_reports_each_invalid_one(
    session: Session, data_dir: Path
) -> None:
    add_confirmed(session, "nadia@assoc-numerique.org", language="fr", topics=[], towns=[], now=NOW)
    report = import_subscribers_csv(session, data_dir / "newsletter" / "subscribers.csv", now=NOW)
    assert report.added == 2 and report.present == 2
    assert [(row, email) for row, email, _ in report.invalid] == [
        (5, "pas-une-adresse"),
        (7, "karim@example.org"),
        (8, "lea.martin@example.fr"),
        (9, ""),
    ]
    reasons = [reason for *_x, reason in report.invalid]
    assert "not a valid email" in reasons[0] and "language" in reasons[1] and "INSEE" in reasons[2]
    camille = session.query(Subscriber).filter_by(email="camille.durand@example.fr").one()
    assert camille.status == "confirmed" and camille.topics == ["cloud-devops", "ia-data"]
    assert camille.towns == ["13001", "13055"] and camille.consent_origin == "import"
    # importing again adds nothing
    again = import_subscribers_csv(session, data_dir / "newsletter" / "subscribers.csv", now=NOW)
    assert again.added == 0 and again.present == 4


def test_import_with_a_region_pack_accepts_town_names(session: Session, tmp_path: Path) -> None:
    csv_file = tmp_path / "list.csv"
    csv_file.write_text(
        "email;towns\nines@example.fr;Aix-en-Provence, La Ciotat\n", encoding="utf-8"
    )
    report = import_subscribers_csv(session, csv_file, now=NOW, region="aix-marseille")
    assert report.added == 1 and report.invalid == []
    ines = session.query(Subscriber).filter_by(email="ines@example.fr").one()
    assert ines.towns == ["13001", "13028"]


def test_confirmation_mails_are_spaced_and_counted_per_day() -> None:
    gap = timedelta(minutes=15)
    at = [NOW + timedelta(minutes=m) for m in (0, 20, 40)]
    stamps = [t.isoformat() for t in at]
    assert may_send_confirmation([], NOW, resend_after=gap, per_day=3)
    assert not may_send_confirmation(stamps[:1], NOW + timedelta(minutes=14), resend_after=gap,
                                     per_day=3)
    assert may_send_confirmation(stamps[:1], NOW + timedelta(minutes=15), resend_after=gap,
                                 per_day=3)
    assert not may_send_confirmation(stamps, NOW + timedelta(hours=5), resend_after=gap, per_day=3)
    later = NOW + timedelta(hours=24, minutes=1)
    assert recent_confirmations([*stamps, "garbage"], later) == stamps[1:]
    assert may_send_confirmation(recent_confirmations(stamps, later), later, resend_after=gap,
                                 per_day=3)
