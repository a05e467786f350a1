"""The moderation inbox: organizers' submissions wait for an admin, who publishes, edits or
refuses them; the organizer is told by mail at submission and at the decision.

Real parts throughout: the app on a migrated SQLite file with a fixed clock, a loopback
SMTP server for the mails, a loopback HTTP server for the submitted feed's site.
"""

from __future__ import annotations

import html
import re
from datetime import date
from email.message import EmailMessage
from urllib.parse import urlsplit

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import select

from aggregator.db import session_scope
from aggregator.inbox import check_event_edit
from aggregator.models import Event, Source
from aggregator.settings import Settings
from crawlers.document import Limits
from tests.crawlers.test_document import many_events
from tests.support.httpserver import LoopbackHTTPServer
from tests.support.smtpserver import LoopbackSMTPServer
from tests.web.conftest import post_form

EVENT = {
    "title": "ATELIER RUST POUR DÉBUTANT·ES",
    "day": "2026-12-10",
    "start_time": "18:30",
    "end_time": "21:00",
    "venue": "La Coque",
    "address": "2 rue Henri Barbusse",
    "city": "Marseille",
    "url": "https://rust-marseille.example/ateliers/decembre",
    "description": "Premiers pas en Rust : ownership, emprunts et cargo.",
    "organizer": "Rust Marseille",
    "contact_email": "Bureau@Rust-Marseille.example",
}
ORGANIZER = "bureau@rust-marseille.example"


@pytest.fixture
def settings(settings: Settings, smtp_server: LoopbackSMTPServer) -> Settings:
    """The test settings, mailing through the loopback SMTP server."""
    return settings.model_copy(update={"mail_url": smtp_server.url})


def _text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def _submit_event(client: TestClient, **changes: str) -> None:
    response = post_form(client, "/submit/event", {**EVENT, **changes})
    assert response.status_code == 200, response.text


def _event(engine: Engine) -> Event:
    with session_scope(engine) as session:
        (event,) = session.exec(select(Event)).all()
        session.expunge(event)
        return event


def _agenda(client: TestClient) -> str:
    return client.get("/?from=2026-12-10&to=2026-12-10").text


# ------------------------------------------------------------------ single events


def test_a_submitted_event_is_acknowledged_and_waits_with_its_normalised_preview(
    admin_client: TestClient, sqlite_engine: Engine, smtp_server: LoopbackSMTPServer
) -> None:
    _submit_event(admin_client)
    (received,) = smtp_server.wait_for_messages(1)
    assert received["To"] == ORGANIZER
    assert "reçu" in received["Subject"] and "relire" in _text(received)
    page = admin_client.get("/admin/inbox")
    assert page.status_code == 200
    item = page.text.split('id="event-', 1)[1].split("</article>")[0]
    assert "Atelier Rust pour débutant·es" in item  # the title as stored (no shouting)
    assert "jeudi 10 décembre 2026 18:30" in item and "21:00" in item  # Europe/Paris
    assert "La Coque, Marseille" in item
    assert "https://rust-marseille.example/ateliers/decembre" in item
    nav = page.text.split('id="nav-inbox"', 1)[1].split("</a>")[0]
    assert re.search(r">\s*1\s*<", nav)
    assert "Atelier Rust pour" not in _agenda(admin_client)


def test_the_admin_edits_publishes_and_the_organizer_gets_a_link_that_works(
    admin_client: TestClient, sqlite_engine: Engine, smtp_server: LoopbackSMTPServer
) -> None:
    _submit_event(admin_client)
    event_id = _event(sqlite_engine).id
    edited = post_form(
        admin_client,
        f"/admin/inbox/events/{event_id}/edit",
        {"title": "Atelier Rust : premiers pas", "day": "2026-12-10", "start_time": "19:00",
         "end_time": "21:30", "venue": "La Coque", "url": EVENT["url"]},
        follow_redirects=False,
    )  # fmt: skip
    assert edited.status_code == 303
    page = admin_client.get("/admin/inbox").text
    assert "Atelier Rust : premiers pas" in page and "19:00" in page and "21:30" in page
    approved = post_form(
        admin_client, f"/admin/inbox/events/{event_id}/approve", {}, follow_redirects=False
    )
    assert approved.status_code == 303
    _, decision = smtp_server.wait_for_messages(2)
    assert decision["To"] == ORGANIZER and "publié" in decision["Subject"]
    link = re.search(r"https?://\S+/events/\d+", _text(decision))
    assert link is not None
    public = admin_client.get(urlsplit(link.group(0)).path)
    assert public.status_code == 200 and "Atelier Rust : premiers pas" in public.text
    assert "Atelier Rust : premiers pas" in _agenda(admin_client)
    assert 'id="event-' not in admin_client.get("/admin/inbox").text
    stored = _event(sqlite_engine)
    assert not stored.hidden and stored.marked_tech
    assert stored.start is not None and stored.start.hour == 18  # 19:00 in Paris, UTC+1


def test_an_edit_with_a_past_day_or_an_end_before_its_start_is_refused_with_the_form_kept(
    admin_client: TestClient, sqlite_engine: Engine
) -> None:
    _submit_event(admin_client)
    event_id = _event(sqlite_engine).id
    response = post_form(
        admin_client,
        f"/admin/inbox/events/{event_id}/edit",
        {"title": "Atelier Rust corrigé", "day": "2026-11-20", "start_time": "20:00",
         "end_time": "19:00", "venue": "", "url": ""},
    )  # fmt: skip
    assert response.status_code == 422
    assert "Cette date est passée" in response.text
    assert "L&#39;heure de fin doit suivre l&#39;heure de début." in response.text
    assert 'value="Atelier Rust corrigé"' in response.text
    assert _event(sqlite_engine).title == "Atelier Rust pour débutant·es"


def test_a_rejected_event_never_appears_and_the_organizer_reads_the_reason(
    admin_client: TestClient, sqlite_engine: Engine, smtp_server: LoopbackSMTPServer
) -> None:
    _submit_event(admin_client)
    event_id = _event(sqlite_engine).id
    response = post_form(
        admin_client,
        f"/admin/inbox/events/{event_id}/reject",
        {"reason": "Atelier payant réservé aux adhérent·es."},
        follow_redirects=False,
    )
    assert response.status_code == 303
    _, decision = smtp_server.wait_for_messages(2)
    assert "pas été publié" in decision["Subject"]
    assert "Motif : Atelier payant réservé aux adhérent·es." in _text(decision)
    assert "Atelier Rust pour" not in _agenda(admin_client)
    assert admin_client.get(f"/events/{event_id}").status_code == 404
    assert 'id="event-' not in admin_client.get("/admin/inbox").text
    with session_scope(sqlite_engine) as session:
        form = session.exec(select(Source).where(Source.kind == "form")).one()
        assert form.state == "rejected"
    again = post_form(admin_client, f"/admin/inbox/events/{event_id}/approve", {})
    assert again.status_code == 422  # decided once: no second decision
    assert "Atelier Rust pour" not in _agenda(admin_client)


def test_an_organizer_on_the_english_page_gets_english_mails(
    admin_client: TestClient, sqlite_engine: Engine, smtp_server: LoopbackSMTPServer
) -> None:
    admin_client.cookies.set("lang", "en")
    _submit_event(admin_client)
    (received,) = smtp_server.wait_for_messages(1)
    assert received["Subject"].startswith("We received your event")
    admin_client.cookies.set("lang", "fr")
    event_id = _event(sqlite_engine).id
    post_form(admin_client, f"/admin/inbox/events/{event_id}/approve", {})
    _, decision = smtp_server.wait_for_messages(2)
    assert decision["Subject"].startswith("Your event") and "Its page:" in _text(decision)


def test_the_inbox_is_for_admins_and_its_actions_need_the_csrf_token(
    client: TestClient, admin_client: TestClient, sqlite_engine: Engine
) -> None:
    _submit_event(admin_client)
    event_id = _event(sqlite_engine).id
    refused = admin_client.post(f"/admin/inbox/events/{event_id}/approve", data={})
    assert refused.status_code == 403
    assert _event(sqlite_engine).hidden
    admin_client.cookies.clear()
    anonymous = admin_client.get("/admin/inbox", follow_redirects=False)
    assert anonymous.status_code in (302, 303, 401)


# ------------------------------------------------------------------ feeds


CALENDAR = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Fablab Aix//Agenda//FR\r\n"
    "BEGIN:VEVENT\r\nUID:fab-1@fablab-aix.example\r\nDTSTAMP:20261101T000000Z\r\n"
    "DTSTART;TZID=Europe/Paris:20261205T140000\r\nDTEND;TZID=Europe/Paris:20261205T180000\r\n"
    "SUMMARY:Atelier impression 3D\r\nLOCATION:Fablab\\, 5 rue des Allumettes\\, Aix-en-Provence"
    "\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)
HOME = (
    "<!DOCTYPE html><html lang='fr'><head><title>Fablab Aix</title>"
    "<link rel='alternate' type='text/calendar' title='Agenda' href='/agenda.ics'></head>"
    "<body><h1>Fablab Aix</h1><p>Nos ateliers chaque samedi.</p></body></html>"
)


def _submit_feed(client: TestClient, url: str) -> None:
    response = post_form(
        client,
        "/submit/confirm",
        {"url": url, "name": "Fablab Aix", "contact_email": "contact@fablab-aix.example"},
    )
    assert response.status_code == 200
    assert "Merci" in response.text or "Thank you" in response.text


def test_a_submitted_page_is_probed_and_its_adapter_shown_in_the_inbox_and_source_page(
    admin_client: TestClient,
    sqlite_engine: Engine,
    http_server: LoopbackHTTPServer,
    smtp_server: LoopbackSMTPServer,
) -> None:
    feed = http_server.add("/agenda.ics", CALENDAR, content_type="text/calendar")
    home = http_server.add("/", HOME, content_type="text/html; charset=utf-8")
    _submit_feed(admin_client, home)
    (received,) = smtp_server.wait_for_messages(1)
    assert "Fablab Aix" in received["Subject"] and home in _text(received)
    with session_scope(sqlite_engine) as session:
        source = session.exec(select(Source)).one()
        assert (source.state, source.adapter) == ("pending", "ical")
        assert source.route is not None and source.route["url"] == feed
        source_id = source.id
    item = admin_client.get("/admin/inbox").text.split(f'id="feed-{source_id}"')[1]
    assert "<strong>ical</strong>" in item.split("</dd>")[1] and feed in item
    assert "ical" in admin_client.get(f"/admin/sources/{source_id}").text.split(
        'id="source-adapter"')[1].split("</p>")[0]  # fmt: skip
    preview = post_form(admin_client, f"/admin/inbox/feeds/{source_id}/preview", {})
    assert preview.status_code == 200  # the page itself has no event: the probe said so
    approved = post_form(
        admin_client, f"/admin/inbox/feeds/{source_id}/approve", {}, follow_redirects=False
    )
    assert approved.status_code == 303
    _, decision = smtp_server.wait_for_messages(2)
    assert "accepté" in decision["Subject"]
    with session_scope(sqlite_engine) as session:
        assert session.get(Source, source_id).state == "approved"  # type: ignore[union-attr]


def test_a_feed_read_as_is_gets_the_adapter_of_its_format_and_a_preview_now(
    admin_client: TestClient, sqlite_engine: Engine, http_server: LoopbackHTTPServer
) -> None:
    feed = http_server.add("/agenda.ics", CALENDAR, content_type="text/calendar")
    _submit_feed(admin_client, feed)
    with session_scope(sqlite_engine) as session:
        source = session.exec(select(Source)).one()
        assert source.adapter == "ical" and source.route is not None
        source_id = source.id
    preview = post_form(admin_client, f"/admin/inbox/feeds/{source_id}/preview", {})
    assert "Atelier impression 3D" in preview.text


def test_a_submitted_feed_refused_from_the_dashboard_tells_the_organizer_too(
    admin_client: TestClient,
    sqlite_engine: Engine,
    http_server: LoopbackHTTPServer,
    smtp_server: LoopbackSMTPServer,
) -> None:
    feed = http_server.add("/agenda.ics", CALENDAR, content_type="text/calendar")
    _submit_feed(admin_client, feed)
    smtp_server.wait_for_messages(1)
    with session_scope(sqlite_engine) as session:
        source_id = session.exec(select(Source)).one().id
    refused = post_form(admin_client, f"/admin/sources/{source_id}/state", {"action": "reject"},
                        follow_redirects=False)  # fmt: skip
    assert refused.status_code == 303
    _, decision = smtp_server.wait_for_messages(2)
    assert decision["To"] == "contact@fablab-aix.example" and "Fablab Aix" in decision["Subject"]
    assert "pas été accepté" in decision["Subject"]
    with session_scope(sqlite_engine) as session:
        assert session.get(Source, source_id).state == "rejected"  # type: ignore[union-attr]
    assert f'id="feed-{source_id}"' not in admin_client.get("/admin/inbox").text


def test_a_check_of_the_source_does_not_forget_the_organizers_language(
    admin_client: TestClient,
    sqlite_engine: Engine,
    http_server: LoopbackHTTPServer,
    smtp_server: LoopbackSMTPServer,
) -> None:
    feed = http_server.add("/agenda.ics", CALENDAR, content_type="text/calendar")
    admin_client.cookies.set("lang", "en")
    _submit_feed(admin_client, feed)
    smtp_server.wait_for_messages(1)
    admin_client.cookies.set("lang", "fr")
    with session_scope(sqlite_engine) as session:
        source_id = session.exec(select(Source)).one().id
    checked = post_form(admin_client, f"/admin/sources/{source_id}/check", {},
                        follow_redirects=False)  # fmt: skip
    assert checked.status_code == 303  # the check rewrites last_check
    post_form(admin_client, f"/admin/inbox/feeds/{source_id}/approve", {})
    _, decision = smtp_server.wait_for_messages(2)
    assert "accepted" in decision["Subject"], decision["Subject"]


def test_a_probe_that_cannot_fetch_still_accepts_the_submission_and_says_why(
    admin_client: TestClient, sqlite_engine: Engine, http_server: LoopbackHTTPServer
) -> None:
    gone = http_server.add("/agenda", "not here", status=404)
    _submit_feed(admin_client, gone)
    with session_scope(sqlite_engine) as session:
        source = session.exec(select(Source)).one()
        assert (source.state, source.adapter) == ("pending", None)
        source_id = source.id
    item = admin_client.get("/admin/inbox").text.split(f'id="feed-{source_id}"')[1]
    assert "Le serveur a répondu HTTP 404" in item.split("</dd>")[1]
    english = admin_client.get("/admin/inbox?lang=en").text
    assert "The server answered HTTP 404" in english
    reject = post_form(admin_client, f"/admin/inbox/feeds/{source_id}/reject", {"reason": ""})
    assert reject.status_code == 200 and 'id="feed-' not in reject.text


# ------------------------------------------------------------------ the pure check


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"title": "ab", "day": "2026-12-10"}, "title"),
        ({"title": "Atelier", "day": "2026-11-25"}, "day"),
        ({"title": "Atelier", "day": "2026-12-10", "end_time": "20:00"}, "start_time"),
        ({"title": "Atelier", "day": "2026-12-10", "start_time": "20:00", "end_time": "20:00"},
         "end_time"),
        ({"title": "Atelier", "day": "2026-12-10", "url": "javascript:alert(1)"}, "url"),
        ({"title": "Atelier", "day": "2101-01-01"}, "day"),
    ],
)  # fmt: skip
def test_an_edit_is_checked_like_the_public_form(values: dict[str, str], field: str) -> None:
    edit, problems = check_event_edit(values, date(2026, 11, 26))
    assert edit is None and field in problems


def test_a_good_edit_gives_floating_local_times() -> None:
    edit, problems = check_event_edit(
        {"title": " Atelier ", "day": "2026-11-26", "start_time": "18:00", "end_time": "20:00"},
        date(2026, 11, 26),
    )
    assert problems == {} and edit is not None
    assert (edit.title, edit.start.isoformat(), edit.venue) == ("Atelier", "2026-11-26T18:00:00",
                                                                None)  # fmt: skip


def test_a_slow_site_cannot_hold_the_submission_past_the_probe_budget(
    admin_client: TestClient, sqlite_engine: Engine, http_server: LoopbackHTTPServer
) -> None:
    empty = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//y//FR\r\nEND:VCALENDAR\r\n"
    links = ""
    for name in ("a", "b", "c", "d"):
        http_server.add(f"/{name}.ics", empty, content_type="text/calendar", delay=1.0)
        links += f"<link rel='alternate' type='text/calendar' href='/{name}.ics'>"
    home = http_server.add("/", f"<html><head>{links}</head><body>Agenda</body></html>",
                           content_type="text/html")  # fmt: skip
    admin_client.app.state.probe_budget = 1.5  # type: ignore[attr-defined]
    _submit_feed(admin_client, home)  # the budget, not the clock, is what is checked:
    assert http_server.hits("/c.ics") == 0 and http_server.hits("/d.ics") == 0
    with session_scope(sqlite_engine) as session:
        source = session.exec(select(Source)).one()
        assert (source.state, source.adapter) == ("pending", None)
        assert source.last_check is not None
        tried = source.last_check["route_proposal"]["attempts"]
        assert any("time budget" in a["outcome"] for a in tried)


def test_showing_a_waiting_submission_from_the_events_list_publishes_it_as_the_inbox_does(
    admin_client: TestClient, sqlite_engine: Engine, smtp_server: LoopbackSMTPServer
) -> None:
    _submit_event(admin_client)
    smtp_server.wait_for_messages(1)
    event_id = _event(sqlite_engine).id
    listed = admin_client.get("/admin/events?hidden=true").text
    assert f'action="/admin/events/{event_id}/unhide"' in listed
    shown = post_form(admin_client, f"/admin/events/{event_id}/unhide", {}, follow_redirects=False)
    assert shown.status_code == 303
    _, decision = smtp_server.wait_for_messages(2)
    assert decision["To"] == ORGANIZER and "publié" in decision["Subject"]
    assert "Atelier Rust pour débutant·es" in _agenda(admin_client)
    assert 'id="event-' not in admin_client.get("/admin/inbox").text
    stored = _event(sqlite_engine)
    assert not stored.hidden and stored.marked_tech
    assert any(n.get("inbox") == "approved" for n in stored.merge_notes)
    # hidden again and shown again: an ordinary show, no second mail
    post_form(admin_client, f"/admin/events/{event_id}/hide", {})
    post_form(admin_client, f"/admin/events/{event_id}/unhide", {})
    assert not _event(sqlite_engine).hidden
    assert len(smtp_server.messages) == 2


def test_an_event_already_on_the_agenda_is_added_at_once_and_the_organizer_gets_its_link(
    admin_client: TestClient, sqlite_engine: Engine, smtp_server: LoopbackSMTPServer,
    settings: Settings,
) -> None:
    """The organizer types in an event a feed already published: no review is promised (it
    would never come), the mail and the page say it is on the agenda and link its page."""
    from datetime import datetime

    from aggregator.ingest import ingest_events
    from aggregator.raw import RawEvent
    from tests.web.conftest import NOW

    with session_scope(sqlite_engine) as session:
        feed = Source(name="Rust Marseille (Meetup)", url="https://rust-marseille.example/feed",
                      state="approved", kind="meetup group")
        session.add(feed)
        session.flush()
        ingest_events(session, feed, [RawEvent(
            title="Atelier Rust pour débutant·es", start=datetime(2026, 12, 10, 18, 30),
            end=datetime(2026, 12, 10, 21, 0), url=EVENT["url"], venue="La Coque",
            city="Marseille", uid="rust-42", description="Premiers pas en Rust.")],
            now=NOW, complete=True, settings=settings)
    (published,) = [e.id for e in [_event(sqlite_engine)] if not e.hidden]
    page = post_form(admin_client, "/submit/event", EVENT)
    assert page.status_code == 200
    assert "déjà dans l'agenda" in html.unescape(page.text) and f'href="/events/{published}"' in page.text
    (mail,) = smtp_server.wait_for_messages(1)
    assert mail["To"] == ORGANIZER and "publié" in mail["Subject"]
    assert f"/events/{published}" in _text(mail) and "relire" not in _text(mail)
    assert 'id="event-' not in admin_client.get("/admin/inbox").text
    assert _event(sqlite_engine).id == published  # one event, now with both listings


def test_a_submitted_document_too_heavy_to_read_is_probed_apart_and_the_admin_reads_why(
    app: FastAPI, admin_client: TestClient, sqlite_engine: Engine, http_server: LoopbackHTTPServer
) -> None:
    """The probe reads an anonymous visitor's documents in a limited child, as the preview
    does: a hostile calendar costs the web process nothing and the submission is kept."""
    app.state.read_limits = Limits(memory_mb=64, seconds=30)
    url = http_server.add("/hostile.ics", many_events(12_000), content_type="text/calendar")
    _submit_feed(admin_client, url)
    with session_scope(sqlite_engine) as session:
        source = session.exec(select(Source)).one()
        assert (source.state, source.adapter) == ("pending", None)
        source_id = source.id
    item = admin_client.get("/admin/inbox").text.split(f'id="feed-{source_id}"')[1]
    assert "Document trop complexe" in item.split("</article>")[0]
    english = admin_client.get("/admin/inbox?lang=en").text.split(f'id="feed-{source_id}"')[1]
    assert "Document too complex" in english.split("</article>")[0]
