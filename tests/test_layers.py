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


def _module_files() -> dict[str, Path]:
    """Every production module of the project (migrations aside), by dotted name."""
    files = [*ROOT.glob("*.py")] + [
        p for package in FORBIDDEN for p in (ROOT / package).rglob("*.py")
        if "migrations" not in p.parts
    ]
    return {".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): p
            for p in files}


def _module_graph() -> dict[str, set[str]]:
    """Every project module and the project modules it imports (type-checking imports too)."""
    names = _module_files()
    graph: dict[str, set[str]] = {}
    for name, path in names.items():
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    deps.add(full if full in names else node.module)
            elif isinstance(node, ast.Import):
                deps |= {alias.name for alias in node.names}
        graph[name] = {d for d in deps if d in names and d != name}
    return graph


def test_no_import_cycle_between_project_modules() -> None:
    graph = _module_graph()
    cycles = []
    for start in graph:
        seen, stack = set(), [(start, [start])]
        while stack:
            node, path = stack.pop()
            for nxt in graph[node]:
                if nxt == start:
                    cycles.append(" -> ".join([*path, start]))
                elif nxt not in seen and len(path) < 12:
                    seen.add(nxt)
                    stack.append((nxt, [*path, nxt]))
    assert cycles == []


def test_no_project_module_is_over_600_lines() -> None:
    long = {name: n for name, path in _module_files().items()
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > 600}
    assert long == {}
