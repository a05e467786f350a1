"""The home page's filter form as a browser sends it: empty fields ignored, bad values
explained beside the form, filters as removable chips, pages and weeks to walk."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import unescape

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from aggregator.db import session_scope
from aggregator.models import Event
from web.agenda import parse_agenda_query

EMPTY_FORM = "/?q=&topic=&town=&online=&from=&to="


def titles(html: str) -> list[str]:
    return re.findall(r'<h3><a href="/events/\d+">([^<]+)</a></h3>', html)


def chips(html: str) -> list[tuple[str, str]]:
    return re.findall(r'<a class="chip removable" href="([^"]*)"[^>]*><span>([^<]+)</span>', html)


def test_the_form_sent_with_every_field_empty_lists_the_whole_agenda(
    client: TestClient, events: dict[str, int]
) -> None:
    response = client.get(EMPTY_FORM)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert titles(response.text) == titles(client.get("/").text)
    assert len(titles(response.text)) == 5
    assert 'class="chip removable"' not in response.text


def test_a_bad_date_is_a_message_on_the_page_with_the_form_kept(
    client: TestClient, events: dict[str, int]
) -> None:
    response = client.get("/?q=arduino&from=2026-13-45&to=")
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("text/html")
    assert "Date invalide" in response.text
    assert 'id="from-error"' in response.text
    assert 'value="arduino"' in response.text  # the form keeps what was typed
    assert titles(response.text) == ["Atelier Arduino au LFO"]  # the rest still applies
    assert '"detail"' not in response.text


def test_an_end_before_the_start_is_explained_in_english_too(
    client: TestClient, events: dict[str, int]
) -> None:
    response = client.get("/?from=2026-12-05&to=2026-12-01&lang=en")
    assert response.status_code == 200  # understood: the end is left out, and said so
    assert "The end date must come after the start date." in response.text
    assert "La date de fin" not in response.text


def test_unknown_values_and_absurd_pages_are_friendly_messages(
    client: TestClient, events: dict[str, int]
) -> None:
    for query, message in [
        ("page=abc", "Numéro de page invalide."),
        ("page=" + "9" * 30, "Numéro de page invalide."),
        ("page=0", "Numéro de page invalide."),
        ("topic=cobol", "Thème inconnu"),
        ("town=paris", "Ville inconnue"),
        ("online=maybe", "Format inconnu"),
        ("from=2026-02-30", "Date invalide"),
        ("to=31/12/2026", "Date invalide"),
        ("q=" + "x" * 300, "Recherche trop longue"),
    ]:
        response = client.get(f"/?{query}")
        assert response.status_code == 422, query
        assert response.headers["content-type"].startswith("text/html"), query
        assert message in response.text, query


def test_filters_are_chips_a_person_can_read_and_remove(
    client: TestClient, events: dict[str, int]
) -> None:
    html = client.get(
        "/?q=soir%C3%A9e&topic=ia-data&town=aix-en-provence&online=no&from=2026-11-27&to=2026-12-20"
    ).text
    found = [(unescape(href), unescape(label)) for href, label in chips(html)]
    labels = [label for _, label in found]
    assert labels == ["« soirée »", "IA & data", "Aix-en-Provence", "Sur place",
                      "Du 27 nov. 2026", "Au 20 déc. 2026"]
    assert titles(html) == ["Soirée IA générative &amp; data"]
    remove_town = dict((label, href) for href, label in found)["Aix-en-Provence"]
    assert "town=" not in remove_town and "topic=ia-data" in remove_town
    assert 'value="aix-en-provence" selected' in html


def test_a_town_is_named_by_a_readable_slug_or_its_insee_code(
    client: TestClient, events: dict[str, int]
) -> None:
    by_slug = titles(client.get("/?town=aix-en-provence&online=no").text)
    by_code = titles(client.get("/?town=13001&online=no").text)
    assert by_slug == by_code == ["Soirée IA générative &amp; data",
                                  'Startup Weekend &lt;Aix&gt; &amp; &#34;friends&#34;']


def test_pages_link_back_and_forth_and_weeks_link_to_their_days(
    client: TestClient, sqlite_engine: Engine
) -> None:
    start = datetime(2026, 11, 27, 17, 0, tzinfo=UTC)
    with session_scope(sqlite_engine) as session:
        for n in range(45):
            session.add(Event(title=f"Atelier numéro {n:02d}", start=start + timedelta(hours=n),
                              end=start + timedelta(hours=n, minutes=30), city="Marseille",
                              insee="13055", in_region=True, relevance=3.0, topics=[],
                              timezone="Europe/Paris"))
    first = client.get("/?q=atelier").text
    assert len(titles(first)) == 40
    assert 'rel="next" href="/?q=atelier&amp;page=2"' in first
    assert 'rel="prev"' not in first
    second = client.get("/?q=atelier&page=2").text
    assert len(titles(second)) == 5
    assert 'rel="prev" href="/?q=atelier"' in second
    assert 'rel="next"' not in second
    weeks = re.findall(r'<nav class="weeks".*?</nav>', first, re.S)[0]
    assert 'href="/?from=2026-11-23&amp;to=2026-11-29&amp;q=atelier"' in weeks
    week = client.get("/?q=atelier&from=2026-11-30&to=2026-12-06").text
    assert 'aria-current="true"' in week


def test_parse_agenda_query_ignores_empty_values_and_names_each_bad_one() -> None:
    parsed = parse_agenda_query(
        {"q": [" "], "topic": ["", "ia-data"], "from": [""], "to": ["demain"], "page": ["-1"]},
        known_topics={"ia-data"},
    )
    assert parsed.filt.topics == ("ia-data",)
    assert parsed.filt.text is None and parsed.filt.start is None and parsed.filt.end is None
    assert set(parsed.problems) == {"to", "page"}
    swapped = parse_agenda_query({"from": ["2026-12-05"], "to": ["2026-12-01"]})
    assert swapped.filt.end is None and set(swapped.notes) == {"to"} and not swapped.problems
    assert parsed.page == 1
