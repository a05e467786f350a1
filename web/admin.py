"""Admin console, part one: login, sources and their health, crawls.

Every route but the login form depends on ``require_admin``; a test enumerates the
routes under /admin and checks that an anonymous visitor is refused. "Crawl now" only
queues a ``CrawlRun``: the scheduler runs it, the web never runs Scrapy.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, BackgroundTasks, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func
from sqlmodel import Session, col, select

from aggregator import inbox
from aggregator.admins import MIN_PASSWORD_LENGTH, change_password, end_sessions, verify_admin
from aggregator.clashes import evening_clashes, is_evening
from aggregator.errors import InvalidInputError, NotFoundError
from aggregator.models import (
    CrawlRun,
    Event,
    EventLink,
    Source,
    SourceFetch,
    SourceState,
)
from aggregator.relevance import check_scope, effective_scope
from aggregator.relevance_actions import rescore_source
from aggregator.service import check_source, queue_crawl, scheduler_is_running
from aggregator.settings import parse_interval
from aggregator.sources import set_source_state
from web import admin_content, admin_duplicates, admin_inbox
from web.deps import AdminDep, NowDep, SessionDep, SettingsDep, require_admin
from web.rendering import render
from web.security import (
    client_key,
    end_admin_session,
    limit,
    require_csrf,
    start_admin_session,
)
from web.svg import health_strip

router = APIRouter(include_in_schema=False)
login_router = APIRouter(include_in_schema=False)
guarded = APIRouter(prefix="/admin", include_in_schema=False, dependencies=[Depends(require_admin)])
CSRF = [Depends(require_csrf)]
STATE_ACTIONS = {
    "approve": SourceState.approved,
    "reject": SourceState.rejected,
    "pause": SourceState.paused,
    "resume": SourceState.approved,
}
CHECK_REFETCH_DELAY = 2.0  # seconds between the check's two fetches (UIDs that change)


def _safe_next(target: str | None) -> str:
    """Only local admin paths: never an open redirect."""
    if target and target.startswith("/admin") and not target.startswith("//"):
        return target
    return "/admin"


@login_router.get("/admin/login", response_class=HTMLResponse)
def login_form(request: Request, next: str | None = None) -> HTMLResponse:
    return render(request, "admin/login.html", {"next": _safe_next(next)})


@login_router.post("/admin/login", dependencies=CSRF)
def login_post(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    username: Annotated[str, Form(max_length=200)],
    password: Annotated[str, Form(max_length=1000)],
    next: Annotated[str | None, Form()] = None,
) -> Response:
    limit(request, "login")
    admin = verify_admin(session, username, password)
    if admin is None:
        context = {"next": _safe_next(next), "error": True, "username": username}
        return render(request, "admin/login.html", context, status=401)
    request.app.state.limiters["login"].reset(f"login:{client_key(request)}")
    response = RedirectResponse(_safe_next(next), status_code=303)
    start_admin_session(response, settings, admin)
    return response


@guarded.post("/logout", dependencies=CSRF)
def logout(session: SessionDep, settings: SettingsDep, admin: AdminDep) -> Response:
    """Log out everywhere: the session version moves on, so no copy of the cookie works."""
    end_sessions(session, admin)
    response = RedirectResponse("/admin/login", status_code=303)
    end_admin_session(response, settings)
    return response


@guarded.get("/password", response_class=HTMLResponse)
def password_form(request: Request, admin: AdminDep) -> HTMLResponse:
    context = {"admin": admin, "min_length": MIN_PASSWORD_LENGTH}
    return render(request, "admin/password.html", context)


@guarded.post("/password", dependencies=CSRF)
def password_post(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    admin: AdminDep,
    current: Annotated[str, Form(max_length=1000)],
    new: Annotated[str, Form(max_length=1000)],
    confirmation: Annotated[str, Form(max_length=1000)],
) -> Response:
    """Change one's password: every other session ends, this browser gets a fresh one."""
    limit(request, "login")
    problem = change_password(session, admin, current, new, confirmation)
    if problem is not None:
        context = {"admin": admin, "min_length": MIN_PASSWORD_LENGTH, "problem": problem}
        return render(request, "admin/password.html", context, status=422)
    response = RedirectResponse("/admin/password?changed=1", status_code=303)
    start_admin_session(response, settings, admin)
    return response


def _health(session: SessionDep, sources: list[Source], title: str) -> dict[int, object]:
    """Per source: an SVG strip of its last 20 fetches (oldest first)."""
    fetches: dict[int, list[bool]] = defaultdict(list)
    ids = [s.id for s in sources if s.id is not None]
    if ids:
        rows = session.exec(
            select(SourceFetch.source_id, SourceFetch.error, SourceFetch.http_status)
            .where(col(SourceFetch.source_id).in_(ids))
            .order_by(col(SourceFetch.id).desc())
        ).all()
        for source_id, error, status in rows:
            if len(fetches[source_id]) < 20:
                fetches[source_id].append(error is None and (status is None or status < 400))
    return {sid: health_strip(list(reversed(fetches.get(sid, []))), title) for sid in ids}


@guarded.get("", response_class=HTMLResponse)
def dashboard(
    request: Request, session: SessionDep, admin: AdminDep, state: str | None = None
) -> HTMLResponse:
    query = select(Source).order_by(col(Source.state), col(Source.name))
    if state:
        query = query.where(Source.state == state)
    sources = list(session.exec(query).all())
    counts = dict(
        session.exec(
            select(EventLink.source_id, func.count(col(EventLink.id))).group_by(
                col(EventLink.source_id)
            )
        ).all()
    )
    runs = session.exec(select(CrawlRun).order_by(col(CrawlRun.id).desc()).limit(10)).all()
    by_state = dict(
        session.exec(
            select(Source.state, func.count(col(Source.id))).group_by(col(Source.state))
        ).all()
    )
    return render(
        request,
        "admin/dashboard.html",
        {
            "admin": admin,
            "sources": sources,
            "event_counts": counts,
            "strips": _health(session, sources, "20 derniers passages"),
            "runs": runs,
            "source_names": {s.id: s.name for s in sources},
            "by_state": by_state,
            "filter_state": state,
        },
    )


def _source(session: SessionDep, source_id: int) -> Source:
    source = session.get(Source, source_id)
    if source is None:
        raise NotFoundError(f"no source #{source_id}")
    return source


@guarded.post("/sources/{source_id}/state", dependencies=CSRF)
def change_state(
    background: BackgroundTasks,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    source_id: int,
    action: Annotated[str, Form()],
) -> Response:
    """Approve, refuse, pause or resume a source. An organizer's submitted feed decided
    here is decided as in the inbox: the organizer is told."""
    if action not in STATE_ACTIONS:
        raise InvalidInputError(f"unknown action {action!r}")
    source = _source(session, source_id)
    if inbox.is_submitted_feed(source) and action in ("approve", "reject"):
        decide = inbox.approve_feed if action == "approve" else inbox.reject_feed
        admin_inbox.tell(background, settings, decide(session, source_id, now=now), now)
        session.commit()  # the decision is stored before the mail that tells it leaves
    else:
        set_source_state(session, source_id, STATE_ACTIONS[action], now=now)
    return RedirectResponse(f"/admin#source-{source_id}", status_code=303)


@guarded.post("/sources/{source_id}/check", dependencies=CSRF)
def check_now(
    request: Request, session: SessionDep, settings: SettingsDep, now: NowDep, source_id: int
) -> Response:
    """Fetch and lint the source now (never approves it); the source page shows the result."""
    from crawlers.check import check_source as check

    _source(session, source_id)
    delay = getattr(request.app.state, "refetch_delay", CHECK_REFETCH_DELAY)
    check_source(session, settings, source_id, check=check, now=now, refetch_delay=delay)
    return RedirectResponse(f"/admin/sources/{source_id}?checked=1#check", status_code=303)


@guarded.get("/sources/{source_id}", response_class=HTMLResponse)
def source_page(request: Request, session: SessionDep, now: NowDep, source_id: int) -> HTMLResponse:
    source = _source(session, source_id)
    fetches = session.exec(
        select(SourceFetch)
        .where(SourceFetch.source_id == source_id)
        .order_by(col(SourceFetch.id).desc())
        .limit(20)
    ).all()
    return render(
        request,
        "admin/source.html",
        {
            "source": source,
            "scope": effective_scope(source.scope, source.kind),
            "fetches": fetches,
            "clashes": _source_clashes(request, session, source_id, now),
        },
    )


def _source_clashes(
    request: Request, session: Session, source_id: int, now: datetime
) -> dict[date, list[Event]]:
    """The other evening events on the evenings of this source's next events (clash radar)."""
    region = request.app.state.region
    tz = region.tz
    upcoming = session.exec(
        select(Event)
        .join(EventLink, col(EventLink.event_id) == col(Event.id))
        .where(EventLink.source_id == source_id, col(Event.start) >= now)
        .order_by(col(Event.start))
        .limit(30)
    ).all()
    days = {e.start.astimezone(tz).date() for e in upcoming if is_evening(e.start, tz) and e.start}
    ids = [e.id for e in upcoming if e.id is not None]
    return evening_clashes(session, region=region, days=days, exclude_ids=ids)


@guarded.post("/sources/{source_id}", dependencies=CSRF)
def source_edit(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    source_id: int,
    name: Annotated[str, Form(min_length=1, max_length=200)],
    timezone: Annotated[str, Form(max_length=64)],
    relevance_threshold: Annotated[str, Form(max_length=20)] = "",
    crawl_interval: Annotated[str, Form(max_length=20)] = "",
    scope: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    source = _source(session, source_id)
    before = (source.scope, source.relevance_threshold)
    try:
        ZoneInfo(timezone.strip())
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInputError(f"unknown timezone {timezone!r}") from exc
    source.name = name.strip()
    source.timezone = timezone.strip()
    try:
        source.relevance_threshold = (
            float(relevance_threshold) if relevance_threshold.strip() else None
        )
    except ValueError as exc:
        raise InvalidInputError("the relevance threshold must be a number") from exc
    source.crawl_interval = parse_interval(crawl_interval) if crawl_interval.strip() else None
    try:
        source.scope = check_scope(scope) or source.scope
    except ValueError as exc:
        raise InvalidInputError(str(exc)) from exc
    session.add(source)
    if (source.scope, source.relevance_threshold) != before:
        rescore_source(session, source, settings)
    return RedirectResponse(f"/admin/sources/{source_id}?saved=1", status_code=303)


@guarded.post("/crawl", dependencies=CSRF)
def crawl_now(
    session: SessionDep,
    admin: AdminDep,
    now: NowDep,
    source_id: Annotated[int | None, Form()] = None,
) -> Response:
    """Queue a crawl of one source (or of every approved one); the scheduler runs it.

    A crawl of the same source already waiting is shown instead of queueing another (a
    double click queues one crawl)."""
    if source_id is not None:
        _source(session, source_id)
    run, _ = queue_crawl(session, source_id, f"admin:{admin.username}", now=now)
    return RedirectResponse(f"/admin/runs/{run.id}", status_code=303)


@guarded.get("/runs/{run_id}", response_class=HTMLResponse)
def run_page(request: Request, session: SessionDep, now: NowDep, run_id: int) -> HTMLResponse:
    run = session.get(CrawlRun, run_id)
    if run is None:
        raise NotFoundError(f"no crawl run #{run_id}")
    fetches = session.exec(select(SourceFetch).where(SourceFetch.crawl_run_id == run_id)).all()
    source = session.get(Source, run.source_id) if run.source_id else None
    context = {
        "run": run,
        "fetches": fetches,
        "source": source,
        "scheduler_running": scheduler_is_running(session, now=now),
    }
    return render(request, "admin/run.html", context)


router.include_router(login_router)
router.include_router(guarded)
router.include_router(admin_content.router)
router.include_router(admin_duplicates.router)
router.include_router(admin_inbox.router)
