"""FastAPI dependencies: a DB session per request, the clock, the logged-in admin."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel import Session

from aggregator.db import session_scope
from aggregator.models import AdminUser
from aggregator.settings import Settings
from web.security import AdminLoginRequired, current_admin


def get_session(request: Request) -> Iterator[Session]:
    """One session per request, committed when the route returns without error."""
    with session_scope(request.app.state.engine) as session:
        yield session


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_now(request: Request) -> datetime:
    now: datetime = request.app.state.clock()
    return now


def require_admin(request: Request, session: Annotated[Session, Depends(get_session)]) -> AdminUser:
    """The logged-in admin, else AdminLoginRequired (a redirect to the login page)."""
    admin = current_admin(request, session)
    if admin is None:
        raise AdminLoginRequired()
    request.state.admin = admin
    return admin


SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
NowDep = Annotated[datetime, Depends(get_now)]
AdminDep = Annotated[AdminUser, Depends(require_admin)]
