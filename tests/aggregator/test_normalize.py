"""normalize: titles, descriptions, URLs, times (DST edges included) and its properties."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aggregator.normalize import (
    as_raw,
    canonical_url,
    clean_title,
    clean_url,
    html_to_text,
    normalize,
    sanitize_html,
)
from aggregator.raw import RawEvent, SourceDefaults
from aggregator.regions import load_region

REGION = load_region("aix-marseille")
PARIS = SourceDefaults(timezone="Europe/Paris", language="fr")


def norm(**fields):
    fields.setdefault("title", "Meetup")
    fields.setdefault("start", datetime(2026, 12, 3, 19, 0))
    return normalize(RawEvent(**fields), defaults=PARIS, region=REGION)


# ---------------------------------------------------------------- titles


def test_shouted_titles_get_sentence_case_but_keep_acronyms() -> None:
    assert clean_title("MEETUP JUG : KOTLIN ET IA AVEC AWS") == "Meetup JUG : Kotlin et IA avec AWS"
    assert clean_title("SOIRÉE DEVOPS & PHP À MARSEILLE", REGION) == "Soirée DevOps & PHP à Marseille"
    assert clean_title("ATELIER PYTHON À AIX-EN-PROVENCE ET AUBAGNE", REGION) == (
        "Atelier Python à Aix-en-Provence et Aubagne"  # the pack's place words
    )
    assert clean_title("SOIRÉE DEVOPS & PHP À MARSEILLE") == "Soirée DevOps & PHP à marseille"


def test_titles_lose_entities_tags_whitespace_and_trailing_site_names() -> None:
    assert clean_title("  Hack &amp;amp; Pizza\n <b>CTF</b>  | Meetup") == "Hack & Pizza CTF"
    assert clean_title("Atelier Arduino - Eventbrite") == "Atelier Arduino"
    assert clean_title("Install party – Agenda du Libre") == "Install party"


def test_a_title_in_mixed_case_is_left_as_written() -> None:
    assert clean_title("GDG Marseille : DevFest warm-up") == "GDG Marseille : DevFest warm-up"


def test_a_cancelled_prefix_sets_the_status_and_leaves_the_title() -> None:
    event = norm(title="[ANNULÉ] Meetup WordPress Marseille")
    assert event.status == "cancelled"
    assert event.title == "Meetup WordPress Marseille"


# ---------------------------------------------------------------- descriptions


def test_descriptions_keep_a_small_safe_subset_and_links_get_nofollow() -> None:
    html = (
        '<div><h1>Programme</h1><p onclick="x()">Venez <b>coder</b> <i>ensemble</i></p>'
        '<script>alert(1)</script><img src="x.png"><a href="https://ex.org/a" '
        'target="_blank">inscription</a> <a href="javascript:alert(1)">piège</a></div>'
    )
    clean = sanitize_html(html)
    assert clean is not None
    assert "<script" not in clean and "alert" not in clean and "onclick" not in clean
    assert "<img" not in clean and "<h1>" not in clean and "javascript:" not in clean
    assert "<strong>coder</strong>" in clean and "<em>ensemble</em>" in clean
    assert '<a href="https://ex.org/a" rel="nofollow noopener">inscription</a>' in clean


def test_plain_text_descriptions_become_paragraphs_and_a_text_version_is_kept() -> None:
    clean = sanitize_html("Ligne 1\nLigne 2\n\nPrix : 5 € < 10 €")
    assert clean == "<p>Ligne 1<br>Ligne 2</p><p>Prix : 5 € &lt; 10 €</p>"
    assert html_to_text(clean) == "Ligne 1\nLigne 2\n\nPrix : 5 € < 10 €"


# ---------------------------------------------------------------- URLs


def test_canonical_urls_drop_tracking_fragments_www_and_trailing_slashes() -> None:
    url = "HTTP://WWW.Meetup.com/aixtech-org/events/301/?utm_source=nl&fbclid=Zx&b=2&a=1#top"
    assert canonical_url(url) == "https://meetup.com/aixtech-org/events/301?a=1&b=2"
    assert clean_url(url) == "http://www.meetup.com/aixtech-org/events/301/?b=2&a=1"
    assert clean_url("javascript:alert(1)") is None
    assert canonical_url("https://ex.org/e?gclid=1&mc_cid=2&ref=home&_ga=3") == "https://ex.org/e"


def test_external_id_prefers_the_uid_then_the_canonical_url_then_a_stable_hash() -> None:
    assert norm(uid="abc@meetup.com").external_id == "abc@meetup.com"
    assert norm(url="https://ex.org/e/1/?utm_source=x").external_id == "https://ex.org/e/1"
    first, again = norm(title="Apéro Python"), norm(title="APÉRO  PYTHON")
    assert first.external_id == again.external_id
    assert first.external_id.startswith("h:")


# ---------------------------------------------------------------- times


def test_a_floating_time_takes_the_source_timezone() -> None:
    event = norm(start=datetime(2026, 12, 3, 19, 0))
    assert event.start == datetime(2026, 12, 3, 18, 0, tzinfo=UTC)
    assert event.timezone == "Europe/Paris"
    montreal = normalize(
        RawEvent(title="Meetup", start=datetime(2026, 12, 3, 19, 0)),
        defaults=SourceDefaults(timezone="America/Toronto"),
        region=REGION,
    )
    assert montreal.start == datetime(2026, 12, 4, 0, 0, tzinfo=UTC)


def test_a_declared_timezone_beats_the_source_default() -> None:
    event = norm(start=datetime(2026, 7, 1, 9, 0), timezone="America/New_York")
    assert event.start == datetime(2026, 7, 1, 13, 0, tzinfo=UTC)
    assert event.timezone == "America/New_York"


def test_a_nonexistent_local_time_in_the_spring_gap_moves_forward_by_the_gap() -> None:
    # 02:30 on 29 March 2026 does not exist in Paris: read with the pre-gap offset (+01:00).
    event = norm(start=datetime(2026, 3, 29, 2, 30))
    assert event.start == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert event.start.astimezone(ZoneInfo("Europe/Paris")).hour == 3


def test_an_ambiguous_local_time_in_the_autumn_overlap_is_the_first_occurrence() -> None:
    # 02:30 on 25 October 2026 happens twice in Paris: the first one, still CEST (+02:00).
    event = norm(start=datetime(2026, 10, 25, 2, 30))
    assert event.start == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)


def test_all_day_events_stay_dates_with_an_inclusive_end() -> None:
    event = norm(start=date(2026, 12, 5), end=date(2026, 12, 6))
    assert event.all_day
    assert (event.start_date, event.end_date) == (date(2026, 12, 5), date(2026, 12, 6))
    assert event.start == datetime(2026, 12, 4, 23, 0, tzinfo=UTC)  # local midnight
    single = norm(start=date(2026, 12, 5))
    assert single.end_date == date(2026, 12, 5)


def test_a_missing_end_stays_unknown() -> None:
    assert norm(start=datetime(2026, 12, 3, 19, 0)).end is None


def test_an_end_before_the_start_is_flagged_and_dropped_not_swapped() -> None:
    event = norm(start=datetime(2026, 12, 3, 19, 0), end=datetime(2026, 12, 3, 17, 0))
    assert event.end_before_start
    assert event.end is None
    assert event.start == datetime(2026, 12, 3, 18, 0, tzinfo=UTC)


def test_an_unknown_timezone_name_falls_back_to_the_source_default() -> None:
    event = norm(start=datetime(2026, 12, 3, 19, 0), timezone="Mars/Olympus_Mons")
    assert event.timezone == "Europe/Paris"


# ---------------------------------------------------------------- place, topics


def test_place_fields_are_matched_against_the_gazetteer() -> None:
    event = norm(city="AIX EN PROVENCE", postcode="13100")
    assert (event.city, event.insee, event.in_region) == ("Aix-en-Provence", "13001", True)
    away = norm(city="Arles", postcode="13200")
    assert not away.in_region and away.insee is None


def test_online_is_read_from_the_meeting_url_and_from_words() -> None:
    assert norm(online_url="https://us02web.zoom.us/j/8812").online
    assert norm(title="Webinaire : Terraform").online
    assert norm(description="Événement 100 % en ligne, lien envoyé la veille").online
    assert norm(title="Atelier", city="Marseille").online is False
    assert norm(description="Inscription en ligne obligatoire", city="Marseille").online is False


def test_topics_and_relevance_come_from_the_taxonomy() -> None:
    event = norm(title="Kubernetes et IA générative", description="Avec Docker et Python.")
    assert "cloud-devops" in event.topics and "ia-data" in event.topics
    assert event.relevance >= 2.0
    concert = norm(title="Concert de jazz au parc")
    assert concert.topics == () and concert.relevance < 0  # clearly off topic (a concert)


# ---------------------------------------------------------------- properties

text = st.text(max_size=200)
maybe_text = st.none() | text
naive_times = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2090, 1, 1))
zones = st.sampled_from(["Europe/Paris", "America/Toronto", "Asia/Kolkata", "UTC", None, "bogus"])
starts = naive_times | st.dates(min_value=date(1990, 1, 1), max_value=date(2090, 1, 1)) | (
    naive_times.map(lambda d: d.replace(tzinfo=timezone(timedelta(hours=5, minutes=30))))
)

raw_events = st.builds(
    RawEvent,
    title=text,
    start=st.none() | starts,
    end=st.none() | starts,
    timezone=zones,
    uid=maybe_text,
    url=st.none() | st.sampled_from(["https://ex.org/a?utm_source=x", "ftp://x", "::"]) | text,
    description=maybe_text,
    venue=maybe_text,
    address=maybe_text,
    city=st.none() | st.sampled_from(["Marseille", "AIX", "13006", "Arles"]) | text,
    postcode=maybe_text,
    latitude=st.none() | st.floats(allow_nan=True, allow_infinity=True),
    longitude=st.none() | st.floats(allow_nan=True, allow_infinity=True),
    online=st.none() | st.booleans(),
    status=maybe_text,
    categories=st.lists(text, max_size=3).map(tuple),
)

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(raw_events)
def test_normalize_never_raises_on_arbitrary_input(raw: RawEvent) -> None:
    event = normalize(raw, defaults=PARIS, region=REGION)
    assert event.title
    assert event.start is None or event.start.utcoffset() == timedelta(0)
    assert event.end is None or event.start is None or event.end >= event.start


@FAST
@given(raw_events)
def test_normalizing_a_normalized_event_again_changes_nothing(raw: RawEvent) -> None:
    once = normalize(raw, defaults=PARIS, region=REGION)
    # A normalized event keeps topics, not the source's categories: hand those back.
    twice = normalize(as_raw(once).with_(categories=raw.categories), defaults=PARIS, region=REGION)
    # end_before_start describes the *source's* data (its end was dropped): not carried over.
    ignored = {"end_before_start", "content_hash"}
    assert {k: v for k, v in twice.to_json().items() if k not in ignored} == {
        k: v for k, v in once.to_json().items() if k not in ignored
    }
    if not once.end_before_start:
        assert twice.content_hash == once.content_hash


@FAST
@given(naive_times, st.sampled_from(["Europe/Paris", "America/Toronto", "Australia/Sydney"]))
def test_a_local_time_survives_the_round_trip_through_utc(local: datetime, tz: str) -> None:
    event = normalize(
        RawEvent(title="Meetup", start=local, timezone=tz), defaults=PARIS, region=REGION
    )
    assert event.start is not None
    back = event.start.astimezone(ZoneInfo(event.timezone)).replace(tzinfo=None)
    exists = local.replace(tzinfo=ZoneInfo(tz)).astimezone(UTC).astimezone(ZoneInfo(tz))
    if exists.replace(tzinfo=None) == local:  # not inside a DST gap
        assert back == local
    else:
        assert back - local == exists.replace(tzinfo=None) - local


def test_the_listing_page_url_is_not_the_identity_of_the_events_it_lists() -> None:
    from aggregator.normalize import normalize
    from aggregator.raw import RawEvent, SourceDefaults
    from aggregator.regions import load_region

    page = "https://agenda.example.fr/bibliotheque?utm_source=x"
    region = load_region("aix-marseille")
    talks = [
        RawEvent(title=title, start=datetime(2026, 12, 5, 14, 0), url=page, source_url=page)
        for title in ("Atelier Python", "Café numérique : mots de passe")
    ]
    first, second = (normalize(t, defaults=SourceDefaults(), region=region) for t in talks)
    assert first.external_id != second.external_id
    assert first.canonical_url is None and second.canonical_url is None
    assert first.url == "https://agenda.example.fr/bibliotheque"  # still the link to follow
