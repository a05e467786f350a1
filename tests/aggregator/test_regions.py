"""Region packs: the gazetteer, the in-region rule on real names and postcodes, pack switching."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from aggregator.errors import ConfigError
from aggregator.normalize import normalize
from aggregator.raw import RawEvent, SourceDefaults
from aggregator.regions import load_region
from aggregator.topics import load_taxonomy

AMP = load_region("aix-marseille")
MONTREAL_PACK = str(Path(__file__).parents[1] / "data/regions/montreal")


def test_the_pack_has_the_92_communes_and_its_metadata() -> None:
    assert len(AMP.communes) == 92
    assert AMP.display_name == "Aix-Marseille-Provence"
    assert (AMP.timezone, AMP.language) == ("Europe/Paris", "fr")
    assert AMP.starter_sources is not None and AMP.starter_sources.is_file()
    names = [c.name for c in AMP.communes_sorted()]
    assert names[0] == "Aix-en-Provence" and names.index("Éguilles") < names.index("Eyguières")


@pytest.mark.parametrize(
    ("text", "insee"),
    [
        ("Aix", "13001"),
        ("Aix-en-Pce", "13001"),
        ("AIX EN PROVENCE", "13001"),
        ("13100", "13001"),
        ("Marseille 13006", "13055"),
        ("13006 MARSEILLE", "13055"),
        ("12 rue de la République, 13002 Marseille, France", "13055"),
        ("ST CHAMAS", "13092"),
        ("Le Puy-Ste-Réparade", "13080"),
        ("berre l'etang", "13014"),
        ("Cuges-les-Pins", "13030"),
        ("Saint-Zacharie", "83120"),
        ("Pertuis", "84089"),
        ("13400", "13005"),
    ],
)
def test_towns_and_postcodes_match_their_commune(text: str, insee: str) -> None:
    commune = AMP.match_town(text)
    assert commune is not None and commune.insee == insee


@pytest.mark.parametrize(
    "text",
    ["Arles", "13200", "Arles 13200", "Tarascon", "Tarascon 13150", "Saint-Rémy-de-Provence",
     "Beaumont-de-Pertuis", "Riboux", "Aix-les-Bains", "Lyon", "", "Salle des fêtes"],
)
def test_places_outside_the_metropole_do_not_match(text: str) -> None:
    assert AMP.match_town(text) is None


@pytest.mark.parametrize("postcode", ["13780", "83640", "84120"])
def test_a_postcode_shared_with_non_member_communes_is_not_proof_alone(postcode: str) -> None:
    assert not AMP.in_region(postcode=postcode)


def test_a_shared_postcode_with_a_member_name_is_in_the_region() -> None:
    assert AMP.in_region(city="Cuges-les-Pins", postcode="13780")
    assert AMP.in_region(city="Pertuis", postcode="84120")
    assert not AMP.in_region(city="Mirabeau", postcode="84120")


def test_a_13_postcode_of_a_non_member_commune_is_out() -> None:
    assert not AMP.in_region(city="Arles", postcode="13200")
    assert not AMP.in_region(postcode="13150")


def test_coordinates_count_within_a_margin_of_the_nearest_centroid() -> None:
    assert AMP.in_region(lat=43.296, lon=5.370)  # Vieux-Port, 4 km from Marseille's centroid
    assert AMP.in_region(lat=43.530, lon=5.447)  # Aix town hall
    assert not AMP.in_region(lat=43.6768, lon=4.6303)  # Arles
    assert not AMP.in_region(lat=43.1242, lon=5.9280)  # Toulon


def test_local_venue_aliases_locate_an_event() -> None:
    assert AMP.locate(venue="La Coque Numérique").insee == "13055"  # type: ignore[union-attr]
    assert AMP.locate(venue="thecamp").insee == "13001"  # type: ignore[union-attr]
    assert AMP.locate(venue="Pôle Média Belle de Mai").insee == "13055"  # type: ignore[union-attr]


def test_an_unknown_region_is_a_config_error() -> None:
    with pytest.raises(ConfigError):
        load_region("atlantis")
    with pytest.raises(ConfigError):
        load_region("../etc")


def test_a_second_pack_changes_gazetteer_postcodes_and_timezone_without_code_changes() -> None:
    mtl = load_region(MONTREAL_PACK)
    assert (mtl.name, mtl.timezone) == ("montreal", "America/Toronto")
    assert mtl.match_town("Montreal, QC H2X 1Y4").name == "Montréal"  # type: ignore[union-attr]
    assert mtl.match_town("H3Z 2Y7").name == "Westmount"  # type: ignore[union-attr]
    assert mtl.match_town("MTL").name == "Montréal"  # type: ignore[union-attr]
    assert mtl.match_town("Marseille") is None
    assert AMP.match_town("Laval") is None
    event = normalize(
        RawEvent(title="Meetup Python", start=datetime(2026, 12, 3, 19, 0), city="Laval"),
        defaults=SourceDefaults(timezone=mtl.timezone),
        region=mtl,
    )
    assert event.in_region and event.insee == "65005"
    assert event.start == datetime.fromisoformat("2026-12-04T00:00:00+00:00")
    assert event.timezone == "America/Toronto"


def test_region_taxonomy_additions_add_keywords() -> None:
    assert "French Tech Aix-Marseille" in load_taxonomy(AMP).topic("startups-business").keywords  # type: ignore[union-attr]


def test_a_communes_parts_are_read_as_the_commune_from_the_pack() -> None:
    region = load_region("aix-marseille")
    assert region.whole_commune("13207") == "13055" and region.whole_commune("13216") == "13055"
    assert region.whole_commune("13001") == "13001" and region.whole_commune(None) is None
    assert region.whole_commune("13217") == "13217"  # Marseille has sixteen
    marseille = region.commune("13204")
    assert marseille is not None and marseille.name == "Marseille"
    assert load_region(str(Path(__file__).parent.parent / "data/regions/montreal")).commune_parts == {}
