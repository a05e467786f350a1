"""Topics and relevance: a city agenda contributes only its tech events."""

from __future__ import annotations

import pytest

from aggregator.regions import load_region
from aggregator.topics import classify, load_taxonomy, source_prior

TAX = load_taxonomy(load_region("aix-marseille"))


@pytest.mark.parametrize(
    ("title", "topic"),
    [
        ("Meetup IA générative et LLM", "ia-data"),
        ("Machine learning in production", "ia-data"),
        ("Symfony 7 en production", "web-mobile"),
        ("Pitch night des startups", "startups-business"),
        ("Atelier Arduino et impression 3D", "fablab-hardware"),
        ("CTF d'hiver : initiation au pentest", "cybersecurite"),
        ("Kubernetes et GitOps", "cloud-devops"),
        ("Atelier UX : tests utilisateurs sur Figma", "design-ux"),
        ("Global Game Jam Marseille", "jeu-video"),
        ("Soutenance de thèse en informatique", "recherche-formation"),
        ("Job dating développeurs", "emploi-recrutement"),
    ],
)
def test_each_topic_is_found_from_french_and_english_keywords(title: str, topic: str) -> None:
    topics, _ = classify(title, None, (), TAX)
    assert topic in topics


def test_short_acronyms_are_case_sensitive_so_french_words_do_not_trigger_them() -> None:
    topics, score = classify("J'ai vu une expo", "Ai-je raison ? Via la rue.", (), TAX)
    assert topics == () and score == 0.0


def test_city_agenda_events_without_tech_words_score_zero() -> None:
    for title in ("Concert de jazz", "Exposition de peinture", "Lecture contée pour enfants"):
        assert classify(title, "Entrée libre.", (), TAX)[1] < 1.0


def test_a_tech_event_on_a_city_agenda_reaches_the_bar() -> None:
    _, score = classify("Initiation à Python", "Atelier de programmation pour ados.", (), TAX)
    assert score >= 1.0


def test_a_generic_training_word_alone_is_not_enough() -> None:
    _, score = classify("Séminaire", None, (), TAX)
    assert score < 1.0


def test_tech_sources_get_a_prior_and_city_agendas_none() -> None:
    assert source_prior("meetup group", TAX) == 1.0
    assert source_prior("aggregator", TAX) == 0.0
    assert source_prior(None, TAX) == 0.0


def test_topic_labels_exist_in_french_and_english() -> None:
    assert TAX.labels("fr")["ia-data"] == "IA & data"
    assert TAX.labels("en")["jeu-video"] == "Video games"
    assert len(TAX.topics) == 10
