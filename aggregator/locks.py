"""Named leases in the database: the scheduler's leader lease and the crawl/digest locks.

A lease is one ``Lease`` row per name: who holds it and until when. Taking it is one
atomic ``UPDATE ... WHERE expires_at < now OR holder = me``; the row is inserted the first
time (a unique-key race there simply means someone else won). It works the same on SQLite
and PostgreSQL, survives process crashes (the lease expires) and needs no server-side
session, so a dead holder is replaced as soon as its expiry passes — or at once when
the holder is a process of this host that no longer exists (:func:`holder_alive`).

    holder = new_holder_id()
    if acquire_lease(engine, "scheduler", holder, ttl=timedelta(seconds=60), now=now):
        ...  # renew by calling acquire_lease again before the ttl runs out

    with lease(engine, "digest", holder=holder, ttl=timedelta(hours=1)) as held:
        if not held:
            ...  # someone else is sending

On PostgreSQL ``advisory_lock`` offers a session lock that ends with the connection.
"""

from __future__ import annotations

import os
import socket
import uuid
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from aggregator.models import Lease, utcnow

_lease = Lease.__table__  # type: ignore[attr-defined]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

LEADER = "scheduler"  # the leader lease: only its holder runs scheduled jobs


def new_holder_id() -> str:
    """A holder id unique to this process: host, pid and a random suffix."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def process_gone(pid: int) -> bool:
    """True when no live process has this pid on this machine (a zombie counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except (PermissionError, OverflowError):
        return False
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            return stat.read().rpartition(")")[2].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def holder_alive(holder: str, *, host: str | None = None) -> bool:
    """False only when ``holder`` names a process of this host (``host``, by default this
    machine's name) that no longer exists, or is a zombie.

    Holders not made by :func:`new_holder_id`, or living on another host, count as alive
    (their lease or claim ends with its expiry or stale timeout instead).
    """
    name, sep, rest = holder.partition(":")
    pid_text = rest.partition(":")[0]
    if not sep or name != (host or socket.gethostname()) or not pid_text.isdigit():
        return True
    pid = int(pid_text)
    return pid == os.getpid() or not process_gone(pid)


def acquire_lease(engine: Engine, name: str, holder: str, *, ttl: timedelta, now: datetime) -> bool:
    """Take or renew the lease ``name`` for ``holder`` until ``now + ttl``; True when held.

    A lease held by someone else is taken once it has expired, or at once when its holder
    is a dead process of this host (``kill -9``).
    """
    expires = now + ttl
    with engine.begin() as conn:
        taken = conn.execute(
            sa.update(_lease)
            .where(
                _lease.c.name == name,
                sa.or_(_lease.c.expires_at < now, _lease.c.holder == holder),
            )
            .values(
                holder=holder,
                expires_at=expires,
                acquired_at=sa.case(
                    (_lease.c.holder == holder, _lease.c.acquired_at),
                    else_=sa.literal(now, _lease.c.acquired_at.type),
                ),
            )
        )
        if taken.rowcount == 1:
            return True
        current = conn.execute(sa.select(_lease.c.holder).where(_lease.c.name == name)).scalar()
        if current is not None and not holder_alive(str(current)):
            broken = conn.execute(
                sa.update(_lease)
                .where(_lease.c.name == name, _lease.c.holder == current)
                .values(holder=holder, expires_at=expires, acquired_at=now)
            )
            return broken.rowcount == 1
        if current is not None:
            return False
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.insert(_lease).values(
                    name=name, holder=holder, expires_at=expires, acquired_at=now
                )
            )
    except IntegrityError:
        return False
    return True


def release_lease(engine: Engine, name: str, holder: str) -> bool:
    """Give the lease back (expire it now) if ``holder`` holds it; True when it did."""
    with engine.begin() as conn:
        done = conn.execute(
            sa.update(_lease)
            .where(_lease.c.name == name, _lease.c.holder == holder)
            .values(expires_at=_EPOCH)
        )
    return done.rowcount == 1


def lease_holder(engine: Engine, name: str, *, now: datetime) -> str | None:
    """Who holds ``name`` right now, or None when it is free or expired."""
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(_lease.c.holder, _lease.c.expires_at).where(_lease.c.name == name)
        ).first()
    if row is None or row.expires_at < now:
        return None
    return str(row.holder)


@contextmanager
def lease(
    engine: Engine,
    name: str,
    *,
    holder: str | None = None,
    ttl: timedelta,
    now: datetime | None = None,
) -> Iterator[bool]:
    """Hold ``name`` for the block when it is free; yields whether it was taken.

    The lease is released on exit, and expires by itself after ``ttl`` if the process dies.
    """
    holder = holder or new_holder_id()
    held = acquire_lease(engine, name, holder, ttl=ttl, now=now or utcnow())
    try:
        yield held
    finally:
        if held:
            release_lease(engine, name, holder)


@contextmanager
def advisory_lock(engine: Engine, name: str) -> Iterator[bool]:
    """A PostgreSQL session advisory lock on ``name`` for the block (non-blocking try).

    On other databases it falls back to a ``lease`` with a one-hour expiry.
    """
    if engine.dialect.name != "postgresql":
        with lease(engine, f"advisory:{name}", ttl=timedelta(hours=1)) as held:
            yield held
        return
    key = zlib.crc32(name.encode("utf-8"))
    with engine.connect() as conn:
        held = bool(conn.execute(sa.select(sa.func.pg_try_advisory_lock(key))).scalar())
        conn.commit()
        try:
            yield held
        finally:
            if held:
                conn.execute(sa.select(sa.func.pg_advisory_unlock(key)))
                conn.commit()


DIGEST_LOCK = "digest"


def digest_lock_name(region: str, week: str) -> str:
    """The lease every sender of one digest takes (web button, CLI, scheduler)."""
    return f"{DIGEST_LOCK}:{region}:{week}"


def crawl_lock_name(source_id: int | None) -> str:
    """The lease a crawl holds: one per source, ``crawl:all`` for a crawl of every source."""
    return "crawl:all" if source_id is None else f"crawl:{source_id}"
