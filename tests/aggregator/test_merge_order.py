"""Merging does not depend on the order sources are crawled in (hypothesis, real SQLite).

A few real-world events are listed by several sources, each writing the title its own way
(the times are the same). Whatever subset of the listings exists and whatever order the
sources are ingested in, the store ends with the same published events: as many, each with
the same title and start and made of the same listings. A newsletter's terse title matches
the organizer's listing but not the agenda's: crawled between the agenda and the organizer,
it makes a second event that the organizer's listing shows to be the same (a fusion).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlmodel import Session, select

from aggregator.db import make_engine, upgrade
from aggregator.ingest import ingest_events
from aggregator.models import Event, EventLink, Source
from aggregator.raw import RawEvent
from aggregator.settings import Settings, load_settings
from tests.support.clock import Clock

CLOCK = Clock(datetime(2026, 11, 26, 9, 0, tzinfo=UTC))  # a Thursday, before the events


@dataclass(frozen=True)
class Outlet:
    """One source: its row and how it writes a listing."""

    name: str
    kind: str
    authority: int
    host: str


OUTLETS = (
    Outlet("Tech Provence (Meetup)", "meetup group", 80, "meetup.example"),
    Outlet("Agenda du Libre", "aggregator", 30, "adl.example"),
    Outlet("Ville de Marseille", "city", 50, "ville.example"),
    Outlet("Lettre tech du Sud", "newsletter", 20, "lettre.example"),
)
NEWSLETTER = 3

# Each real-world event: its local start, its place, and each outlet's title for it.
EVENTS = (
    (datetime(2026, 12, 1, 19, 0), "La Coque, 2 rue Henri Barbusse, 13001 Marseille", (
        "Kubernetes en production : retours d'expérience et GitOps avec Argo CD",
        "Marseille : Kubernetes en production, retours d'expérience et GitOps",
        "Kubernetes en production – retours d'expérience et GitOps (Argo CD)",
    )),
    (datetime(2026, 12, 3, 18, 30), "Le Patio Numérique, 13100 Aix-en-Provence", (
        "Calanques Python – meetup de décembre : typage progressif avec mypy",
        "Aix-en-Provence : meetup Calanques Python, typage progressif avec mypy",
        "Meetup Calanques Python (décembre) - typage progressif avec mypy",
    )),
    (datetime(2026, 12, 3, 19, 0), "Pôle Média Belle de Mai, 37 rue Guibal, 13003 Marseille", (
        "Java 25 : les nouveautés qui changent la vie",
        "Marseille : Java 25, les nouveautés qui changent la vie",
        "Java 25 – les nouveautés qui changent la vie",
    )),
    (datetime(2026, 12, 8, 9, 0), "Hôtel de Région, 27 place Jules Guesde, 13002 Marseille", (
        "Journée régionale de la cybersécurité 2026",
        "Marseille : journée régionale de la cybersécurité",
        "Journée régionale cybersécurité – édition 2026",
    )),
)


# The newsletter's few words for some of the events, with a town and no address.
TERSE = {0: "GitOps avec Argo CD", 2: "Les nouveautés de Java 25"}


def listing(outlet: int, event: int) -> RawEvent:
    """How outlet ``outlet`` lists event ``event`` (its own id, URL and title)."""
    start, address, titles = EVENTS[event]
    host = OUTLETS[outlet].host
    if outlet == NEWSLETTER:
        return RawEvent(title=TERSE[event], start=start, city="Marseille",
                        uid=f"{host}-{event}", url=f"https://{host}/numero-48#{event}")
    return RawEvent(title=titles[outlet], start=start, address=address,
                    uid=f"{host}-{event}", url=f"https://{host}/evenements/{event}",
                    description=f"{titles[outlet]}. Entrée libre.")


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated, empty SQLite file that every example copies (migrating once)."""
    path = tmp_path_factory.mktemp("merge-order") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="module")
def stores(template: Path) -> Iterator[Iterator[Path]]:
    """Fresh copies of the template, one per store an example builds."""
    folder = template.parent

    def copies() -> Iterator[Path]:
        n = 0
        while True:
            n += 1
            target = folder / f"store-{n}.db"
            shutil.copyfile(template, target)
            yield target
            target.unlink(missing_ok=True)
            for extra in ("-wal", "-shm"):
                Path(f"{target}{extra}").unlink(missing_ok=True)

    yield copies()


def published(path: Path, listed: dict[int, list[int]], order: list[int]) -> list[tuple]:
    """Ingest each outlet's listings in ``order`` into the store at ``path``; the published
    events as (title, start, sorted listings)."""
    engine = make_engine(f"sqlite:///{path}")
    config: Settings = load_settings(data_dir=path.parent / "var",
                                     database_url=f"sqlite:///{path}")
    with Session(engine, expire_on_commit=False) as session:
        sources = {}
        for n, outlet in enumerate(OUTLETS):  # the rows in one fixed order: ids are stable
            sources[n] = Source(name=outlet.name, kind=outlet.kind, authority=outlet.authority,
                                url=f"https://{outlet.host}/feed", state="approved")
            session.add(sources[n])
        session.commit()
        for n in order:
            raws = [listing(n, e) for e in listed[n]]
            ingest_events(session, sources[n], raws, now=CLOCK(), complete=True, settings=config)
            session.commit()
        members: dict[int, list[str]] = {}
        for link in session.exec(select(EventLink)):
            members.setdefault(link.event_id, []).append(link.external_id)
        rows = [(e.title, e.start, tuple(sorted(members.get(e.id or 0, []))))
                for e in session.exec(select(Event).where(Event.hidden == False))]  # noqa: E712
    engine.dispose()
    return sorted(rows)


listings = st.fixed_dictionaries({
    n: st.lists(st.sampled_from(sorted(TERSE) if n == NEWSLETTER else range(len(EVENTS))),
                unique=True)
    for n in range(len(OUTLETS))
})


@given(listed=listings, order=st.permutations(range(len(OUTLETS))))
@example(listed={0: [0], 1: [0, 2], 2: [2], 3: [0, 2]}, order=[1, 3, 0, 2])  # the bridge
@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
def test_the_published_events_do_not_depend_on_the_order_sources_are_ingested(
    stores: Iterator[Path], listed: dict[int, list[int]], order: list[int]
) -> None:
    reference = published(next(stores), listed, sorted(order))
    shuffled = published(next(stores), listed, list(order))
    assert shuffled == reference
    # the listings whose titles all match (every outlet but the newsletter) are one event
    for event in range(len(EVENTS)):
        wanted = {f"{OUTLETS[n].host}-{event}" for n in range(NEWSLETTER) if event in listed[n]}
        holding = [links for *_, links in reference if wanted & set(links)]
        assert len(holding) == (1 if wanted else 0) and wanted <= set(holding[0] if holding else ())
