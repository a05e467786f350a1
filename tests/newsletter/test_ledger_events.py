"""The digest reads the same events as the public agenda."""

from __future__ import annotations

from datetime import date

from sqlmodel import Session

from newsletter.ledger import load_events
from tests.newsletter.conftest import add_event, paris


def test_the_digest_leaves_out_hidden_irrelevant_and_out_of_region_events(
    session: Session,
) -> None:
    keep = add_event(session, "Meetup Kubernetes", paris(2026, 12, 1, 19))
    add_event(session, "Concert de jazz", paris(2026, 12, 1, 20), relevance=0.0)
    add_event(session, "Atelier caché", paris(2026, 12, 2, 18), hidden=True)
    add_event(session, "DevOps Day Lyon", paris(2026, 12, 3, 9), in_region=False, city="Lyon")
    online = add_event(session, "Webinaire CI/CD", paris(2026, 12, 3, 12), in_region=False, online=True)
    titles = {e.title for e in load_events(session, first_day=date(2026, 11, 30))}
    assert titles == {keep.title, online.title}
