"""The admin's "possible duplicates" queue: review-band pairs of the realistic week, listed
with their scores and reasons; "merge" and "not the same" survive the next crawl."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from aggregator.models import PairDecision
from aggregator.settings import Settings
from tests.aggregator import scenario as sc
from tests.support.httpserver import LoopbackHTTPServer
from tests.web.conftest import post_form

WEEK = sc.load("aix-marseille-week")


def _forms(html: str) -> list[str]:
    return re.findall(r'action="(/admin/duplicates/\d+/(?:merge|distinct))"', html)


@pytest.mark.parametrize("decision", ["merge", "distinct"])
def test_review_pairs_are_listed_and_a_decision_survives_the_next_crawl(
    admin_client: TestClient, sqlite_engine: Engine, settings: Settings,
    http_server: LoopbackHTTPServer, decision: str,
) -> None:
    sc.serve(WEEK, http_server)
    with Session(sqlite_engine, expire_on_commit=False) as session:
        sources = sc.add_sources(session, WEEK, http_server)
        sc.crawl(session, WEEK, sources, settings)
        before = sc.assignment(session, sources)
    page = admin_client.get("/admin/events")
    assert 'href="/admin/duplicates"' in page.text  # linked from the admin nav
    page = admin_client.get("/admin/duplicates")
    assert page.status_code == 200
    actions = _forms(page.text)
    assert actions, page.text
    # two meetups at one venue on one evening: the reasons say why they look alike
    assert "Score" in page.text and "same venue" in page.text and "Mistral DevOps" in page.text
    action = next(a for a in actions if a.endswith("/" + decision))
    pair_id = int(action.split("/")[3])
    assert post_form(admin_client, action, {}, follow_redirects=False).status_code == 303
    with Session(sqlite_engine, expire_on_commit=False) as session:
        pair = session.get(PairDecision, pair_id)
        assert pair is not None and pair.decided_by == "admin:camille"
        assert pair.status == ("merged" if decision == "merge" else "distinct")
        # the next crawl: the same documents, a day later
        sc.crawl(session, WEEK, sources, settings, now=WEEK.now + timedelta(days=1))
        after = sc.assignment(session, sources)
        ids = {s.id: f for f, s in sources.items()}
        left, right = (f"{ids[int(k.split(':', 1)[0])]}:{k.split(':', 1)[1]}"
                       for k in (pair.left_key, pair.right_key))
        rows = session.exec(select(PairDecision).where(
            PairDecision.left_key == pair.left_key, PairDecision.right_key == pair.right_key)).all()
        assert [r.status for r in rows] == [pair.status]
    assert (after[left] == after[right]) == (decision == "merge")
    events_before, events_after = len(set(before.values())), len(set(after.values()))
    assert events_after == events_before - (1 if decision == "merge" else 0)
    assert f"/admin/duplicates/{pair_id}/" not in admin_client.get("/admin/duplicates").text
