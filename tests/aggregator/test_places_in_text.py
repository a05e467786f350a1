"""Places named only in free text, and town names in titles (news items, Agenda du Libre)."""

from __future__ import annotations

from datetime import datetime

import pytest

from aggregator.dedupe import title_similarity
from aggregator.normalize import normalize
from aggregator.raw import RawEvent, SourceDefaults
from aggregator.regions import load_region
from aggregator.titles import title_key

AMP = load_region("aix-marseille")
PARIS = SourceDefaults(timezone="Europe/Paris")
WHEN = datetime(2026, 11, 30, 18, 30)


@pytest.mark.parametrize(
    ("text", "insee"),
    [
        ("Rendez-vous au Ground Control Aix, 45 avenue de la Grande Thumine, Aix-en-Provence.",
         "13001"),
        ("Job dating au Technopôle de Château-Gombert, 38 rue Frédéric Joliot-Curie.", "13055"),
        ("Entrée libre, 58 cours Belsunce 13001.", "13055"),
        ("Apéro à Aix, en terrasse", "13001"),
        ("Atelier à SAINT-CHAMAS, salle polyvalente", "13092"),
        ("Soirée maker, salle des fêtes de Port-Saint-Louis-du-Rhône", "13078"),
    ],
)
def test_a_town_venue_or_postcode_in_free_text_locates_it(text: str, insee: str) -> None:
    found = AMP.find_in_text(text)
    assert found is not None and found.insee == insee


@pytest.mark.parametrize(
    "text",
    [
        "La French Tech Aix-Marseille recrute",
        "Salon des startups et de l'innovation",
        "Rendez-vous à Aix-les-Bains, salle des fêtes",
        "Conférence à Aix-la-Chapelle",
        "Inscription 15000 places, 2026",
    ],
)
def test_region_names_common_words_and_other_aix_are_no_member_town(text: str) -> None:
    assert AMP.find_in_text(text) is None


def test_a_news_item_with_no_place_field_is_placed_by_its_summary() -> None:
    event = normalize(
        RawEvent(
            title="Apéro Tech : l'IA générative dans les produits, retours de terrain",
            start=WHEN,
            description="<p>Rendez-vous lundi 30 novembre 2026 à 18h30 au Ground Control Aix, "
            "45 avenue de la Grande Thumine, Aix-en-Provence.</p>",
        ),
        defaults=PARIS,
        region=AMP,
    )
    assert (event.insee, event.city, event.in_region) == ("13001", "Aix-en-Provence", True)
    assert event.venue is None  # a town was found, no venue is invented


def test_a_structured_place_is_never_overridden_by_the_text() -> None:
    event = normalize(
        RawEvent(title="Meetup Python", start=WHEN, city="Marseille",
                 description="Comme le mois dernier à Aix-en-Provence."),
        defaults=PARIS,
        region=AMP,
    )
    assert event.insee == "13055"


def test_a_town_outside_the_region_named_in_the_text_keeps_the_event_out() -> None:
    event = normalize(
        RawEvent(title="Meetup Rust", start=WHEN, description="Rendez-vous à Aix-les-Bains."),
        defaults=SourceDefaults(timezone="Europe/Paris", city="Aix-en-Provence"),
        region=AMP,
    )
    assert (event.in_region, event.insee, event.city) == (False, None, "Aix-les-Bains")


def test_an_online_event_is_not_given_a_town_from_its_text() -> None:
    event = normalize(
        RawEvent(title="Webinaire : sécuriser sa CI/CD", start=WHEN,
                 description="En ligne sur Zoom, animé par une équipe de Marseille."),
        defaults=PARIS,
        region=AMP,
    )
    assert event.online and event.insee is None


def test_a_leading_town_and_colon_leave_the_title_key_but_not_the_title() -> None:
    event = normalize(
        RawEvent(title="Marseille : Kubernetes en production, retours d'expérience et GitOps",
                 start=WHEN),
        defaults=PARIS,
        region=AMP,
    )
    assert event.title.startswith("Marseille : ")
    assert event.title_key == "kubernetes production retours experience gitops"
    assert event.insee == "13055"  # the title's town places the event


def test_town_names_and_region_phrases_are_not_identity_words() -> None:
    assert title_key("Apéro Tech Aix – IA générative", AMP) == "apero tech ia generative"
    assert title_key("Afterwork French Tech Aix-Marseille", AMP) == "afterwork french tech"
    assert title_key("Marseille", AMP) == "marseille"  # nothing else left: kept


def test_a_detail_added_on_each_side_lowers_the_score_but_does_not_zero_it() -> None:
    with_detail = title_key("Kubernetes en production : retours d'expérience et GitOps avec Argo CD")
    with_town = title_key("Marseille : Kubernetes en production, retours d'expérience et GitOps")
    assert 70 < title_similarity(with_detail, with_town) < 100


def test_subtitles_that_make_up_a_large_share_of_both_titles_are_two_sessions() -> None:
    a = title_key("Machine Learning : transformers")
    b = title_key("Machine Learning : séries temporelles")
    assert title_similarity(a, b) == 0.0
    assert title_similarity(title_key("Webinaire IA : cas d'usage RH"),
                            title_key("Webinaire IA : cas d'usage industrie")) == 0.0
