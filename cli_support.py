"""What every ``techagenda`` command shares: the settings and engine of this invocation.

``current()`` is the context of the command being run; ``reset()`` (the app's callback)
starts a fresh one, so each invocation reads the settings anew.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import typer
from sqlalchemy.engine import Engine
from sqlmodel import Session

from aggregator.db import make_engine, session_scope, upgrade
from aggregator.settings import Settings, load_settings


class Context:
    """Settings and engine, built once per command invocation."""

    def __init__(self) -> None:
        self._settings: Settings | None = None
        self._engine: Engine | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings()
        return self._settings

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = make_engine(self.settings.db_url)
            upgrade(self._engine)
        return self._engine

    @contextmanager
    def session(self) -> Iterator[Session]:
        with session_scope(self.engine) as session:
            yield session


_current = Context()


def current() -> Context:
    """The context of the command being run."""
    return _current


def reset() -> None:
    """Start a fresh context (settings read again, a new engine on first use)."""
    global _current
    _current = Context()


def echo_json(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def echo_rows(
    rows: list[dict[str, Any]],
    *,
    as_json: bool,
    empty: str,
    lines: Callable[[dict[str, Any]], Iterable[str]],
) -> None:
    """A listing command's output: the rows as JSON, else each row's text lines
    (``empty`` when there is no row)."""
    if as_json:
        echo_json(rows)
        return
    if not rows:
        typer.echo(empty)
    for row in rows:
        for line in lines(row):
            typer.echo(line)
