"""Shared fixtures: real SQLite files, a real PostgreSQL, loopback HTTP and SMTP servers.

* ``sqlite_engine``  a fresh, migrated SQLite file per test.
* ``pg_engine``      a fresh, migrated schema in the PostgreSQL named by TEST_POSTGRES_URL;
                     skipped with a message outside CI when unset, an error in CI.
* ``engine``         parametrized over both: a store test written once runs on each.
* ``settings``       a Settings object whose data dir is the test's tmp dir.
* ``http_server``    a threaded HTTP server on 127.0.0.1 serving files and scripted routes.
* ``smtp_server``    an aiosmtpd server on 127.0.0.1 collecting every message.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from aggregator.db import make_engine, upgrade
from aggregator.settings import Settings, load_settings
from tests.support.httpserver import LoopbackHTTPServer
from tests.support.smtpserver import LoopbackSMTPServer

DATA = Path(__file__).parent / "data"


@pytest.fixture
def data_dir() -> Path:
    """The folder of real-world shaped input files."""
    return DATA


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'techagenda.db'}"


@pytest.fixture
def sqlite_engine(sqlite_url: str) -> Iterator[Engine]:
    engine = make_engine(sqlite_url)
    upgrade(engine)
    yield engine
    engine.dispose()


def postgres_url() -> str | None:
    """TEST_POSTGRES_URL, or a failure in CI / a skip elsewhere when it is missing."""
    url = os.environ.get("TEST_POSTGRES_URL")
    if not url:
        if os.environ.get("CI") == "true":
            pytest.fail("TEST_POSTGRES_URL is not set but CI=true: PostgreSQL tests must run")
        pytest.skip("PostgreSQL tests skipped: set TEST_POSTGRES_URL to run them")
    return url


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A URL whose connections use a fresh schema of their own (dropped afterwards)."""
    base = postgres_url()
    assert base
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(base)
    try:
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    except sa.exc.OperationalError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL at TEST_POSTGRES_URL does not answer: {exc.orig}")
        pytest.skip(f"PostgreSQL does not answer: {exc.orig}")
    sep = "&" if "?" in base else "?"
    yield f"{base}{sep}options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def pg_engine(pg_url: str) -> Iterator[Engine]:
    engine = make_engine(pg_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    """A migrated database URL: a SQLite file, then a PostgreSQL schema."""
    if request.param == "sqlite":
        url: str = request.getfixturevalue("sqlite_url")
    else:
        url = request.getfixturevalue("pg_url")
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """A migrated engine on SQLite, then on PostgreSQL."""
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def settings(tmp_path: Path, sqlite_url: str) -> Settings:
    """Settings for one test: its own data dir, SQLite file and outbox; loopback allowed."""
    return load_settings(
        data_dir=tmp_path / "var",
        database_url=sqlite_url,
        mail_url=f"file://{tmp_path / 'outbox'}",
        secret_key="test-secret-key",
        fetch_allowlist="127.0.0.0/8,::1",
    )


@pytest.fixture
def http_server() -> Iterator[LoopbackHTTPServer]:
    """A real HTTP server on 127.0.0.1 (see tests/support/httpserver.py)."""
    server = LoopbackHTTPServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def smtp_server() -> Iterator[LoopbackSMTPServer]:
    """A real SMTP server on 127.0.0.1 (see tests/support/smtpserver.py)."""
    server = LoopbackSMTPServer()
    server.start()
    yield server
    server.stop()
