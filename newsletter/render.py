"""Rendering a digest (HTML + plain text) and the confirmation email with Jinja2.

HTML templates are autoescaped; the ``<style>`` block is inlined with css_inline so
Gmail, Outlook and Apple Mail keep the look. The plain text is its own template,
written to be read, not a stripped copy of the HTML.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cache

import css_inline
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from aggregator.settings import Settings
from newsletter import formatting as fmt
from newsletter.select import DigestContent, DigestItem, SubscriberPrefs


@dataclass(frozen=True, slots=True)
class DigestLinks:
    """The personal links of one subscriber's copy."""

    unsubscribe: str
    preferences: str
    feedback: Mapping[int, tuple[str, str]] = field(default_factory=dict)  # id -> more, fewer
    feed_ics: str = ""  # the reader's personal iCal feed
    feed_atom: str = ""  # the reader's personal Atom feed


@cache
def environment() -> Environment:
    """The Jinja environment of the newsletter templates (autoescape on .html)."""
    env = Environment(
        loader=PackageLoader("newsletter", "templates"),
        autoescape=select_autoescape(["html"], default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["ucfirst"] = lambda value: str(value)[:1].upper() + str(value)[1:]
    env.globals.update(
        day_heading=fmt.day_heading,
        short_day=fmt.short_day,
        time_range=fmt.time_range,
        topic_label=fmt.topic_label,
        rhythm=fmt.rhythm,
        was_label=fmt.was_label,
        t=fmt.text,
    )
    return env


@cache
def _inliner() -> css_inline.CSSInliner:
    return css_inline.CSSInliner(keep_style_tags=True, load_remote_stylesheets=False)


def region_display_name(settings: Settings) -> str:
    """The region's name for people: the region pack's when it exists, else from its slug."""
    try:
        from aggregator.regions import load_region  # type: ignore[attr-defined]

        return str(load_region(settings.region).display_name)
    except Exception:
        return "-".join(part.capitalize() for part in settings.region.split("-"))


def _event_links(item: DigestItem, settings: Settings) -> dict[str, str]:
    event = item.event
    base = settings.base_url.rstrip("/")
    location = ", ".join(x for x in (event.venue, event.address, event.city) if x)
    page = f"{base}/events/{event.id}"
    url = event.url if event.url and event.url.startswith(("https://", "http://")) else page
    details = url
    return {
        "url": url,
        "ics": f"{base}/events/{event.id}.ics",
        "google": fmt.google_calendar_url(
            title=event.title,
            start=event.start if not event.all_day else None,
            end=event.end,
            all_day_start=event.start_date,
            all_day_end=event.end_date,
            details=details,
            location=location,
        ),
    }


def subject_line(content: DigestContent, *, region_name: str) -> str:
    """``Aix-Marseille : 5 événements tech, 30 nov. – 6 déc. 2026``."""
    lang = fmt.lang_of(content.language)
    week = fmt.week_interval(content.week_start, lang)
    count = content.count
    key = "subject_none" if count == 0 else "subject_one" if count == 1 else "subject"
    return fmt.text(lang, key, region=region_name, count=count, week=week)


def render_digest(
    content: DigestContent,
    subscriber: SubscriberPrefs,
    settings: Settings,
    *,
    region_name: str,
    links: DigestLinks,
) -> tuple[str, str]:
    """The ``(html, text)`` bodies of one subscriber's digest."""
    lang = fmt.lang_of(subscriber.language)
    env = environment()
    context = {
        "lang": lang,
        "content": content,
        "region": region_name,
        "week_label": fmt.text(
            lang, "week_label", interval=fmt.week_interval(content.week_start, lang)
        ),
        "links": links,
        "event_links": {
            item.event.id: _event_links(item, settings) for item in content.all_items
        },
        "feedback": links.feedback,
        "legal_line": settings.legal_line,
        "base_url": settings.base_url.rstrip("/"),
    }
    html = env.get_template("digest.html").render(context)
    text = env.get_template("digest.txt").render(context)
    return _inliner().inline(html), text


def render_confirmation(
    settings: Settings, *, language: str, confirm_url: str, region_name: str
) -> tuple[str, str, str]:
    """``(subject, html, text)`` of the double opt-in email."""
    lang = fmt.lang_of(language)
    env = environment()
    context = {
        "lang": lang,
        "region": region_name,
        "confirm_url": confirm_url,
        "legal_line": settings.legal_line,
    }
    html = env.get_template("confirm.html").render(context)
    text = env.get_template("confirm.txt").render(context)
    subject = fmt.text(lang, "confirm_subject", region=region_name)
    return subject, _inliner().inline(html), text


def monday_of(day: date) -> date:
    """The Monday of ``day``'s ISO week."""
    return date.fromordinal(day.toordinal() - day.weekday())
