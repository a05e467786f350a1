"""Admin console, part two: events (hide, merge, split), the digest, subscribers."""

from __future__ import annotations

import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func, or_
from sqlmodel import col, select

from aggregator import inbox
from aggregator.errors import InvalidInputError
from aggregator.models import Event, EventLink, Source, Subscriber, SubscriberStatus
from aggregator.queries import RELEVANT, relevance_reasons
from aggregator.relevance_actions import lower_threshold_for, mark_tech
from aggregator.weeks import Week
from newsletter.ledger import send_state
from newsletter.mailers import make_mailer
from newsletter.messages import build_message
from newsletter.send import preview_digest, send_digest
from web.admin_inbox import tell
from web.deps import AdminDep, NowDep, SessionDep, SettingsDep, require_admin
from web.i18n import request_language
from web.moderation import merge_events, set_hidden, split_link
from web.rendering import render
from web.security import require_csrf
from web.svg import line_chart

router = APIRouter(prefix="/admin", include_in_schema=False, dependencies=[Depends(require_admin)])
CSRF = [Depends(require_csrf)]


@router.get("/events", response_class=HTMLResponse)
def events_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    q: str | None = None,
    hidden: bool = False,
    filtered: bool = False,
) -> HTMLResponse:
    query = select(Event).where(
        or_(col(Event.start) >= now - timedelta(days=1), col(Event.start).is_(None))
    )
    if q:
        query = query.where(col(Event.title).icontains(q.strip()[:100]))
    if hidden:
        query = query.where(col(Event.hidden).is_(True))
    if filtered:  # what the relevance filter keeps out, with its reason
        query = query.where(col(Event.relevance) < RELEVANT, col(Event.marked_tech).is_(False))
    events = list(session.exec(query.order_by(col(Event.start)).limit(200)).all())
    dropped = [e for e in events if e.relevance < RELEVANT and not e.marked_tech]
    reasons = relevance_reasons(session, dropped, settings, request_language(request))
    ids = [e.id for e in events]
    links: dict[int, list[tuple[EventLink, str]]] = {}
    if ids:
        rows = session.exec(
            select(EventLink, Source.name)
            .join(Source, col(Source.id) == EventLink.source_id)
            .where(col(EventLink.event_id).in_(ids))
        ).all()
        for link, name in rows:
            links.setdefault(link.event_id, []).append((link, name))
    return render(
        request,
        "admin/events.html",
        {
            "events": events,
            "links": links,
            "q": q or "",
            "hidden": hidden,
            "filtered": filtered,
            "reasons": reasons,
            "dropped": {e.id for e in dropped},
        },
    )


@router.post("/events/{event_id}/tech", dependencies=CSRF)
def mark_as_tech(session: SessionDep, event_id: int) -> Response:
    """"This is tech": the event is published whatever its score, across every crawl."""
    mark_tech(session, event_id, True)
    return RedirectResponse(f"/admin/events?filtered=true#event-{event_id}", status_code=303)


@router.post("/events/{event_id}/untech", dependencies=CSRF)
def unmark_tech(session: SessionDep, event_id: int) -> Response:
    mark_tech(session, event_id, False)
    return RedirectResponse(f"/admin/events#event-{event_id}", status_code=303)


@router.post("/events/{event_id}/lower-threshold", dependencies=CSRF)
def lower_threshold(session: SessionDep, settings: SettingsDep, event_id: int) -> Response:
    """Lower the bar of the event's source just enough for it (and its like) to pass."""
    source = lower_threshold_for(session, event_id, settings)
    return RedirectResponse(f"/admin/sources/{source.id}?saved=1", status_code=303)


@router.post("/events/{event_id}/hide", dependencies=CSRF)
def hide(session: SessionDep, now: NowDep, event_id: int) -> Response:
    set_hidden(session, event_id, True, now=now)
    return RedirectResponse(f"/admin/events#event-{event_id}", status_code=303)


@router.post("/events/{event_id}/unhide", dependencies=CSRF)
def unhide(
    background: BackgroundTasks, session: SessionDep, settings: SettingsDep, now: NowDep,
    admin: AdminDep, event_id: int,
) -> Response:  # fmt: skip
    """Show the event; an organizer's waiting submission is published as the inbox does
    (approved, pinned, the organizer told)."""
    if inbox.is_waiting_event(session, event_id):
        decision = inbox.approve_event(session, event_id, now=now, by=admin.username)
        session.commit()  # the decision is stored before the mail that tells it leaves
        tell(background, settings, decision, now)
    else:
        set_hidden(session, event_id, False, now=now)
    return RedirectResponse(f"/admin/events#event-{event_id}", status_code=303)


@router.post("/events/merge", dependencies=CSRF)
def merge(
    session: SessionDep,
    admin: AdminDep,
    now: NowDep,
    keep_id: Annotated[int, Form()],
    other_id: Annotated[int, Form()],
) -> Response:
    merge_events(session, keep_id, other_id, by=f"admin:{admin.username}", now=now)
    return RedirectResponse(f"/admin/events#event-{keep_id}", status_code=303)


@router.post("/links/{link_id}/split", dependencies=CSRF)
def split(session: SessionDep, admin: AdminDep, now: NowDep, link_id: int) -> Response:
    fresh = split_link(session, link_id, by=f"admin:{admin.username}", now=now)
    return RedirectResponse(f"/admin/events#event-{fresh.id}", status_code=303)


@router.get("/digest", response_class=HTMLResponse)
def digest_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    subscriber: str | None = None,
    week: str | None = None,
) -> HTMLResponse:
    chosen = str(Week.parse(week) if week else Week.upcoming(now, settings.tz))
    subscribers = session.exec(
        select(Subscriber)
        .where(Subscriber.status == SubscriberStatus.confirmed)
        .order_by(col(Subscriber.email))
        .limit(500)
    ).all()
    context = {
        "week": chosen,
        "subscribers": subscribers,
        "chosen": subscriber or "",
        "sent": request.query_params.get("sent"),
        "tested": request.query_params.get("tested"),
        "busy": request.query_params.get("busy"),
        "pending": request.query_params.get("pending", "")[:6],
        "state": send_state(session, region=settings.region, week=chosen),
    }
    return render(request, "admin/digest.html", context)


@router.get("/digest/confirm", response_class=HTMLResponse)
def digest_confirm(
    request: Request, session: SessionDep, settings: SettingsDep, week: str
) -> HTMLResponse:
    """The step before sending to everyone: who would get it, what is already done."""
    chosen = str(Week.parse(week))
    context = {"week": chosen, "state": send_state(session, region=settings.region, week=chosen)}
    return render(request, "admin/digest_confirm.html", context)


def _preview_html(
    session: SessionDep, settings: SettingsDep, now: NowDep, email: str | None, week: str
) -> tuple[str, str]:
    with tempfile.TemporaryDirectory() as tmp:
        html_path, text_path = preview_digest(
            session, settings, email=email or None, week=week, now=now, out_dir=Path(tmp)
        )
        return html_path.read_text(encoding="utf-8"), text_path.read_text(encoding="utf-8")


@router.get("/digest/preview", response_class=HTMLResponse)
def digest_preview(
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    week: str,
    subscriber: str | None = None,
) -> HTMLResponse:
    """The email's HTML itself, shown in an iframe of the digest page."""
    html, _text = _preview_html(session, settings, now, subscriber, str(Week.parse(week)))
    response = HTMLResponse(html)
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; img-src * data:; style-src 'unsafe-inline'; frame-ancestors 'self'"
    )
    return response


@router.post("/digest/test", dependencies=CSRF)
def digest_test(
    session: SessionDep,
    settings: SettingsDep,
    admin: AdminDep,
    now: NowDep,
    week: Annotated[str, Form()],
    subscriber: Annotated[str | None, Form()] = None,
    to: Annotated[str | None, Form()] = None,
) -> Response:
    """Send the preview to the admin's own address; nothing enters the ledger."""
    address = (to or admin.email or "").strip()
    if not address:
        raise InvalidInputError("give an address to send the test to")
    html, text = _preview_html(session, settings, now, subscriber, str(Week.parse(week)))
    message = build_message(
        settings, to=address, subject=f"[TEST] {week}", text_body=text, html_body=html, date=now
    )
    with make_mailer(settings.outbox_url) as mailer:
        mailer.send(message)
    return RedirectResponse(f"/admin/digest?week={week}&tested=1", status_code=303)


@router.post("/digest/send", dependencies=CSRF)
def digest_send(
    request: Request,
    settings: SettingsDep,
    now: NowDep,
    week: Annotated[str, Form()],
    confirm: Annotated[str, Form()] = "",
) -> Response:
    """Send the week's digest to every confirmed subscriber (resumable, idempotent), once
    the admin confirmed on the confirmation page; without it, that page."""
    week = str(Week.parse(week))
    if confirm != "yes":
        return RedirectResponse(f"/admin/digest/confirm?week={week}", status_code=303)
    report = send_digest(request.app.state.engine, settings, week=week, now=now)
    if report.busy:  # a double click or a second admin while a send runs: nothing sent twice
        return RedirectResponse(f"/admin/digest?week={week}&busy=1", status_code=303)
    if report.held:
        return RedirectResponse(f"/admin/digest/gate?week={week}", status_code=303)
    left = f"&pending={report.pending}" if report.pending else ""
    return RedirectResponse(f"/admin/digest?week={week}&sent={report.sent}{left}", status_code=303)


@router.get("/subscribers", response_class=HTMLResponse)
def subscribers_page(
    request: Request, session: SessionDep, now: NowDep, status: str | None = None
) -> HTMLResponse:
    counts = dict(
        session.exec(
            select(Subscriber.status, func.count(col(Subscriber.id))).group_by(
                col(Subscriber.status)
            )
        ).all()
    )
    query = select(Subscriber).order_by(col(Subscriber.created_at).desc()).limit(500)
    if status:
        query = query.where(Subscriber.status == status)
    people = session.exec(query).all()
    stamps = session.exec(select(Subscriber.confirmed_at, Subscriber.unsubscribed_at)).all()
    points = []
    fmt = request.app.state
    for weeks_ago in range(11, -1, -1):
        at = now - timedelta(weeks=weeks_ago)
        active = sum(1 for c, u in stamps if c is not None and c <= at and (u is None or u > at))
        points.append((at.astimezone(fmt.tz).strftime("%d/%m"), active))
    chart = line_chart(points, "Abonné·es confirmé·es, 12 dernières semaines")
    return render(
        request,
        "admin/subscribers.html",
        {"counts": counts, "people": people, "chart": chart, "status": status},
    )
