"""English developer messages never reach a French page: library texts (exceptions, fetch
errors, the send gate's checks) are said in the page's language."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from aggregator.models import CrawlRun
from tests.web.conftest import NOW, csrf_token
from web.i18n import PHRASES, translate_phrases
from web.translations_en import EN


def test_every_phrase_key_is_in_the_english_catalogue_with_the_same_fields() -> None:
    for _pattern, key in PHRASES:
        assert key in EN, key
        fields = sorted(part.split("}")[0] for part in key.split("{")[1:])
        assert sorted(part.split("}")[0] for part in EN[key].split("{")[1:]) == fields, key


def test_fetch_errors_and_gate_summaries_are_said_in_french() -> None:
    assert translate_phrases("https://x.example/feed did not answer in time", "fr") == (
        "https://x.example/feed n'a pas répondu à temps"
    )
    assert translate_phrases("Le site ne répond pas : https://x.example answered HTTP 503.",
                             "fr") == "Le site ne répond pas : https://x.example a répondu HTTP 503."
    assert translate_phrases("3 event(s) start between 00:00 and 06:00", "fr") == (
        "3 événement(s) entre 00:00 et 06:00"
    )
    assert translate_phrases("12 events in the issue", "en") == "12 events in the issue"
    assert translate_phrases("4 failed crawls in a row", "fr") == "4 passages en échec d'affilée"


def test_token_and_email_errors_are_french_on_a_french_page(client: TestClient) -> None:
    response = client.get("/preferences/abc")
    assert "this link" not in response.text
    assert "Ce lien n&#39;est pas ou plus valide." in response.text


def test_an_unknown_event_names_no_id_in_english(client: TestClient) -> None:
    html = client.get("/events/99999").text
    assert "no event" not in html and "99999" not in html.split("<main")[1]


def test_the_send_gate_names_its_checks_in_the_admins_language(admin_client: TestClient) -> None:
    french = admin_client.get("/admin/digest/gate?week=2026-W49").text
    assert "Taille du numéro" in french and "Sources en échec" in french
    assert ">broken_sources<" not in french and ">odd_hours<" not in french
    assert "every source answered" not in french
    english = admin_client.get("/admin/digest/gate?week=2026-W49&lang=en").text
    assert "Issue size" in english and "Every source answered" in english


def test_a_crawl_runs_counters_and_error_are_in_the_admins_language(
    admin_client: TestClient, sqlite_engine: Engine
) -> None:
    with Session(sqlite_engine) as session:
        run = CrawlRun(status="failed", requested_by="admin", created_at=NOW,
                       stats={"sources": 2, "not_modified": 1, "failed": 1, "found": 7},
                       error="https://agenda.example/feed did not answer in time")
        session.add(run)
        session.commit()
        run_id = run.id
    french = admin_client.get(f"/admin/runs/{run_id}").text
    assert "Inchangées" in french and "Événements trouvés" in french
    assert "not_modified" not in french and "did not answer" not in french
    assert "n&#39;a pas répondu à temps" in french
    english = admin_client.get(f"/admin/runs/{run_id}?lang=en").text
    assert "Unchanged" in english and "did not answer in time" in english


def test_a_bad_address_on_the_subscribe_form_is_explained_in_french(client: TestClient) -> None:
    form = {"email": "not-an-address", "csrf_token": csrf_token(client)}
    html = client.post("/subscribe", data=form).text
    assert "Cette adresse email n&#39;est pas valide." in html
    assert "is not a valid email address" not in html
