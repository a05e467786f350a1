"""Admin: the send gate's report for a week and the approve button.

``/admin/digest/gate?week=YYYY-Www`` shows what ``newsletter.gate.check_digest`` found; the
POST records the admin's approval, which lets a gated digest go (or an auto one whose
check failed hard).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from aggregator.weeks import Week
from newsletter.gate import approve_digest, check_digest
from web.deps import AdminDep, NowDep, SessionDep, SettingsDep, require_admin
from web.rendering import render
from web.security import require_csrf

router = APIRouter(prefix="/admin", include_in_schema=False, dependencies=[Depends(require_admin)])
CSRF = [Depends(require_csrf)]


@router.get("/digest/gate", response_class=HTMLResponse)
def gate_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    week: str | None = None,
) -> HTMLResponse:
    """The gate's checks for the week (the coming one by default)."""
    chosen = str(Week.parse(week) if week else Week.upcoming(now, settings.tz))
    report = check_digest(session, settings, week=chosen, now=now)
    context = {
        "week": chosen,
        "report": report,
        "approved_now": request.query_params.get("approved") == "1",
    }
    return render(request, "admin/gate.html", context)


@router.post("/digest/gate/approve", dependencies=CSRF)
def gate_approve(
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    admin: AdminDep,
    week: Annotated[str, Form()],
) -> Response:
    """Record the admin's go for the week's digest."""
    chosen = str(Week.parse(week))
    approve_digest(session, settings, week=chosen, by=admin.username, now=now)
    return RedirectResponse(f"/admin/digest/gate?week={chosen}&approved=1", status_code=303)
