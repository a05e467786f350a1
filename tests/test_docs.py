"""Docs that cannot rot: every setting and every command is in the README."""

from __future__ import annotations

from pathlib import Path

import typer.main

from aggregator.settings import Settings
from cli import app

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_documented_in_the_readme() -> None:
    missing = [name.upper() for name in Settings.model_fields if f"`{name.upper()}`" not in README]
    assert missing == []


def test_every_command_is_documented_in_the_readme() -> None:
    group = typer.main.get_command(app)
    names: list[str] = []
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        subcommands = getattr(command, "commands", None)
        if subcommands:
            names += [f"{name} {sub}" for sub in subcommands]
        else:
            names.append(name)
    readme_commands = README.split("## Command line", 1)[1].split("## Configuration", 1)[0]
    rows = readme_commands.splitlines()

    def documented(command: str) -> bool:
        group, _, sub = command.partition(" ")
        mine = [r for r in rows if f"`techagenda {group}" in r]
        return any(f"{command}" in r or (sub and f"`{sub}" in r) for r in mine)

    undocumented = [n for n in names if not documented(n)]
    assert undocumented == []


def test_the_architecture_page_states_the_floors_the_layer_test_enforces() -> None:
    from tests.test_layers import FORBIDDEN

    page = (Path(__file__).parent.parent / "docs/architecture.md").read_text(encoding="utf-8")
    table = page.split("<!-- floors:", 1)[1].split("<!-- /floors -->", 1)[0]
    stated = {}
    for row in table.splitlines():
        cells = [c.strip() for c in row.strip().strip("|").split("|")]
        if len(cells) == 2 and cells[0].startswith("`"):
            stated[cells[0].strip("`")] = {w.strip() for w in cells[1].split(",")}
    assert stated == FORBIDDEN
    for module in ("aggregator/service.py", "crawlers/document.py", "aggregator/ingest.py",
                   "newsletter/send.py"):
        assert f"`{module.split('/', 1)[1]}`" in page or f"`{module}`" in page
