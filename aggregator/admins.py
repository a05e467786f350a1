"""Admin accounts: argon2-hashed passwords, created by ``techagenda admin create``.

Each admin has a ``session_version`` that every session cookie carries: logging out,
changing or resetting the password bumps it (:func:`end_sessions`), which ends every
session opened before, on every browser.
"""

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
    else:
        end_sessions(session, admin)  # a password reset logs the old sessions out
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


def end_sessions(session: Session, admin: AdminUser) -> None:
    """Revoke every session cookie of ``admin`` issued so far (the caller commits)."""
    admin.session_version = (admin.session_version or 0) + 1
    session.add(admin)
    session.flush()


def password_problem(current_ok: bool, new: str, confirmation: str) -> str | None:
    """Why a password change is refused (``wrong``, ``differ``, ``short``), else None."""
    if not current_ok:
        return "wrong"
    if new != confirmation:
        return "differ"
    if len(new) < MIN_PASSWORD_LENGTH:
        return "short"
    return None


def change_password(
    session: Session, admin: AdminUser, current: str, new: str, confirmation: str
) -> str | None:
    """Replace ``admin``'s password and end their sessions, or say why not (see
    :func:`password_problem`)."""
    current_ok = verify_admin(session, admin.username, current) is not None
    problem = password_problem(current_ok, new, confirmation)
    if problem is None:
        admin.password_hash = _hasher.hash(new)
        end_sessions(session, admin)
    return problem
