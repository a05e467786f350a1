"""The API documentation works offline and a human page explains the feeds and the API."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", re.I)


def test_the_api_docs_page_loads_nothing_from_another_host(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    assert not EXTERNAL.search(page.text)
    assert "cdn.jsdelivr" not in page.text and "unpkg" not in page.text
    assets = re.findall(r"""['"](/docs/assets/[^'"]+)['"]""", page.text)
    assert {"/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css"} <= set(assets)
    for asset in assets:
        assert client.get(asset).status_code == 200, asset
    assert "'self'" in page.headers["Content-Security-Policy"]
    assert client.get("/openapi.json").json()["paths"]["/api/events"]


def test_the_developers_page_describes_the_feeds_and_the_api_in_both_languages(
    client: TestClient,
) -> None:
    french = client.get("/developers")
    assert french.status_code == 200
    for path in ("/feed.ics", "/feed.xml", "/api/events", "/docs"):
        assert f'href="{path}' in french.text
    assert "Flux et API" in french.text
    english = client.get("/developers?lang=en")
    assert "Feeds and API" in english.text and "Flux d'agenda" not in english.text
    assert 'href="/developers"' in client.get("/").text
