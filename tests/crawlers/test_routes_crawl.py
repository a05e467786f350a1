"""Routes end to end: a real crawl (child Scrapy process, loopback HTTP) reads sources the
way the pack says — css cards, a follow step, paging — and when a site is redesigned so
that its selectors no longer match, the source keeps its events, is flagged suspect and
its organizer is mailed once (loopback SMTP)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from aggregator.models import Event, EventLink, RunStatus, Source, SourceState
from aggregator.settings import Settings
from crawlers.adapters.routes import Paging, load_routes
from crawlers.run import run_crawl
from newsletter.health import send_health_mails
from newsletter.mailers import make_mailer
from tests.support.httpserver import LoopbackHTTPServer
from tests.support.smtpserver import LoopbackSMTPServer

PACK = Path(__file__).parents[2] / "aggregator" / "regions" / "aix-marseille" / "routes.toml"
SITES = Path(__file__).parents[1] / "data" / "sites"
ROUTES = {r.name: r for r in load_routes(PACK)}
NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
REDESIGNED = """<!DOCTYPE html><html lang="fr"><body><main class="agenda-v2">
<article class="card"><h2>Zinc : rencontre creative coding</h2><time>8 déc.</time></article>
<article class="card"><h2>LFO : fabriquer ses circuits imprimés</h2><time>13 déc.</time></article>
</main></body></html>"""


def add_routed(session: Session, name: str, url: str, **extra: object) -> Source:
    """An approved source read by the pack's route of ``name``, moved to ``url``."""
    route = replace(ROUTES[name], url=url)
    source = Source(name=name, url=url, state=SourceState.approved, adapter=route.adapter,
                    route=route.to_json(), **extra)  # type: ignore[arg-type]  # fmt: skip
    session.add(source)
    session.commit()
    return source


def titles(engine: Engine, source_id: int) -> dict[str, str]:
    with Session(engine) as session:
        rows = session.exec(
            select(Event.title, Event.status)
            .join(EventLink, EventLink.event_id == Event.id)  # type: ignore[arg-type]
            .where(EventLink.source_id == source_id)
        ).all()
    return dict(rows)


def test_pack_routes_crawl_and_a_redesign_keeps_events_flags_and_mails_once(
    settings: Settings,
    sqlite_engine: Engine,
    http_server: LoopbackHTTPServer,
    smtp_server: LoopbackSMTPServer,
) -> None:
    server = http_server
    server.add("/robots.txt", "User-agent: *\nAllow: /\n", content_type="text/plain")
    server.add("/agenda/", (SITES / "css-friche.html").read_bytes(), content_type="text/html")
    home = (SITES / "css-fabulerie.html").read_text(encoding="utf-8")
    server.add("/", home.replace("https://lafabulerie.com", server.url("")),
               content_type="text/html")  # fmt: skip
    server.add("/evenement/atelier-arduino-debutants/",
               (SITES / "css-fabulerie-detail.html").read_bytes(), content_type="text/html")  # fmt: skip
    server.add("/evenement/repair-cafe-numerique/", b"gone", status=404, content_type="text/plain")
    server.add("/evenement/stage-jeu-video/", "<html><head><title>Stage</title></head></html>",
               content_type="text/html")  # fmt: skip
    tec = (SITES / "tec-makeitmarseille.json").read_text(encoding="utf-8")
    server.add("/wp-json/tribe/events/v1/events?page=1", tec, content_type="application/json")
    page_two = tec.replace('"id": 812', '"id": 900').replace("Open lab : découpe laser",
                                                             "Soirée drones")  # fmt: skip
    page_two = page_two.replace("?id=812", "?id=900").replace("open-lab-decoupe-laser", "drones")
    server.add("/wp-json/tribe/events/v1/events?page=2", page_two, content_type="application/json")
    with Session(sqlite_engine) as session:
        friche = add_routed(session, "Friche la Belle de Mai (Zinc, LFO fablab)",
                            server.url("/agenda/"), contact_email="zinc@friche.example")  # fmt: skip
        fabulerie = add_routed(session, "La Fabulerie", server.url("/"))
        make_it = add_routed(session, "Make It Marseille",
                             server.url("/wp-json/tribe/events/v1/events?page=1"))  # fmt: skip
        route = ROUTES["Make It Marseille"]
        make_it.route = replace(route, url=make_it.url,
                                paging=Paging(param="page", pages=2)).to_json()  # fmt: skip
        session.add(make_it)
        session.commit()
        ids = {"friche": friche.id or 0, "fabulerie": fabulerie.id or 0, "make_it": make_it.id or 0}
    crawl = settings.model_copy(update={"download_timeout": 5, "mail_url": smtp_server.url})

    first = run_crawl(crawl, timeout=120, now=NOW)

    assert first.status == RunStatus.done, first.error
    assert titles(sqlite_engine, ids["friche"]) == {
        "Zinc : rencontre creative coding": "scheduled",
        "LFO : fabriquer ses circuits imprimés": "scheduled",
        "Concert live électronique": "scheduled",
    }
    assert set(titles(sqlite_engine, ids["fabulerie"])) == {
        "Atelier Arduino pour débutants : premiers pas avec les capteurs",  # the page's title
        "Repair café numérique",  # its page failed: the card is kept
        "Stage : créer son jeu vidéo",  # its page has no og:title: the card's title stays
    }
    assert set(titles(sqlite_engine, ids["make_it"])) == {
        "Open lab : découpe laser", "Repair café électronique", "Soirée drones"
    }  # fmt: skip

    server.add("/agenda/", REDESIGNED, content_type="text/html")
    second = run_crawl(crawl, timeout=120, now=NOW + timedelta(hours=6))

    assert second.status == RunStatus.done, second.error
    assert set(titles(sqlite_engine, ids["friche"]).values()) == {"scheduled"}  # kept
    with Session(sqlite_engine) as session:
        source = session.get(Source, ids["friche"])
        assert source is not None and source.suspect and source.last_error is None
        assert "none of the 3 upcoming" in (source.suspect_reason or "")
        others = [session.get(Source, ids[n]) for n in ("fabulerie", "make_it")]
        assert not any(s is not None and s.suspect for s in others)

    mail_at = NOW + timedelta(hours=7)
    with make_mailer(smtp_server.url) as mailer:
        report = send_health_mails(sqlite_engine, crawl, now=mail_at, mailer=mailer)
    assert report.sent == [ids["friche"]]
    (message,) = smtp_server.messages
    assert smtp_server.envelopes[0][1] == ["zinc@friche.example"]
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "la présentation a peut-être changé" in text and "layout may have changed" in text

    later = mail_at + timedelta(days=8)  # past the weekly limit, still suspect: not again
    run_crawl(crawl, timeout=120, now=later)
    with make_mailer(smtp_server.url) as mailer:
        again = send_health_mails(sqlite_engine, crawl, now=later, mailer=mailer)
    assert again.sent == [] and len(smtp_server.messages) == 1
    assert set(titles(sqlite_engine, ids["friche"]).values()) == {"scheduled"}
