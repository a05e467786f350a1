"""The command line: every command has help, wrong arguments get one line and a non-zero exit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer.main

from cli import app, main


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "var"))
    for name in ("DATABASE_URL", "MAIL_URL", "REGION", "TIMEZONE", "TECHAGENDA_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def all_commands() -> list[list[str]]:
    group = typer.main.get_command(app)
    out: list[list[str]] = []
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        subs = getattr(command, "commands", None)
        out += [[name, sub] for sub in subs] if subs else [[name]]
    return out


@pytest.mark.parametrize("command", all_commands(), ids=" ".join)
def test_every_command_has_help(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*command, "--help"]) == 0
    assert "Usage:" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["sources", "add", "ftp://example.org/feed"], 2, "not an http(s) URL"),
        (["sources", "add", "https://example.org/feed", "--timezone", "Mars/Olympus"], 2, "unknown timezone"),
        (["events", "list", "--week", "2026-W99"], 3, "has no week 99"),
        (["events", "list", "--week", "next"], 3, "expected YYYY-Www"),
        (["extract", "/no/such/file.ics"], 4, "no such file"),
        (["extract", "x.ics", "--from", "yesterday"], 2, "expected YYYY-MM-DD"),
        (["subscribers", "add", "a@example.org", "--lang", "de"], 2, "use fr or en"),
        (["sources", "approve", "999"], 4, "999"),
        (["crawl", "--source", "abc"], 2, "Invalid value for '--source'"),
    ],
)
def test_wrong_arguments_get_one_line_and_a_nonzero_exit(
    argv: list[str], code: int, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == code
    captured = capsys.readouterr()
    assert message in captured.err
    assert "Traceback" not in captured.err + captured.out
    assert len(captured.err.strip().splitlines()) == 1


def test_a_broken_configuration_file_is_one_line(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (isolated / "techagenda.toml").write_text("timezone = [", encoding="utf-8")
    assert main(["sources", "list"]) == 3
    assert "techagenda.toml" in capsys.readouterr().err


def test_sources_added_by_an_admin_are_approved_and_listed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["sources", "add", "https://www.meetup.com/aixtech-org/events/ical/", "--name", "Aix Tech"]) == 0
    assert main(["sources", "add", "https://www.meetup.com/aixtech-org/events/ical/"]) == 0
    capsys.readouterr()
    assert main(["sources", "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["name"], r["state"]) for r in rows] == [("Aix Tech", "approved")]


def test_a_gated_digest_waits_for_an_admin_and_says_so(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DIGEST_GATE", "gated")
    assert main(["subscribers", "add", "lea@example.org"]) == 0
    assert main(["digest", "send", "--week", "2026-W49"]) == 1
    err = capsys.readouterr().err
    assert "held by the send gate" in err and "/admin/digest/gate" in err


def test_a_bad_week_option_names_the_bad_week() -> None:
    from aggregator.errors import ConfigError
    from cli_digest import week_option

    assert str(week_option(" 2026-W50 ")) == "2026-W50"
    with pytest.raises(ConfigError, match="'2026-W60' is not an ISO week"):
        week_option("2026-W60")


def test_a_fresh_init_lists_the_41_starter_sources_pending(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["init", "--region", "aix-marseille", "--import-sources"]) == 0
    assert "41 added" in capsys.readouterr().out
    assert main(["sources", "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 41 and {r["state"] for r in rows} == {"pending"}
    [no_url] = [r for r in rows if r["url"] is None]
    assert no_url["name"] == "La Coque Numérique"
    assert main(["sources", "approve", str(no_url["id"])]) == 1
    assert "has no URL yet" in capsys.readouterr().err


def test_init_records_each_starter_source_route_or_reason(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["init", "--region", "aix-marseille", "--import-sources"]) == 0
    assert "30 with an adapter, 11 unreadable" in capsys.readouterr().out
    assert main(["sources", "list", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    alcazar = rows["Bibliothèques de Marseille - Alcazar (OpenAgenda)"]
    assert alcazar["adapter"] == "openagenda" and "/events.v2.json" in alcazar["url"]
    assert rows["thecamp"]["adapter"].startswith("unreadable: no feed or agenda seen")
    assert all(r["adapter"] != "-" for r in rows.values())
    assert rows["GDG Marseille (Google Developer Group)"]["adapter"] == "manual (bevy-chapter)"
    assert rows["Agile Tour Aix-Marseille"]["adapter"] == "developers-events"
    assert main(["init", "--region", "aix-marseille", "--import-sources"]) == 0
    assert "41 already present" in capsys.readouterr().out
    assert main(["sources", "list"]) == 0
    assert "read by: css" in capsys.readouterr().out


def test_sources_test_rereads_a_saved_page_with_the_source_selectors(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["init", "--region", "aix-marseille", "--import-sources"]) == 0
    capsys.readouterr()
    assert main(["sources", "list", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    friche = rows["Friche la Belle de Mai (Zinc, LFO fablab)"]["id"]
    page = Path(__file__).parent / "data" / "sites" / "css-friche.html"
    assert main(["sources", "test", str(friche), "--page", str(page)]) == 0
    out = capsys.readouterr().out
    assert "read by: css" in out and "events: 3" in out
    assert "Zinc : rencontre creative coding" in out
    broken = Path("redesigned.html")
    broken.write_text("<html><body><ul class='agenda'><li>x</li></ul></body></html>")
    assert main(["sources", "test", str(friche), "--page", str(broken)]) == 0
    out = capsys.readouterr().out
    assert "events: 0" in out and "no card matched" in out
    camp = rows["thecamp"]["id"]
    assert main(["sources", "test", str(camp), "--page", str(page)]) == 1
    assert "unreadable" in capsys.readouterr().err


def test_sources_test_on_a_spider_route_says_only_the_first_page_is_read(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["init", "--region", "aix-marseille", "--import-sources"]) == 0
    capsys.readouterr()
    assert main(["sources", "list", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    gdg = rows["GDG Marseille (Google Developer Group)"]["id"]
    page = Path(__file__).parent / "data" / "sites" / "bevy-gdg-marseille.html"
    assert main(["sources", "test", str(gdg), "--page", str(page)]) == 0
    out = capsys.readouterr().out
    assert "read by: manual (bevy-chapter)" in out and "events: 2" in out
    assert "note: Source lue par l'araignée « bevy-chapter »" in out
    assert "première page" in out and f"techagenda crawl --source {gdg}" in out
    friche = rows["Friche la Belle de Mai (Zinc, LFO fablab)"]["id"]
    css = Path(__file__).parent / "data" / "sites" / "css-friche.html"
    assert main(["sources", "test", str(friche), "--page", str(css)]) == 0
    assert "note:" not in capsys.readouterr().out  # a document route reads all it needs
