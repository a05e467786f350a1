"""crawlers.lint: plain-words findings on parsed events, in French and English."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from aggregator.raw import RawEvent, SourceDefaults
from aggregator.regions import Region, load_region
from aggregator.settings import Settings
from crawlers import lint
from crawlers.extract import extract_target

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
LINT = Path(__file__).parent.parent / "data" / "lint"
PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture(scope="module")
def region() -> Region:
    return load_region("aix-marseille")


def parsed(name: str, settings: Settings) -> list[RawEvent]:
    """A test file read as the check reads it: no default timezone, the crawl window."""
    return extract_target(
        str(LINT / name),
        settings,
        defaults=SourceDefaults(timezone=None),
        window_start=NOW - timedelta(days=30),
        window_end=NOW + timedelta(days=180),
    ).events


def codes(findings: list[lint.Finding]) -> set[str]:
    return {f.code for f in findings}


def test_a_sound_meetup_export_has_nothing_to_say(region: Region, settings: Settings) -> None:
    events = parsed("meetup-aix-devops.ics", settings)
    assert len(events) == 4
    assert lint.lint_events(events, region=region, timezone="Europe/Paris", now=NOW) == []
    assert lint.count_upcoming(events, NOW, PARIS) == 3


def test_an_america_new_york_export_for_an_aix_venue_is_an_error(
    region: Region, settings: Settings
) -> None:
    events = parsed("meetup-new-york-zone.ics", settings)
    (finding,) = lint.lint_events(events, region=region, timezone="Europe/Paris", now=NOW)
    assert (finding.code, finding.severity, finding.count) == ("zone_contradiction", "error", 2)
    assert "America/New_York" in finding.message_fr and "Europe/Paris" in finding.message_fr
    assert "times will be shifted" in finding.message_en
    assert finding.examples[0].startswith("IA générative : retours d'expérience (2026-12-08 19:00")


def test_a_foreign_zone_for_an_online_event_is_not_a_contradiction(region: Region) -> None:
    event = RawEvent(
        title="Webinaire Rust",
        start=datetime(2026, 12, 8, 12, 0, tzinfo=ZoneInfo("America/New_York")),
        end=datetime(2026, 12, 8, 13, 0, tzinfo=ZoneInfo("America/New_York")),
        timezone="America/New_York",
        online=True,
    )
    assert lint.lint_events([event], region=region, timezone="Europe/Paris", now=NOW) == []


def test_utc_instants_are_exact_whatever_the_venue(region: Region) -> None:
    event = RawEvent(
        title="Meetup Go Marseille",
        start=datetime(2026, 12, 10, 17, 30, tzinfo=UTC),
        end=datetime(2026, 12, 10, 20, 0, tzinfo=UTC),
        venue="La Coque",
        city="Marseille",
    )
    assert lint.lint_events([event], region=region, timezone="Europe/Paris", now=NOW) == []


def test_a_page_with_floating_times_and_gaps_gets_each_finding_once(
    region: Region, settings: Settings
) -> None:
    events = parsed("asso-floating-times.html", settings)
    findings = lint.lint_events(events, region=region, timezone="Europe/Paris", now=NOW)
    by_code = {f.code: f for f in findings}
    assert set(by_code) == {"floating", "outside", "no_place", "no_end"}
    assert by_code["floating"].count == 2 and "nous avons supposé Europe/Paris" in (
        by_code["floating"].message_fr
    )
    assert by_code["outside"].examples == (
        "Forum des associations numériques d'Avignon (2026-12-12 10:00 +0100)",
    )
    assert by_code["no_place"].count == 1 and by_code["no_end"].severity == "info"
    assert [f.severity for f in findings] == sorted(
        (f.severity for f in findings), key=lint.SEVERITY_ORDER.__getitem__
    )


def test_a_feed_of_past_events_says_nothing_is_coming(region: Region) -> None:
    event = RawEvent(
        title="Hackathon Open Data",
        start=date(2026, 10, 3),
        end=date(2026, 10, 4),
        city="Aix-en-Provence",
    )
    findings = lint.lint_events([event], region=region, timezone="Europe/Paris", now=NOW)
    assert codes(findings) == {"no_future"}
    assert findings[0].message_en.startswith("No upcoming events")


def test_an_all_day_event_still_running_today_is_upcoming() -> None:
    event = RawEvent(title="Salon", start=date(2026, 11, 25), end=date(2026, 11, 27))
    assert lint.is_upcoming(event, NOW, PARIS)


def test_no_events_at_all_is_an_error(region: Region) -> None:
    (finding,) = lint.lint_events([], region=region, timezone=None, now=NOW)
    assert (finding.code, finding.severity) == ("no_events", "error")
    assert finding.message("fr").startswith("Aucun événement trouvé")
    assert finding.message("en").startswith("No events found")


def test_uids_that_change_between_two_fetches_are_flagged() -> None:
    start = datetime(2026, 12, 5, 14, 0, tzinfo=PARIS)
    first = [RawEvent(title="Repair café", start=start, uid="1-a8f3@fab.example")]
    second = [RawEvent(title="Repair  café", start=start, uid="2-a8f3@fab.example")]
    finding = lint.churning_uids(first, second)
    assert finding is not None and (finding.code, finding.count) == ("uid_churn", 1)
    assert finding.examples == ("repair café",)
    assert lint.churning_uids(first, first) is None


def test_robots_txt_forbidding_our_user_agent_is_an_error() -> None:
    robots = "User-agent: techagenda\nDisallow: /agenda/\n\nUser-agent: *\nAllow: /\n"
    agent = "techagenda/0.1 (+https://github.com/techagenda/techagenda)"
    finding = lint.robots_finding(robots, "https://fab.example/agenda/feed.ics", agent)
    assert finding is not None and finding.severity == "error"
    assert "User-agent: techagenda" in finding.message_fr
    assert lint.robots_finding(robots, "https://fab.example/feed.ics", agent) is None
    assert lint.robots_finding("User-agent: *\nDisallow: /\n", "https://x.example/", agent)


def test_http_errors_and_refused_addresses_are_told_apart() -> None:
    gone = lint.fetch_finding("answered HTTP 410", status=410, blocked=False)
    blocked = lint.fetch_finding("a private address", status=None, blocked=True)
    dead = lint.fetch_finding("connection refused", status=None, blocked=False)
    assert [gone.code, blocked.code, dead.code] == ["http_error", "blocked", "unreachable"]
    assert "HTTP 410" in gone.message_fr and "publiques" in blocked.message_fr
