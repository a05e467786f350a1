"""Event dates read from prose: French and English, spans, doors times, year inference."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from crawlers.parsers.textdates import find_times, find_when

PUBLISHED = date(2027, 2, 20)  # the feed item's publication day (the year's reference)


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("le jeudi 12 mars à 18h30", datetime(2027, 3, 12, 18, 30), None),
        ("du 3 au 5 juin", date(2027, 6, 3), date(2027, 6, 5)),
        ("Du lundi 3 au mercredi 5 mai 2027", date(2027, 5, 3), date(2027, 5, 5)),
        ("du 30 mai au 2 juin", date(2027, 5, 30), date(2027, 6, 2)),
        ("les 3 et 4 juin", date(2027, 6, 3), date(2027, 6, 4)),
        ("du 28 décembre 2026 au 3 janvier 2027", date(2026, 12, 28), date(2027, 1, 3)),
        (
            "mardi 3 février 2027 de 18h à 20h",
            datetime(2027, 2, 3, 18),
            datetime(2027, 2, 3, 20),
        ),
        ("March 12, 6:30pm", datetime(2027, 3, 12, 18, 30), None),
        ("June 3-5, 2027", date(2027, 6, 3), date(2027, 6, 5)),
        ("12/03 à 19h", datetime(2027, 3, 12, 19), None),
        (
            "Rendez-vous le 12/03, 18h30-21h",
            datetime(2027, 3, 12, 18, 30),
            datetime(2027, 3, 12, 21),
        ),
        (
            "12 mars 2027 | 18h30 - 21h00",
            datetime(2027, 3, 12, 18, 30),
            datetime(2027, 3, 12, 21),
        ),
        (
            "Le 12 mars, ouverture des portes 18h, début 18h30",
            datetime(2027, 3, 12, 18, 30),
            None,
        ),
        (
            "Jeudi 12 mars. Accueil à partir de 18h30, début des talks à 19h, fin vers 22h.",
            datetime(2027, 3, 12, 19),
            datetime(2027, 3, 12, 22),
        ),
        (
            "Thursday, March 12 — doors open at 6pm, talks start at 6:30pm",
            datetime(2027, 3, 12, 18, 30),
            None,
        ),
        (
            "Publié le 3 février 2027. Meetup le 12 mars à 19h",
            datetime(2027, 3, 12, 19),
            None,
        ),
    ],
)
def test_event_dates_are_read_from_prose(
    text: str, start: datetime | date, end: datetime | date | None
) -> None:
    found = find_when(text, reference=PUBLISHED, day_first="March" not in text)
    assert found is not None
    assert (found.start, found.end) == (start, end)


def test_the_year_comes_from_the_reference_not_from_today() -> None:
    autumn = find_when("le jeudi 12 novembre à 18h30", reference=date(2026, 10, 20))
    later = find_when("le jeudi 12 novembre à 18h30", reference=date(2029, 10, 20))
    assert autumn is not None and autumn.start == datetime(2026, 11, 12, 18, 30)
    assert later is not None and later.start == datetime(2029, 11, 12, 18, 30)


def test_a_year_less_date_without_any_reference_is_not_guessed() -> None:
    assert find_when("le jeudi 12 mars à 18h30", reference=None) is None


@pytest.mark.parametrize(
    "text",
    [
        "Merci aux 25 participants, 2 hackers ont gagné.",
        "Une 1/2 journée de formation",
        "Support 24/7",
        "Talk 1: intro",
    ],
)
def test_numbers_that_are_not_dates_give_nothing(text: str) -> None:
    assert find_when(text, reference=PUBLISHED) is None


def test_times_are_found_anywhere_in_a_short_text() -> None:
    assert [t and t.isoformat() for t in find_times("26 nov. @ 18h30 - 20h30")] == [
        "18:30:00",
        "20:30:00",
    ]
    assert find_times("10 déc.") == (None, None)
