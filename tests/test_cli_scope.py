"""The command line sets a source's scope: `sources add --scope`, `sources import --scope` and
the CSV's scope column; a wrong scope is one line and exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli import main


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "var"))
    for name in ("DATABASE_URL", "MAIL_URL", "REGION", "TIMEZONE", "TECHAGENDA_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def scopes(capsys: pytest.CaptureFixture[str]) -> dict[str, str]:
    capsys.readouterr()
    assert main(["sources", "list", "--json"]) == 0
    return {r["name"]: r["scope"] for r in json.loads(capsys.readouterr().out)}


def test_sources_add_is_tech_unless_told_mixed(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sources", "add", "https://tech.example/ical", "--name", "Meetup"]) == 0
    assert "tech" in capsys.readouterr().out
    assert main(["sources", "add", "https://ville.example/agenda", "--name", "Ville",
                 "--scope", "mixed"]) == 0
    assert scopes(capsys) == {"Meetup": "tech", "Ville": "mixed"}


def test_sources_import_reads_the_scope_column_then_the_option_then_the_kind(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv_file = isolated / "sources.csv"
    csv_file.write_text(
        "name,kind,feed_url,scope\n"
        "Mediatheque,library,https://bib.example/agenda.ics,\n"
        "Asso,association,https://asso.example/agenda.ics,\n"
        "Salle,venue,https://salle.example/agenda.ics,tech\n",
        encoding="utf-8",
    )
    assert main(["sources", "import", str(csv_file)]) == 0
    assert scopes(capsys) == {"Mediatheque": "mixed", "Asso": "tech", "Salle": "tech"}
    other = isolated / "more.csv"
    other.write_text("name,kind,feed_url\nClub,association,https://club.example/a.ics\n",
                     encoding="utf-8")
    assert main(["sources", "import", str(other), "--scope", "mixed"]) == 0
    assert scopes(capsys)["Club"] == "mixed"


@pytest.mark.parametrize(
    "argv",
    [
        ["sources", "add", "https://x.example/feed", "--scope", "both"],
        ["sources", "import", "sources.csv", "--scope", "both"],
    ],
)
def test_a_wrong_scope_is_one_line_and_exit_2(
    argv: list[str], isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (isolated / "sources.csv").write_text("name,feed_url\nA,https://a.example/f\n", "utf-8")
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert "unknown scope" in captured.err and len(captured.err.strip().splitlines()) == 1
