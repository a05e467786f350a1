"""Admin console: the moderation inbox (``/admin/inbox``).

One queue of what organizers submitted and an admin has not decided yet (single events
from the public form, feeds and pages), oldest first, each with its preview after
normalisation and its actions. What is in the queue and what each decision does is
:mod:`aggregator.inbox`; this module only translates forms to its calls and sends the
organizer's mail after the answer (``newsletter.organizer_mail``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, BackgroundTasks, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from aggregator import inbox
from aggregator.errors import NotFoundError
from aggregator.models import Source
from aggregator.settings import Settings
from crawlers.check import inspect_url
from newsletter.organizer_mail import decision_message, send_organizer_mail
from web.deps import AdminDep, NowDep, SessionDep, SettingsDep, require_admin
from web.i18n import request_language
from web.preview import stored_rows
from web.rendering import render
from web.security import require_csrf

router = APIRouter(prefix="/admin", include_in_schema=False, dependencies=[Depends(require_admin)])
CSRF = [Depends(require_csrf)]
PREVIEW_ROWS = 30


def waiting_badge(request: Request) -> int | None:
    """The admin menu's count of waiting submissions (None when the store cannot say)."""
    try:
        with Session(request.app.state.engine) as session:
            return inbox.count_waiting(session)
    except Exception:  # the menu never breaks a page
        return None


def _today(request: Request, now: datetime) -> date:
    return now.astimezone(ZoneInfo(request.app.state.region.timezone)).date()


def _page(
    request: Request,
    session: Session,
    now: datetime,
    *,
    problems: dict[str, dict[str, str]] | None = None,
    values: dict[str, dict[str, str]] | None = None,
    status: int = 200,
) -> HTMLResponse:
    tz = request.app.state.tz
    items = inbox.waiting(session)
    edits = {
        item.key: inbox.edit_values(item.event, tz) for item in items if item.event is not None
    }
    edits.update(values or {})
    context = {
        "items": items,
        "edits": edits,
        "problems": problems or {},
        "today": _today(request, now),
        "done": request.query_params.get("done"),
    }
    return render(request, "admin/inbox.html", context, status)


@router.get("/inbox", response_class=HTMLResponse)
def inbox_page(request: Request, session: SessionDep, now: NowDep) -> HTMLResponse:
    return _page(request, session, now)


def tell(background: BackgroundTasks, settings: Settings, decision: inbox.Decision,
          now: datetime) -> None:  # fmt: skip
    """Mail the organizer the decision, after the answer (when there is someone to tell)."""
    if decision.contact_email:
        message = decision_message(settings, decision, now=now)
        background.add_task(send_organizer_mail, settings, message)


def _done(session: Session, what: str) -> Response:
    session.commit()  # the decision is stored before the mail that tells it leaves
    return RedirectResponse(f"/admin/inbox?done={what}", status_code=303)


@router.post("/inbox/events/{event_id}/approve", dependencies=CSRF)
def approve_event(
    background: BackgroundTasks, session: SessionDep, settings: SettingsDep, now: NowDep,
    admin: AdminDep, event_id: int,
) -> Response:  # fmt: skip
    decision = inbox.approve_event(session, event_id, now=now, by=admin.username)
    tell(background, settings, decision, now)
    return _done(session, "approved")


@router.post("/inbox/events/{event_id}/reject", dependencies=CSRF)
def reject_event(
    background: BackgroundTasks, session: SessionDep, settings: SettingsDep, now: NowDep,
    admin: AdminDep, event_id: int, reason: Annotated[str, Form(max_length=1000)] = "",
) -> Response:  # fmt: skip
    decision = inbox.reject_event(session, event_id, now=now, by=admin.username, reason=reason)
    tell(background, settings, decision, now)
    return _done(session, "rejected")


@router.post("/inbox/events/{event_id}/edit", dependencies=CSRF)
async def edit_event(
    request: Request, session: SessionDep, now: NowDep, admin: AdminDep, event_id: int
) -> Response:
    """Correct a submitted event; a bad value is a message beside its field, form kept."""
    form = await request.form()
    values = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}
    edit, problems = inbox.check_event_edit(values, _today(request, now))
    key = f"event-{event_id}"
    if edit is None:
        return _page(request, session, now, problems={key: problems}, values={key: values},
                     status=422)  # fmt: skip
    inbox.edit_event(session, event_id, edit, region=request.app.state.region, now=now,
                     by=admin.username)  # fmt: skip
    session.commit()
    return RedirectResponse(f"/admin/inbox?done=edited#{key}", status_code=303)


@router.post("/inbox/feeds/{source_id}/approve", dependencies=CSRF)
def approve_feed(
    background: BackgroundTasks, session: SessionDep, settings: SettingsDep, now: NowDep,
    source_id: int,
) -> Response:  # fmt: skip
    decision = inbox.approve_feed(session, source_id, now=now)
    tell(background, settings, decision, now)
    return _done(session, "approved")


@router.post("/inbox/feeds/{source_id}/reject", dependencies=CSRF)
def reject_feed(
    background: BackgroundTasks, session: SessionDep, settings: SettingsDep, now: NowDep,
    source_id: int, reason: Annotated[str, Form(max_length=1000)] = "",
) -> Response:  # fmt: skip
    decision = inbox.reject_feed(session, source_id, now=now, reason=reason)
    tell(background, settings, decision, now)
    return _done(session, "rejected")


@router.post("/inbox/feeds/{source_id}/preview", response_class=HTMLResponse, dependencies=CSRF)
def preview_feed(
    request: Request, session: SessionDep, settings: SettingsDep, now: NowDep, source_id: int
) -> HTMLResponse:
    """Fetch the feed now and show what a crawl would store (the organizer preview's own
    path: guarded fetch, isolated reading, normalised events). Nothing is recorded."""
    source = session.get(Source, source_id)
    if source is None or not source.url:
        raise NotFoundError(f"no source #{source_id}")
    region = request.app.state.region
    seen = inspect_url(
        source.url, settings, region=region, timezone=source.timezone, now=now,
        refetch_delay=None, isolated=True, limits=getattr(request.app.state, "read_limits", None),
    )  # fmt: skip
    rows = stored_rows(seen.normalized, region, now) if seen.error is None else []
    error = seen.findings[0].message(request_language(request)) if seen.error else None
    context = {"source": source, "rows": rows[:PREVIEW_ROWS], "total": len(rows),
               "findings": seen.findings, "format": seen.format, "error": error}  # fmt: skip
    return render(request, "admin/inbox_preview.html", context)
