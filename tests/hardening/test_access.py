"""Access checks not covered elsewhere: passwords at rest are argon2 hashes."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session

from aggregator.admins import create_admin, verify_admin

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
PASSWORD = "correct horse battery staple"


def test_an_admin_password_is_stored_only_as_an_argon2id_hash(sqlite_engine: Engine) -> None:
    with Session(sqlite_engine) as session:
        admin = create_admin(session, "camille", PASSWORD, email=None, now=NOW)
        session.commit()
        assert admin.password_hash.startswith("$argon2id$")
        assert PASSWORD not in admin.password_hash
        assert verify_admin(session, "camille", PASSWORD) is not None
        assert verify_admin(session, "camille", PASSWORD + " ") is None
        assert verify_admin(session, "personne", PASSWORD) is None
