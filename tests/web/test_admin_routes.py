"""The admin dashboard says how each source is read and raises a suspect source."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from aggregator.db import session_scope
from aggregator.models import Source
from tests.web.conftest import NOW


def test_dashboard_shows_adapter_unreadable_reason_and_suspect_alert(
    admin_client: TestClient, sqlite_engine: Engine
) -> None:
    with session_scope(sqlite_engine) as session:
        session.add(Source(name="Friche", url="https://friche.example/agenda/", state="approved",
                           adapter="css", route={"name": "Friche", "adapter": "css"},
                           suspect=True, suspect_since=NOW,
                           suspect_reason="the last crawl found none of the 3 upcoming events"))
        session.add(Source(name="thecamp", url="https://thecamp.example/", state="pending",
                           route={"name": "thecamp", "adapter": None,
                                  "unreadable": "no feed or agenda seen"}))  # fmt: skip
    html = admin_client.get("/admin").text
    assert "Lue par : css" in html
    assert "Illisible : no feed or agenda seen" in html
    assert 'class="error-text suspect" role="alert"' in html and "Suspecte" in html


def test_the_suspect_alert_is_in_english_for_an_english_admin(
    admin_client: TestClient, sqlite_engine: Engine
) -> None:
    with session_scope(sqlite_engine) as session:
        session.add(Source(name="Friche", url="https://friche.example/agenda/", state="approved",
                           adapter="css", suspect=True, suspect_since=NOW))  # fmt: skip
    html = admin_client.get("/admin?lang=en").text
    assert "Read by : css" in html
    assert "Suspect: the last crawl lost most of the upcoming events" in html
