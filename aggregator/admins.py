"""Admin accounts: argon2-hashed passwords, created by ``techagenda admin create``."""

from __future__ import annotations

import contextlib
from datetime import datetime
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session, select

from aggregator.errors import ConfigError
from aggregator.models import AdminUser

_hasher = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """Verified against when the username is unknown, so timing does not reveal names."""
    return _hasher.hash("not-a-real-password")


MIN_PASSWORD_LENGTH = 10


def create_admin(
    session: Session, username: str, password: str, *, email: str | None = None, now: datetime
) -> AdminUser:
    """Create an admin, or reset the password of an existing one with that username."""
    username = username.strip()
    if not username:
        raise ConfigError("an admin needs a username")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ConfigError(f"an admin password needs at least {MIN_PASSWORD_LENGTH} characters")
    admin = session.exec(select(AdminUser).where(AdminUser.username == username)).first()
    if admin is None:
        admin = AdminUser(username=username, email=email, password_hash="", created_at=now)
    admin.password_hash = _hasher.hash(password)
    if email:
        admin.email = email
    session.add(admin)
    session.flush()
    return admin


def verify_admin(session: Session, username: str, password: str) -> AdminUser | None:
    """The admin when the password matches, else None (same cost either way)."""
    admin = session.exec(select(AdminUser).where(AdminUser.username == username.strip())).first()
    if admin is None:
        with contextlib.suppress(VerificationError):
            _hasher.verify(_dummy_hash(), password)
        return None
    try:
        _hasher.verify(admin.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    if _hasher.check_needs_rehash(admin.password_hash):
        admin.password_hash = _hasher.hash(password)
        session.add(admin)
    return admin
