"""Source scope (tech/mixed), scope proposals and an admin's relevance answers, through ingest
on SQLite and PostgreSQL: a whitelist and a lowered threshold survive every later crawl."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from aggregator.errors import InvalidInputError
from aggregator.ingest import ingest_events
from aggregator.models import Event, Source
from aggregator.queries import agenda_events, all_events_with_reasons
from aggregator.raw import RawEvent
from aggregator.regions import load_region
from aggregator.relevance import default_scope, propose_scope
from aggregator.relevance_actions import lower_threshold_for, mark_tech
from aggregator.settings import Settings
from aggregator.sources import add_source, import_sources_csv
from aggregator.topics import load_taxonomy

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
REGION = load_region("aix-marseille")
TAX = load_taxonomy(REGION)


@pytest.fixture
def session(engine: Engine):
    with Session(engine, expire_on_commit=False) as s:
        yield s


def event(title: str, day: int, description: str | None = None, uid: str | None = None) -> RawEvent:
    return RawEvent(
        title=title,
        start=datetime(2026, 12, day, 18, 30),
        uid=uid or f"{title}@feed",
        city="Marseille",
        description=description,
    )


def source(session: Session, name: str, *, kind: str | None, scope: str | None) -> Source:
    src = add_source(session, f"https://{name}.example/feed", name=name, kind=kind, scope=scope,
                     now=NOW)
    session.commit()
    return src


def published(session: Session) -> set[str]:
    rows = agenda_events(session, region=REGION, start=NOW, end=NOW + timedelta(days=60))
    return {e.title for e in rows}


def test_a_tech_feed_keeps_its_apero_and_drops_only_what_is_clearly_off_topic(
    session: Session, settings: Settings
) -> None:
    group = source(session, "jug", kind="meetup group", scope="tech")
    batch = [
        event("Apéro de fin d'année", 10, "On se retrouve au bar pour fêter la saison."),
        event("Retour sur la saison", 11),
        event("Concert de jazz", 12, "Trio jazz en plein air."),
        event("Cours de yoga", 13),
        event("Concert de soutien au hackathon", 14, "Les fonds financent le hackathon."),
    ]
    ingest_events(session, group, batch, now=NOW, complete=True, settings=settings)
    session.commit()
    assert published(session) == {
        "Apéro de fin d'année", "Retour sur la saison", "Concert de soutien au hackathon",
    }


def test_a_mixed_agenda_publishes_only_what_earns_it_and_says_why_the_rest_is_out(
    session: Session, settings: Settings
) -> None:
    city = source(session, "ville", kind="aggregator", scope=None)
    assert city.scope == "mixed"
    batch = [
        event("Atelier Scratch Junior", 10, "Les 5-7 ans programment sur tablette."),
        event("Concert électro", 11, "Trois DJ sur la place."),
        event("Café numérique", 12, "Posez vos questions sur vos appareils."),
    ]
    ingest_events(session, city, batch, now=NOW, complete=True, settings=settings)
    session.commit()
    assert published(session) == {"Atelier Scratch Junior", "Café numérique"}
    reasons = {e.title: r for e, r in all_events_with_reasons(session, region=REGION, now=NOW)}
    assert reasons["Atelier Scratch Junior"] is None
    why = reasons["Concert électro"] or ""
    assert "not tech enough (mixed source)" in why and "threshold 1.00" in why
    assert "concert" in why and "DJ" in why


def test_this_is_tech_survives_a_recrawl_that_changes_the_event(
    session: Session, settings: Settings
) -> None:
    venue = source(session, "salle", kind="venue", scope=None)
    batch = [event("Soirée jeux de société", 10, "Venez jouer entre amis.")]
    ingest_events(session, venue, batch, now=NOW, complete=True, settings=settings)
    session.commit()
    target = session.exec(select(Event)).one()
    assert target.title not in published(session)
    mark_tech(session, target.id or 0)
    session.commit()
    assert published(session) == {"Soirée jeux de société"}
    moved = [event("Soirée jeux de société", 10, "Nouvelle description, même soirée.")]
    for hours in (6, 12):  # two later crawls, the first one changes the description
        stats = ingest_events(session, venue, moved, now=NOW + timedelta(hours=hours),
                              complete=True, settings=settings)
        session.commit()
    assert stats.new == 0
    session.refresh(target)
    assert target.marked_tech and target.description_text == "Nouvelle description, même soirée."
    assert published(session) == {"Soirée jeux de société"}
    reasons = dict((e.title, r) for e, r in all_events_with_reasons(session, region=REGION,
                                                                      now=NOW))
    assert reasons["Soirée jeux de société"] is None


def test_lowering_a_source_threshold_rescores_it_and_holds_across_crawls(
    session: Session, settings: Settings
) -> None:
    library = source(session, "mediatheque", kind="library", scope=None)
    batch = [
        event("Les tablettes en famille", 10, "Pour les débutants."),
        event("Exposition de peinture", 11),
    ]
    ingest_events(session, library, batch, now=NOW, complete=True, settings=settings)
    session.commit()
    assert published(session) == set()
    workshop = session.exec(select(Event).where(Event.title == "Les tablettes en famille")).one()
    changed = lower_threshold_for(session, workshop.id or 0, settings)
    session.commit()
    assert changed.relevance_threshold is not None and 0 < changed.relevance_threshold < 1
    assert published(session) == {"Les tablettes en famille"}
    ingest_events(session, library, batch, now=NOW + timedelta(hours=6), complete=True,
                  settings=settings)
    session.commit()
    assert published(session) == {"Les tablettes en famille"}


def test_scope_defaults_from_kind_csv_column_and_refuses_unknown_values(
    session: Session, tmp_path: Path
) -> None:
    assert default_scope("aggregator") == default_scope("Library") == "mixed"
    assert default_scope("meetup group") == default_scope(None) == "tech"
    csv_file = tmp_path / "sources.csv"
    csv_file.write_text(
        "name,kind,feed_url,scope\n"
        "Ville,city,https://ville.example/agenda.ics,\n"
        "Club,association,https://club.example/agenda.ics,\n"
        "Tiers-lieu,venue,https://lieu.example/agenda.ics,tech\n"
        "Bad,venue,https://bad.example/agenda.ics,sometimes\n",
        encoding="utf-8",
    )
    report = import_sources_csv(session, csv_file, now=NOW)
    scopes = {s.name: s.scope for s in report.sources}
    assert scopes == {"Ville": "mixed", "Club": "tech", "Tiers-lieu": "tech"}
    assert report.invalid and "sometimes" in report.invalid[0][1]
    with pytest.raises(InvalidInputError):
        add_source(session, "https://x.example/feed", scope="both", now=NOW)


def test_sources_check_proposes_tech_for_a_tech_feed_and_mixed_for_a_city_agenda() -> None:
    tech_feed = [
        ("Meetup Kubernetes", None, ()),
        ("Atelier Arduino", "Électronique pour débutants.", ()),
        ("Apéro de rentrée", None, ()),
    ]
    city_feed = [
        ("Concert de jazz", None, ()),
        ("Marché de Noël", None, ()),
        ("Initiation à Python", "Atelier de programmation.", ()),
        ("Exposition photo", None, ()),
    ]
    assert propose_scope(tech_feed, TAX).scope == "tech"
    proposal = propose_scope(city_feed, TAX)
    assert proposal.scope == "mixed" and proposal.tech_share == 0.25
    assert "25%" in str(proposal)
    assert propose_scope([], TAX).scope == "tech"


def test_a_single_off_topic_word_in_a_tech_groups_description_does_not_drop_its_party() -> None:
    from aggregator.relevance import scope_relevance

    def tech(title: str, description: str | None = None) -> float:
        from aggregator.topics import explain

        content = explain(title, description, (), TAX).score
        return scope_relevance(content, scope="tech", prior=0.0, threshold=1.0, taxonomy=TAX)

    assert tech("Soirée de fin d'année", "Buffet et DJ au bar.") >= 1.0
    assert tech("Apéro de rentrée") >= 1.0
    assert tech("Apéro de fin d'année au bar") >= 1.0  # two weak words are no strong one
    assert tech("Concert de jazz") == 0.0
    assert tech("Cours de yoga") == 0.0
    assert tech("Marché de Noël", "Producteurs locaux.") == 0.0


def test_the_region_pack_adds_its_own_cues() -> None:
    from aggregator.topics import explain

    assert explain("Soirée à La Coque Numérique", None, (), TAX).score >= 1.0
    assert explain("Foire aux santons", None, (), TAX).score <= -1.0
    plain = load_taxonomy(None)
    assert explain("Foire aux santons", None, (), plain).score > -1.0
