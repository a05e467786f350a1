"""The three journeys in a real browser: Debian's chromium driven by Playwright, against
a real uvicorn server on 127.0.0.1, a real SQLite file and a loopback SMTP server.

Screenshots (phone 390x844 and desktop 1280x900) go to $TEST_ARTIFACTS
(default /tmp/techagenda-artifacts), never into the repository.
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from sqlalchemy.engine import Engine
from sqlmodel import select

from aggregator.admins import create_admin
from aggregator.db import session_scope
from aggregator.models import CrawlRun, Source, Subscriber
from aggregator.settings import Settings
from tests.support.httpserver import LoopbackHTTPServer
from tests.support.smtpserver import LoopbackSMTPServer
from web.app import create_app

pytestmark = pytest.mark.browser
sync_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS", "/tmp/techagenda-artifacts"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def live(
    settings: Settings, sqlite_engine: Engine, smtp_server: LoopbackSMTPServer
) -> Iterator[tuple[str, Settings]]:
    """A uvicorn server in a thread; yields its base URL and the settings it runs with."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    live_settings = settings.model_copy(update={"mail_url": smtp_server.url, "base_url": base})
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(live_settings),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="on",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield base, live_settings
    server.should_exit = True
    thread.join(10)


@pytest.fixture
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed")
    with sync_api.sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield instance
        instance.close()


def shoot(browser: Any, url: str, name: str) -> None:
    """Screenshots of one page at phone and desktop widths."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for label, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        context = browser.new_context(viewport=viewport, locale="fr-FR")
        page = context.new_page()
        page.goto(url)
        page.screenshot(path=str(ARTIFACTS / f"{name}-{label}.png"), full_page=True)
        context.close()


def feed_in_the_coming_weeks(now: datetime) -> str:
    """An iCal feed of a Marseille meetup group, dated from today."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Marseille JS//Agenda//FR"]
    talks = [
        ("Marseille JS : Svelte 5 en production", 2, 19),
        ("Marseille JS : Web Components", 9, 19),
        ("Atelier accessibilité web", 16, 14),
    ]
    for n, (title, days, hour) in enumerate(talks):
        day = (now + timedelta(days=days)).strftime("%Y%m%d")
        lines += [
            "BEGIN:VEVENT",
            f"UID:mjs-{n}@marseillejs.example",
            "DTSTAMP:20261101T000000Z",
            f"DTSTART;TZID=Europe/Paris:{day}T{hour:02d}0000",
            f"DTEND;TZID=Europe/Paris:{day}T{hour + 2:02d}0000",
            f"SUMMARY:{title}",
            "LOCATION:La Coque\\, 2 rue Henri Barbusse\\, 13001 Marseille",
            "DESCRIPTION:Meetup JavaScript\\, talks et apéro.",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "\r\n".join(lines) + "\r\n"


def test_subscriber_signs_up_confirms_tunes_and_leaves(
    live: tuple[str, Settings], browser: Any, smtp_server: LoopbackSMTPServer, sqlite_engine: Engine
) -> None:
    base, _settings = live
    context = browser.new_context(viewport=PHONE, locale="fr-FR")
    page = context.new_page()
    page.goto(f"{base}/subscribe")
    page.get_by_label("Adresse email").fill("lea.martin@exemple.fr")
    page.get_by_label("IA & data").check()
    page.screenshot(path=str(ARTIFACTS / "subscribe-form-phone.png"), full_page=True)
    page.get_by_role("button", name="S'abonner").click()
    page.get_by_role("heading", name="Vérifiez votre boîte mail").wait_for()

    (message,) = smtp_server.wait_for_messages(1)  # sent after the page answered
    assert message["To"] == "lea.martin@exemple.fr"
    body = message.get_body(preferencelist=("plain",)).get_content()
    link = re.search(rf"{re.escape(base)}/confirm/\S+", body)
    assert link, body
    page.goto(link.group(0))
    page.get_by_role("button", name="Confirmer mon inscription").click()
    page.get_by_text("Inscription confirmée").wait_for()
    page.get_by_label("Cloud & DevOps").check()
    page.get_by_role("button", name="Enregistrer").click()
    page.get_by_text("Préférences enregistrées.").wait_for()
    page.screenshot(path=str(ARTIFACTS / "preferences-phone.png"), full_page=True)
    with session_scope(sqlite_engine) as session:
        sub = session.exec(select(Subscriber)).one()
        assert sub.status == "confirmed" and set(sub.topics) == {"ia-data", "cloud-devops"}

    unsubscribe_url = base + page.get_by_role("link", name="Se désinscrire").get_attribute("href")
    page.goto(unsubscribe_url)  # the page alone changes nothing
    with session_scope(sqlite_engine) as session:
        assert session.exec(select(Subscriber)).one().status == "confirmed"
    answer = context.request.post(unsubscribe_url, form={"List-Unsubscribe": "One-Click"})
    assert answer.ok
    with session_scope(sqlite_engine) as session:
        assert session.exec(select(Subscriber)).one().status == "unsubscribed"
    context.close()


def test_organizer_sees_a_preview_then_submits(
    live: tuple[str, Settings], browser: Any, http_server: LoopbackHTTPServer, sqlite_engine: Engine
) -> None:
    base, _settings = live
    feed = http_server.add(
        "/marseillejs.ics",
        feed_in_the_coming_weeks(datetime.now(UTC)),
        content_type="text/calendar",
    )
    for label, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        context = browser.new_context(viewport=viewport, locale="fr-FR")
        page = context.new_page()
        page.goto(f"{base}/submit")
        page.get_by_label("Adresse du flux ou de la page").fill(feed)
        page.get_by_role("button", name="Voir l'aperçu").click()
        page.get_by_role("heading", name="Ce que nous avons trouvé").wait_for()
        assert page.get_by_text("Marseille JS : Svelte 5 en production").is_visible()
        page.screenshot(path=str(ARTIFACTS / f"submit-preview-{label}.png"), full_page=True)
        if label == "desktop":
            page.get_by_label("Nom de l'organisation ou du groupe").fill("Marseille JS")
            page.get_by_label("Email de contact").fill("orga@marseillejs.example")
            page.get_by_role("button", name="Envoyer", exact=True).click()
            page.get_by_role("heading", name="Merci !").wait_for()
        context.close()
    with session_scope(sqlite_engine) as session:
        source = session.exec(select(Source)).one()
    assert (source.url, source.state, source.name) == (feed, "pending", "Marseille JS")


def test_admin_approves_a_source_crawls_it_and_its_events_appear(
    live: tuple[str, Settings], browser: Any, http_server: LoopbackHTTPServer, sqlite_engine: Engine
) -> None:
    base, settings = live
    feed = http_server.add(
        "/marseillejs.ics",
        feed_in_the_coming_weeks(datetime.now(UTC)),
        content_type="text/calendar",
    )
    with session_scope(sqlite_engine) as session:
        create_admin(
            session,
            "camille",
            "correct horse battery staple",
            email="camille@techagenda.example",
            now=datetime.now(UTC),
        )
        session.add(
            Source(
                name="Marseille JS",
                url=feed,
                state="pending",
                contact_email="orga@marseillejs.example",
            )
        )
    context = browser.new_context(viewport=DESKTOP, locale="fr-FR")
    page = context.new_page()
    page.goto(f"{base}/admin")
    page.get_by_label("Identifiant").fill("camille")
    page.get_by_label("Mot de passe").fill("correct horse battery staple")
    page.get_by_role("button", name="Se connecter").click()
    page.get_by_role("heading", name="Sources").wait_for()
    page.get_by_role("button", name="Approuver Marseille JS").click()
    page.get_by_role("button", name="Crawler maintenant Marseille JS").click()
    page.get_by_role("heading", name=re.compile(r"Crawl #\d+")).wait_for()
    assert page.locator("#run-status").inner_text() == "en file"
    with session_scope(sqlite_engine) as session:
        run = session.exec(select(CrawlRun)).one()
        assert (run.status, run.requested_by) == ("queued", "admin:camille")
    page.screenshot(path=str(ARTIFACTS / "admin-run-desktop.png"), full_page=True)

    from crawlers.run import run_crawl  # the scheduler's job, run here in its place

    finished = run_crawl(settings, run_id=run.id, timeout=120)
    assert finished.status == "done", finished.error
    # the run page refreshes itself while the crawl is queued: wait, as a person would,
    # until it shows the crawl done (then it stops refreshing) before leaving it
    page.locator("#run-status", has_text="terminé").wait_for(timeout=15_000)
    page.goto(f"{base}/admin")
    page.screenshot(path=str(ARTIFACTS / "admin-sources-desktop.png"), full_page=True)
    page.goto(f"{base}/")
    page.get_by_role("link", name="Marseille JS : Svelte 5 en production").wait_for()
    context.close()
    shoot(browser, f"{base}/", "agenda")
    with session_scope(sqlite_engine) as session:
        from aggregator.models import Event

        event_id = session.exec(select(Event.id)).first()
    shoot(browser, f"{base}/events/{event_id}", "event")
    shoot(browser, f"{base}/?lang=en", "agenda-en")
