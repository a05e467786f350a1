"""`techagenda extract --route-of NAME` / `--source ID`: one file or URL read the way a
source's route says (css selectors, follow step), by the same code as the crawl."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli import main
from crawlers.adapters.routes import load_routes
from crawlers.extract import find_route
from tests.support.httpserver import LoopbackHTTPServer

PACK = Path(__file__).parents[2] / "aggregator" / "regions" / "aix-marseille" / "routes.toml"
SITES = Path(__file__).parents[1] / "data" / "sites"
WINDOW = ["--from", "2026-11-01", "--to", "2027-12-31"]  # fixed days: no today in the test


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("FETCH_ALLOWLIST", "127.0.0.0/8")
    for name in ("DATABASE_URL", "MAIL_URL", "REGION", "TIMEZONE", "TECHAGENDA_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def extracted(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[list[dict], str]:
    assert main(["extract", *argv, *WINDOW, "--json"]) == 0
    out = capsys.readouterr()
    return json.loads(out.out), out.err


def test_the_route_of_a_pack_source_reads_its_css_cards(
    capsys: pytest.CaptureFixture[str],
) -> None:
    page = str(SITES / "css-friche.html")
    rows, err = extracted(capsys, page, "--route-of", "Friche la Belle de Mai")
    assert "route: Friche la Belle de Mai (Zinc, LFO fablab) (css)" in err
    assert [r["title"] for r in rows] == [
        "Zinc : rencontre creative coding",
        "LFO : fabriquer ses circuits imprimés",
        "Concert live électronique",
    ]
    assert rows[0]["start"].startswith("2026-12-08T19:00")
    plain, _ = extracted(capsys, page)  # without the route: no selectors, no such cards
    assert [r["title"] for r in plain] != [r["title"] for r in rows]


def test_the_follow_step_completes_each_card_from_its_page(
    capsys: pytest.CaptureFixture[str], http_server: LoopbackHTTPServer
) -> None:
    server = http_server
    home = (SITES / "css-fabulerie.html").read_text(encoding="utf-8")
    server.add("/", home.replace("https://lafabulerie.com", server.url("")),
               content_type="text/html")  # fmt: skip
    server.add("/evenement/atelier-arduino-debutants/",
               (SITES / "css-fabulerie-detail.html").read_bytes(), content_type="text/html")  # fmt: skip
    server.add("/evenement/repair-cafe-numerique/", b"gone", status=404, content_type="text/plain")
    rows, err = extracted(capsys, server.url("/"), "--route-of", "la fabulerie")
    titles = [r["title"] for r in rows]
    assert "Atelier Arduino pour débutants : premiers pas avec les capteurs" in titles  # page
    assert "Repair café numérique" in titles  # its page failed: the card stays
    assert "Stage : créer son jeu vidéo" in titles
    assert "repair-cafe-numerique" in err  # the failed page is a warning


def test_a_stored_source_is_read_with_its_route(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", "--region", "aix-marseille", "--import-sources"]) == 0
    capsys.readouterr()
    assert main(["sources", "list", "--json"]) == 0
    ids = {r["name"]: r["id"] for r in json.loads(capsys.readouterr().out)}
    friche = ids["Friche la Belle de Mai (Zinc, LFO fablab)"]
    rows, err = extracted(capsys, str(SITES / "css-friche.html"), "--source", str(friche))
    assert "(css)" in err and len(rows) == 3
    assert main(["extract", str(SITES / "css-friche.html"), "--source", str(ids["thecamp"])]) == 1
    assert "thecamp is unreadable: no feed or agenda seen" in capsys.readouterr().err
    assert main(["extract", str(SITES / "css-friche.html"), "--source", "9999"]) == 4


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["--route-of", "no such source"], 4, "no route for a source named 'no such source'"),
        (["--route-of", "GDG"], 1, "names several sources"),
        (["--route-of", "thecamp"], 1, "thecamp is unreadable"),
        (["--route-of", "La Fabulerie", "--source", "1"], 2, "not both"),
    ],
)
def test_a_wrong_route_says_why(
    argv: list[str], code: int, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["extract", str(SITES / "css-friche.html"), *argv]) == code
    assert message in capsys.readouterr().err


def test_find_route_prefers_the_exact_name() -> None:
    routes = load_routes(PACK)
    assert find_route(routes, "aix tech").name == "Aix Tech"  # also inside other names
    assert find_route(routes, "KCD").adapter == "developers-events"
