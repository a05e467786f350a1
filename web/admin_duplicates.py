"""Admin console: possible duplicates (pairs scored in the review band) and the two
decisions, "merge" and "not the same", remembered across crawls."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.requests import Request

from aggregator.duplicates import decide_pair, pending_pairs
from web.deps import AdminDep, NowDep, SessionDep, require_admin
from web.rendering import render
from web.security import require_csrf

router = APIRouter(prefix="/admin", include_in_schema=False, dependencies=[Depends(require_admin)])
CSRF = [Depends(require_csrf)]


@router.get("/duplicates", response_class=HTMLResponse)
def duplicates_page(request: Request, session: SessionDep) -> HTMLResponse:
    return render(request, "admin/duplicates.html", {"pairs": pending_pairs(session)})


@router.post("/duplicates/{pair_id}/merge", dependencies=CSRF)
def merge_pair(session: SessionDep, admin: AdminDep, now: NowDep, pair_id: int) -> Response:
    decide_pair(session, pair_id, "merged", now=now, by=f"admin:{admin.username}")
    return RedirectResponse("/admin/duplicates", status_code=303)


@router.post("/duplicates/{pair_id}/distinct", dependencies=CSRF)
def distinct_pair(session: SessionDep, admin: AdminDep, now: NowDep, pair_id: int) -> Response:
    decide_pair(session, pair_id, "distinct", now=now, by=f"admin:{admin.username}")
    return RedirectResponse("/admin/duplicates", status_code=303)
