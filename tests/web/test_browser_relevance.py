"""In a real browser, at phone and desktop widths: the admin shows what the relevance filter
kept out of a city agenda, reads why, and answers "C'est tech" for one event."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from aggregator.admins import create_admin
from aggregator.db import session_scope
from aggregator.ingest import ingest_events
from aggregator.raw import RawEvent
from aggregator.settings import Settings
from aggregator.sources import add_source
from tests.web.test_browser import ARTIFACTS, DESKTOP, PHONE, browser, live  # noqa: F401

pytestmark = pytest.mark.browser
PASSWORD = "correct horse battery staple"


def _city_agenda(engine: Engine, settings: Settings, now: datetime) -> None:
    local = (now + timedelta(days=3)).replace(hour=17, minute=0, second=0, microsecond=0)
    start = local.replace(tzinfo=None)
    batch = [
        RawEvent(title="Concert de jazz manouche", start=start, uid="c1@ville", city="Marseille",
                 description="Un trio en plein air."),
        RawEvent(title="Initiation à Python", start=start + timedelta(days=1), uid="c2@ville",
                 city="Marseille", description="Atelier de programmation pour ados."),
        RawEvent(title="Soirée jeux de société", start=start + timedelta(days=2), uid="c3@ville",
                 city="Marseille", description="Venez jouer entre amis."),
    ]
    with session_scope(engine) as session:
        create_admin(session, "camille", PASSWORD, email="camille@techagenda.example", now=now)
        city = add_source(session, "https://ville.example/agenda.ics", name="Ville", kind="city",
                          now=now)
        ingest_events(session, city, batch, now=now, complete=True, settings=settings)


@pytest.mark.parametrize(("label", "viewport"), [("phone", PHONE), ("desktop", DESKTOP)])
def test_admin_shows_the_filtered_out_events_and_marks_one_as_tech(
    label: str,
    viewport: dict[str, int],
    live: tuple[str, Settings],  # noqa: F811
    browser: Any,  # noqa: F811
    sqlite_engine: Engine,
) -> None:
    base, settings = live
    _city_agenda(sqlite_engine, settings, datetime.now(UTC))
    context = browser.new_context(viewport=viewport, locale="fr-FR")
    page = context.new_page()
    page.goto(f"{base}/admin")
    page.get_by_label("Identifiant").fill("camille")
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.get_by_role("heading", name="Sources").wait_for()
    page.goto(f"{base}/")
    assert "Initiation à Python" in page.content()
    assert "Soirée jeux de société" not in page.content()
    page.goto(f"{base}/admin/events")
    page.get_by_label("Écartés par le filtre seulement").check()
    page.get_by_role("button", name="Filtrer").click()
    games = page.locator("tr", has_text="Soirée jeux de société")
    games.wait_for()
    assert "hors sujet (source mixte)" in games.inner_text()
    assert page.locator("tr", has_text="Initiation à Python").count() == 0
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"admin-filtered-{label}.png"), full_page=True)
    games.get_by_role("button", name="C'est tech").click()
    page.locator("tr", has_text="Concert de jazz manouche").wait_for()
    assert page.locator("tr", has_text="Soirée jeux de société").count() == 0
    page.goto(f"{base}/")
    page.get_by_role("link", name="Soirée jeux de société").first.wait_for()
    assert "Concert de jazz manouche" not in page.content()
    context.close()
