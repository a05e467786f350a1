"""How an Event is shown: map links, calendar links, schema.org JSON-LD. Pure functions."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from aggregator.models import Event, EventStatus

SCHEMA_STATUS = {
    EventStatus.scheduled: "https://schema.org/EventScheduled",
    EventStatus.tentative: "https://schema.org/EventScheduled",
    EventStatus.postponed: "https://schema.org/EventPostponed",
    EventStatus.cancelled: "https://schema.org/EventCancelled",
}


def place_text(event: Event) -> str:
    """Venue, address and town in one line, without repeats."""
    parts: list[str] = []
    for value in (event.venue, event.address, event.city):
        if value and value.strip() and all(value.strip() not in p for p in parts):
            parts.append(value.strip())
    return ", ".join(parts)


def map_url(event: Event) -> str | None:
    """An OpenStreetMap link: the pin when we have coordinates, else a search."""
    if event.latitude is not None and event.longitude is not None:
        lat, lon = f"{event.latitude:.5f}", f"{event.longitude:.5f}"
        return f"https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=17/{lat}/{lon}"
    place = place_text(event)
    if not place or (event.online and not event.venue):
        return None
    return "https://www.openstreetmap.org/search?" + urlencode({"query": place})


def _gcal_stamp(value: datetime | date) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return value.strftime("%Y%m%d")


def google_calendar_url(event: Event, page_url: str) -> str | None:
    """A 'add to Google Calendar' link (the .ics covers every other calendar)."""
    if event.all_day and event.start_date:
        end = (event.end_date or event.start_date) + timedelta(days=1)
        dates = f"{_gcal_stamp(event.start_date)}/{_gcal_stamp(end)}"
    elif event.start:
        end_dt = event.end or event.start + timedelta(hours=2)
        dates = f"{_gcal_stamp(event.start)}/{_gcal_stamp(end_dt)}"
    else:
        return None
    params = {
        "action": "TEMPLATE",
        "text": event.title,
        "dates": dates,
        "details": page_url,
        "location": place_text(event),
    }
    return "https://calendar.google.com/calendar/render?" + urlencode(params)


def event_jsonld(event: Event, page_url: str, source_urls: list[str]) -> dict[str, Any]:
    """The schema.org Event describing one of our events."""
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "Event",
        "name": event.title,
        "url": page_url,
        "eventStatus": SCHEMA_STATUS.get(
            EventStatus(event.status), SCHEMA_STATUS[EventStatus.scheduled]
        ),
    }
    if event.all_day and event.start_date:
        data["startDate"] = event.start_date.isoformat()
        if event.end_date:
            data["endDate"] = event.end_date.isoformat()
    elif event.start:
        data["startDate"] = event.start.isoformat()
        if event.end:
            data["endDate"] = event.end.isoformat()
    if event.description_text:
        data["description"] = event.description_text[:1000]
    if event.online:
        data["eventAttendanceMode"] = (
            "https://schema.org/MixedEventAttendanceMode"
            if event.venue
            else "https://schema.org/OnlineEventAttendanceMode"
        )
    else:
        data["eventAttendanceMode"] = "https://schema.org/OfflineEventAttendanceMode"
    if event.venue or event.address or event.city:
        place: dict[str, Any] = {"@type": "Place", "name": event.venue or event.city}
        address = {
            "@type": "PostalAddress",
            "streetAddress": event.address,
            "addressLocality": event.city,
            "postalCode": event.postcode,
            "addressCountry": "FR",
        }
        place["address"] = {k: v for k, v in address.items() if v}
        if event.latitude is not None and event.longitude is not None:
            place["geo"] = {
                "@type": "GeoCoordinates",
                "latitude": event.latitude,
                "longitude": event.longitude,
            }
        data["location"] = place
    elif event.online:
        data["location"] = {"@type": "VirtualLocation", "url": event.url or page_url}
    if event.organizer:
        data["organizer"] = {"@type": "Organization", "name": event.organizer}
    if event.image:
        data["image"] = event.image
    if source_urls:
        data["sameAs"] = source_urls
    return data


def webcal_url(ics_url: str) -> str:
    """The ``webcal://`` form of a calendar feed URL (calendar apps subscribe to it)."""
    scheme, _, rest = ics_url.partition("://")
    return f"webcal://{rest}" if scheme in ("http", "https") else ics_url


def subscribe_links(ics_url: str, name: str) -> dict[str, str]:
    """Links that subscribe a calendar app to the feed at ``ics_url``: Apple (and every
    app handling webcal://), Google Calendar, Outlook.com."""
    webcal = webcal_url(ics_url)
    return {
        "webcal": webcal,
        "apple": webcal,
        "google": "https://calendar.google.com/calendar/r?" + urlencode({"cid": webcal}),
        "outlook": "https://outlook.live.com/calendar/0/addfromweb?"
        + urlencode({"url": ics_url, "name": name}),
    }
