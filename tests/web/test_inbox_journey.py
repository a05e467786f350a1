"""The moderation inbox in a real browser (Debian's chromium through Playwright), at phone
and desktop widths, in French and English: an organizer submits, an admin reviews in the
inbox, the organizer's mails arrive in the loopback SMTP server and their links work.

The site is a real uvicorn on 127.0.0.1 (``tests.support.liveserver``), a real migrated
SQLite file and a fixed clock (``tests.support.clock``); the submitted feed is served by
the loopback HTTP server. Screenshots go to $TEST_ARTIFACTS.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from aggregator.admins import create_admin
from aggregator.db import session_scope
from aggregator.settings import Settings
from tests.support.clock import Clock
from tests.support.httpserver import LoopbackHTTPServer
from tests.support.liveserver import serve
from tests.support.smtpserver import LoopbackSMTPServer
from tests.web import test_browser
from tests.web.conftest import ADMIN_PASSWORD, NOW
from tests.web.test_inbox import CALENDAR
from web.app import create_app
from web.i18n import translator

pytestmark = pytest.mark.browser
sync_api = pytest.importorskip("playwright.sync_api")

browser = test_browser.browser  # the chromium fixture of the other journeys
ARTIFACTS = test_browser.ARTIFACTS
PHONE, DESKTOP = test_browser.PHONE, test_browser.DESKTOP
LOCALES = {"fr": "fr-FR", "en": "en-GB"}
DAY = "2026-12-10"  # two weeks after the fixed clock's Thursday


@pytest.fixture
def site(
    settings: Settings, sqlite_engine: Engine, smtp_server: LoopbackSMTPServer
) -> Iterator[str]:
    """The site mailing through the loopback SMTP server, with one admin, at NOW."""
    with session_scope(sqlite_engine) as session:
        create_admin(session, "camille", ADMIN_PASSWORD, email="camille@techagenda.example",
                     now=NOW)  # fmt: skip

    def make(base: str) -> Any:
        live = settings.model_copy(update={"mail_url": smtp_server.url, "base_url": base})
        app = create_app(live, clock=Clock(NOW))
        app.state.refetch_delay = 0.0
        return app

    with serve(make) as base:
        yield base


def _page(browser: Any, viewport: dict[str, int], lang: str) -> Any:
    return browser.new_context(viewport=viewport, locale=LOCALES[lang]).new_page()


def _text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def _fits(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def _submit_event(page: Any, base: str, lang: str, title: str) -> None:
    """Keyboard for the title and times, the mouse for the rest and the button."""
    _ = translator(lang)
    page.goto(f"{base}/submit/event")
    page.get_by_label(_("Titre")).click()
    page.keyboard.type(title)
    page.keyboard.press("Tab")  # to the date
    page.get_by_label(_("Date"), exact=True).fill(DAY)
    page.get_by_label(_("Heure de début")).fill("18:30")
    page.get_by_label(_("Heure de fin")).fill("21:00")
    page.get_by_label(_("Lieu")).fill("La Coque")
    page.get_by_label(_("Ville")).fill("Marseille")
    page.get_by_label(_("Nom de l'organisation ou du groupe")).fill("Rust Marseille")
    page.get_by_label(_("Email de contact")).fill("bureau@rust-marseille.example")
    page.get_by_role("button", name=_("Envoyer"), exact=True).click()
    page.get_by_role("heading", name=_("Merci !")).wait_for()


def _log_in_to_inbox(page: Any, base: str, lang: str) -> None:
    _ = translator(lang)
    page.goto(f"{base}/admin/inbox")  # the login page, coming back here after
    page.get_by_label(_("Identifiant")).fill("camille")
    page.get_by_label(_("Mot de passe")).fill(ADMIN_PASSWORD)
    page.get_by_label(_("Mot de passe")).press("Enter")
    page.get_by_role("heading", name=_("Propositions à relire")).wait_for()


@pytest.mark.parametrize(("viewport", "lang"), [(PHONE, "fr"), (DESKTOP, "en")],
                         ids=["phone-fr", "desktop-en"])  # fmt: skip
def test_a_submitted_event_is_edited_published_and_its_organizer_follows_the_link(
    site: str, browser: Any, smtp_server: LoopbackSMTPServer, viewport: dict[str, int],
    lang: str,
) -> None:  # fmt: skip
    _ = translator(lang)
    organizer = _page(browser, viewport, lang)
    _submit_event(organizer, site, lang, "ATELIER RUST POUR DÉBUTANT·ES")
    (received,) = smtp_server.wait_for_messages(1)
    assert received["Subject"].startswith(
        "Nous avons bien reçu" if lang == "fr" else "We received")

    admin = _page(browser, viewport, lang)
    _log_in_to_inbox(admin, site, lang)
    item = admin.locator("article.inbox-item").first
    assert "Atelier Rust pour débutant·es" in item.locator("h2").inner_text()
    when = item.locator(".when").inner_text()  # Europe/Paris, as typed
    assert ("18:30" if lang == "fr" else "6:30") in when
    assert "La Coque, Marseille" in item.locator(".where").inner_text()
    assert re.search(r"\b1\b", admin.locator("#nav-inbox").inner_text())
    assert _fits(admin)
    admin.screenshot(path=str(ARTIFACTS / f"inbox-{lang}-{viewport['width']}.png"),
                     full_page=True)  # fmt: skip
    item.locator("summary", has_text=_("Modifier")).click()
    item.get_by_label(_("Titre")).fill("Atelier Rust : premiers pas")
    item.get_by_role("button", name=_("Enregistrer")).click()
    admin.get_by_role("status").filter(has_text=_("Événement corrigé.")).wait_for()
    admin.get_by_role("button", name=f"{_('Publier')} Atelier Rust : premiers pas").click()
    admin.get_by_text(_("Rien à relire.")).wait_for()

    _, decision = smtp_server.wait_for_messages(2)
    link = re.search(r"https?://\S+/events/\d+", _text(decision))
    assert link is not None
    organizer.goto(link.group(0))  # the organizer follows the mail's link
    organizer.get_by_role("heading", name="Atelier Rust : premiers pas").wait_for()
    organizer.goto(f"{site}/?from={DAY}&to={DAY}")
    organizer.get_by_role("link", name="Atelier Rust : premiers pas").wait_for()
    assert _fits(organizer)


def test_a_rejected_event_never_appears_on_the_agenda(
    site: str, browser: Any, smtp_server: LoopbackSMTPServer
) -> None:
    _ = translator("fr")
    organizer = _page(browser, DESKTOP, "fr")
    _submit_event(organizer, site, "fr", "Soirée poker entre amis")
    admin = _page(browser, DESKTOP, "fr")
    _log_in_to_inbox(admin, site, "fr")
    item = admin.locator("article.inbox-item").first
    item.locator("summary", has_text=_("Refuser")).click()
    item.get_by_label(_("Motif (envoyé à l'organisateur·rice, facultatif)")).fill(
        "Hors sujet : pas un événement tech.")
    item.get_by_role("button", name=f"{_('Refuser')} Soirée poker entre amis").click()
    admin.get_by_text(_("Rien à relire.")).wait_for()
    _, decision = smtp_server.wait_for_messages(2)
    assert "Motif : Hors sujet : pas un événement tech." in _text(decision)
    organizer.goto(f"{site}/?from={DAY}&to={DAY}")
    assert organizer.get_by_text("Soirée poker").count() == 0


def test_a_submitted_feed_shows_its_probed_adapter_in_the_inbox(
    site: str, browser: Any, http_server: LoopbackHTTPServer, smtp_server: LoopbackSMTPServer
) -> None:
    _ = translator("en")
    feed = http_server.add("/agenda.ics", CALENDAR, content_type="text/calendar")
    organizer = _page(browser, PHONE, "en")
    organizer.goto(f"{site}/submit")
    organizer.get_by_label(_("Adresse du flux ou de la page")).fill(feed)
    organizer.get_by_role("button", name=_("Voir l'aperçu")).click()
    organizer.get_by_label(_("Nom de l'organisation ou du groupe")).fill("Fablab Aix")
    organizer.get_by_label(_("Email de contact")).fill("contact@fablab-aix.example")
    organizer.get_by_role("button", name=_("Envoyer"), exact=True).click()
    organizer.get_by_role("heading", name=_("Merci !")).wait_for()
    (received,) = smtp_server.wait_for_messages(1)
    assert received["Subject"] == "We received your calendar 'Fablab Aix'"
    admin = _page(browser, PHONE, "en")
    _log_in_to_inbox(admin, site, "en")
    item = admin.locator("article.inbox-item").first
    assert item.locator(".adapter strong").inner_text() == "ical"
    assert _fits(admin)
    item.get_by_role("button", name=f"{_('Aperçu maintenant')} Fablab Aix").click()
    admin.get_by_role("cell", name="Atelier impression 3D").wait_for()
    admin.go_back()
    admin.get_by_role("button", name=f"{_('Approuver')} Fablab Aix").click()
    admin.get_by_text(_("Rien à relire.")).wait_for()
    _, decision = smtp_server.wait_for_messages(2)
    assert decision["Subject"] == "Your calendar 'Fablab Aix' is accepted"
