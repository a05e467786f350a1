"""People using the site's forms in Debian's chromium (Playwright), at phone and desktop
width, in French and English: the home filter form by keyboard and by mouse, its chips,
paging, a bad value explained with the form kept, the single-event form, the 404 page.

One browser and one server per module (a real uvicorn on 127.0.0.1, a real SQLite file,
a fixed clock); every test opens its own browser context. Nothing here types a URL a form
would build: the forms are filled and submitted, the links clicked.
"""

from __future__ import annotations

import email
import email.policy
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from aggregator.db import make_engine, session_scope, upgrade
from aggregator.models import Event
from aggregator.settings import load_settings
from newsletter.tokens import make_token
from tests.newsletter.conftest import add_subscriber
from tests.web.conftest import NOW, seed_events
from web.app import create_app
from web.i18n import translator

pytestmark = pytest.mark.browser
sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

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
LOCALES = {"fr": "fr-FR", "en": "en-GB"}
WORKSHOPS = 45  # more than one page of forty


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


PREFERENCES: dict[str, str] = {}  # the seeded subscriber's preferences page


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The site on a free loopback port, its store seeded around the fixed clock."""
    root = tmp_path_factory.mktemp("journeys")
    url = f"sqlite:///{root / 'techagenda.db'}"
    engine = make_engine(url)
    upgrade(engine)
    seed_events(engine)
    start = datetime(2026, 12, 1, 17, 0, tzinfo=UTC)
    with session_scope(engine) as session:
        for n in range(WORKSHOPS):
            session.add(Event(title=f"Atelier numéro {n:02d}", start=start + timedelta(hours=n),
                              end=start + timedelta(hours=n, minutes=30), city="Marseille",
                              insee="13055", in_region=True, relevance=3.0, topics=[],
                              timezone="Europe/Paris"))
    port = _free_port()
    address = f"http://127.0.0.1:{port}"
    settings = load_settings(
        data_dir=root / "var",
        database_url=url,
        mail_url=f"file://{root / 'outbox'}",
        secret_key="test-secret-key",
        base_url=address,
    )
    with session_scope(engine) as session:
        sub = add_subscriber(session, "camille.durand@exemple.fr", topics=["web-mobile"])
        PREFERENCES["path"] = f"/preferences/{make_token(settings, sub, 'preferences')}"
        PREFERENCES["outbox"] = str(root / "outbox")
    engine.dispose()
    server = uvicorn.Server(uvicorn.Config(
        create_app(settings, clock=lambda: NOW), host="127.0.0.1", port=port,
        log_level="warning", lifespan="on",
    ))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield address
    server.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed")
    with sync_api.sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield instance
        instance.close()


@pytest.fixture
def open_page(browser: Any) -> Iterator[Callable[[dict[str, int], str], Any]]:
    contexts: list[Any] = []

    def opener(viewport: dict[str, int], lang: str) -> Any:
        context = browser.new_context(viewport=viewport, locale=LOCALES[lang])
        contexts.append(context)
        return context.new_page()

    yield opener
    for context in contexts:
        context.close()


def card_titles(page: Any) -> list[str]:
    return [t.strip() for t in page.locator("article.card h3 a").all_inner_texts()]


def chip_labels(page: Any) -> list[str]:
    return [t.replace("×", "").strip() for t in page.locator("a.chip.removable").all_inner_texts()]


def fits_the_width(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def open_filters(page: Any, _: Callable[[str], str]) -> None:
    summary = page.locator("details.filters > summary")
    if page.locator("details.filters[open]").count() == 0:
        summary.click()
    expect(page.get_by_label(_("Recherche"))).to_be_visible()


WIDTHS_AND_LANGUAGES = [
    pytest.param(PHONE, "fr", id="phone-fr"),
    pytest.param(DESKTOP, "en", id="desktop-en"),
    pytest.param(PHONE, "en", id="phone-en"),
    pytest.param(DESKTOP, "fr", id="desktop-fr"),
]


@pytest.mark.parametrize(("viewport", "lang"), WIDTHS_AND_LANGUAGES)
def test_a_visitor_filters_with_the_keyboard_and_reads_the_chips(
    base: str, open_page: Any, viewport: dict[str, int], lang: str
) -> None:
    _ = translator(lang)
    page = open_page(viewport, lang)
    page.goto(f"{base}/")
    assert fits_the_width(page)
    page.locator("details.filters > summary").focus()
    page.keyboard.press("Enter")  # opens the filters
    search = page.get_by_label(_("Recherche"))
    search.focus()
    page.keyboard.type("ARDUINO")
    with page.expect_navigation():  # submits, the other fields left empty
        page.keyboard.press("Enter")
    assert page.locator("h1").first.inner_text() != "422"
    assert card_titles(page) == ["Atelier Arduino au LFO"]
    assert chip_labels(page) == ["« ARDUINO »"]
    assert fits_the_width(page)


@pytest.mark.parametrize(("viewport", "lang"), WIDTHS_AND_LANGUAGES[:2])
def test_a_visitor_filters_with_the_mouse_then_removes_a_chip(
    base: str, open_page: Any, viewport: dict[str, int], lang: str
) -> None:
    _ = translator(lang)
    page = open_page(viewport, lang)
    page.goto(f"{base}/")
    open_filters(page, _)
    page.get_by_label(_("Ville")).select_option(label="Aix-en-Provence")
    page.get_by_label(_("Format")).select_option(label=_("Sur place"))
    with page.expect_navigation():
        page.get_by_role("button", name=_("Filtrer")).click()
    assert chip_labels(page) == ["Aix-en-Provence", _("Sur place")]
    assert card_titles(page) == ["Soirée IA générative & data", 'Startup Weekend <Aix> & "friends"']
    assert "town=aix-en-provence" in page.url  # a town a person can read in the address
    with page.expect_navigation():
        page.locator("a.chip.removable", has_text="Aix-en-Provence").click()
    assert chip_labels(page) == [_("Sur place")]
    assert "Atelier Arduino au LFO" in card_titles(page)
    assert "Webinaire Kubernetes en production" not in card_titles(page)


@pytest.mark.parametrize(("viewport", "lang"), WIDTHS_AND_LANGUAGES[:2])
def test_a_visitor_pages_forward_and_back(
    base: str, open_page: Any, viewport: dict[str, int], lang: str
) -> None:
    _ = translator(lang)
    page = open_page(viewport, lang)
    page.goto(f"{base}/")
    open_filters(page, _)
    page.get_by_label(_("Recherche")).fill("atelier")
    with page.expect_navigation():
        page.get_by_role("button", name=_("Filtrer")).click()
    first = card_titles(page)
    assert len(first) == 40
    with page.expect_navigation():
        page.get_by_role("link", name=re.compile(_("Événements suivants"))).click()
    second = card_titles(page)
    assert len(second) == WORKSHOPS + 1 - 40  # the Arduino workshop is an "atelier" too
    assert not set(first) & set(second)
    expect(page.locator(".page-number")).to_have_text(f"{_('Page')} 2")
    with page.expect_navigation():
        page.get_by_role("link", name=re.compile(_("Événements précédents"))).click()
    assert card_titles(page) == first
    assert chip_labels(page) == ["« atelier »"]


@pytest.mark.parametrize(("viewport", "lang"), WIDTHS_AND_LANGUAGES[:2])
def test_a_bad_value_is_explained_with_the_form_kept(
    base: str, open_page: Any, viewport: dict[str, int], lang: str
) -> None:
    _ = translator(lang)
    page = open_page(viewport, lang)
    page.goto(f"{base}/")
    open_filters(page, _)
    page.get_by_label(_("Recherche")).fill("atelier")
    page.get_by_label(_("Du"), exact=True).fill("2026-12-20")
    page.get_by_label(_("Au"), exact=True).fill("2026-12-02")
    with page.expect_navigation():
        page.get_by_role("button", name=_("Filtrer")).click()
    expect(page.locator("#to-error")).to_have_text(_("La date de fin doit suivre la date de début."))
    expect(page.get_by_label(_("Recherche"))).to_have_value("atelier")
    expect(page.get_by_label(_("Du"), exact=True)).to_have_value("2026-12-20")
    assert page.locator("pre, code").count() == 0  # nothing for developers
    assert fits_the_width(page)


@pytest.mark.parametrize(("viewport", "lang"), WIDTHS_AND_LANGUAGES[:2])
def test_the_event_form_refuses_a_far_future_day_with_the_form_kept(
    base: str, open_page: Any, viewport: dict[str, int], lang: str
) -> None:
    _ = translator(lang)
    page = open_page(viewport, lang)
    page.goto(f"{base}/submit/event")
    page.get_by_label(_("Titre")).fill("Atelier soudure")
    page.get_by_label(_("Date"), exact=True).fill("9999-12-31")
    page.get_by_label(_("Heure de début")).fill("14:00")
    page.get_by_label(_("Heure de fin")).fill("12:00")
    page.get_by_label(_("Nom de l'organisation ou du groupe")).fill("Fablab 13")
    page.get_by_label(_("Email de contact")).fill("fab@lab13.example")
    with page.expect_navigation():
        page.get_by_role("button", name=_("Envoyer")).click()
    expect(page.locator("#day-error")).to_have_text(
        _("Cette date est trop lointaine : choisissez un jour avant 2101.")
    )
    expect(page.locator("#end_time-error")).to_have_text(
        _("L'heure de fin doit suivre l'heure de début.")
    )
    expect(page.get_by_label(_("Titre"))).to_have_value("Atelier soudure")
    assert fits_the_width(page)


@pytest.mark.parametrize(("viewport", "lang"), WIDTHS_AND_LANGUAGES[:2])
def test_a_lost_visitor_gets_a_404_page_and_a_way_back(
    base: str, open_page: Any, viewport: dict[str, int], lang: str
) -> None:
    _ = translator(lang)
    page = open_page(viewport, lang)
    response = page.goto(f"{base}/events/99999")
    assert response is not None and response.status == 404
    expect(page.locator("h1")).to_have_text(_("Page introuvable"))
    expect(page.locator("main")).to_contain_text(
        _("Cet événement n'existe pas ou n'est plus publié.")
    )
    with page.expect_navigation():
        page.get_by_role("link", name=_("Retour à l'agenda")).click()
    assert len(card_titles(page)) == 40


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_the_preferences_page_fits_a_phone_and_offers_calendar_buttons(
    base: str, open_page: Any, lang: str
) -> None:
    _ = translator(lang)
    page = open_page(PHONE, lang)
    page.goto(base + PREFERENCES["path"])
    expect(page.get_by_role("link", name=_("Ajouter à Google Agenda"))).to_be_visible()
    webcal = page.get_by_role("link", name=_("S'abonner dans mon agenda"))
    assert (webcal.get_attribute("href") or "").startswith("webcal://127.0.0.1:")
    assert fits_the_width(page)


@pytest.mark.parametrize(("viewport", "lang"), WIDTHS_AND_LANGUAGES[:2])
def test_a_broken_link_leads_to_a_new_one_by_mail(
    base: str, open_page: Any, viewport: dict[str, int], lang: str
) -> None:
    _ = translator(lang)
    page = open_page(viewport, lang)
    response = page.goto(f"{base}/preferences/a-link-cut-in-half")
    assert response is not None and response.status == 400
    expect(page.locator("h1")).to_have_text(_("Lien invalide"))
    outbox = Path(PREFERENCES["outbox"])
    before = {f: f.stat().st_mtime_ns for f in outbox.glob("*.eml")} if outbox.exists() else {}
    page.get_by_label(_("Adresse email")).fill("camille.durand@exemple.fr")
    with page.expect_navigation():
        page.get_by_role("button", name=_("M'envoyer un nouveau lien")).click()
    expect(page.locator("h1")).to_have_text(_("Vérifiez votre boîte mail"))
    (sent,) = [f for f in outbox.glob("*.eml") if before.get(f) != f.stat().st_mtime_ns]
    mail = email.message_from_bytes(sent.read_bytes(), policy=email.policy.default)
    body = mail.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    link = re.search(r"http://127\.0\.0\.1:\d+/preferences/\S+", body)
    assert link, body
    page.goto(link.group(0))  # the reader clicks the link in the mail
    expect(page.get_by_role("link", name=_("Ajouter à Google Agenda"))).to_be_visible()
    assert fits_the_width(page)
