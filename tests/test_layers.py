"""The floors of ARCHITECTURE.md hold: no module imports toward a higher floor."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
FRAMEWORKS = {"fastapi", "starlette", "typer", "click", "apscheduler", "scrapy", "twisted", "uvicorn"}
FORBIDDEN = {
    "aggregator": {"crawlers", "newsletter", "web", "cli", "scheduler", "demo"} | FRAMEWORKS,
    "newsletter": {"crawlers", "web", "cli", "scheduler", "demo"} | FRAMEWORKS,
    "crawlers": {"newsletter", "web", "cli", "scheduler", "demo"},
    "web": {"cli", "scheduler", "demo"},
}


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_only_from_lower_floors(package: str) -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported_roots(path) & FORBIDDEN[package])
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.parts or package != "aggregator"
    }
    assert {k: v for k, v in offenders.items() if v} == {}
