"""The single-event form checks its dates and times: every bad value a message beside its
field, in the visitor's language, with the form kept; never a 500."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import post_form
from web.organizers import check_event_form

TODAY = date(2026, 11, 26)  # the web fixtures' clock, in Paris
GOOD = {
    "title": "Atelier soudure",
    "day": "2026-12-09",
    "start_time": "14:00",
    "end_time": "17:00",
    "organizer": "Fablab 13",
    "contact_email": "fab@lab13.example",
}


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"day": "2026-11-25"}, "day", "Cette date est passée"),
        ({"day": "9999-12-31"}, "day", "Cette date est trop lointaine"),
        ({"day": "2026-02-30"}, "day", "Date invalide"),
        ({"day": ""}, "day", "Ce champ est obligatoire."),
        ({"end_time": "13:00"}, "end_time", "L'heure de fin doit suivre"),
        ({"end_time": "14:00"}, "end_time", "L'heure de fin doit suivre"),
        ({"start_time": "", "end_time": "12:00"}, "start_time", "Indiquez l'heure de début"),
        ({"start_time": "25:99"}, "start_time", "Heure invalide"),
        ({"contact_email": "nope"}, "contact_email", "Cette adresse email n'est pas valide."),
        ({"title": "ab"}, "title", "au moins trois caractères"),
    ],
)
def test_check_event_form_names_each_bad_field(
    change: dict[str, str], field: str, message: str
) -> None:
    checked, problems = check_event_form({**GOOD, **change}, TODAY)
    assert checked is None
    assert message in problems[field]


def test_a_good_form_gives_floating_local_times() -> None:
    checked, problems = check_event_form(GOOD, TODAY)
    assert problems == {} and checked is not None
    assert checked.start.isoformat() == "2026-12-09T14:00:00"
    assert checked.end is not None and checked.end.hour == 17
    today, _ = check_event_form({**GOOD, "day": "2026-11-26"}, TODAY)
    assert today is not None  # today is still allowed


def test_the_far_future_is_a_friendly_message_not_a_server_error(client: TestClient) -> None:
    response = post_form(client, "/submit/event", {**GOOD, "day": "9999-12-31"})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("text/html")
    assert "Cette date est trop lointaine" in response.text
    assert 'value="Atelier soudure"' in response.text and 'id="day-error"' in response.text


def test_an_end_before_the_start_is_explained_in_english(client: TestClient) -> None:
    response = post_form(client, "/submit/event?lang=en", {**GOOD, "end_time": "09:00"})
    assert response.status_code == 422
    assert "The end time must come after the start time." in response.text
    assert 'value="fab@lab13.example"' in response.text


def test_a_missing_field_is_the_form_again_not_a_validator_page(client: TestClient) -> None:
    response = post_form(client, "/submit/event", {"title": "Atelier"})
    assert response.status_code == 422
    assert 'action="/submit/event"' in response.text and "Field required" not in response.text
