"""Scale fixtures: the local Redis under a key prefix of the test's own (deleted after)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest


def redis_url() -> str:
    """TEST_REDIS_URL (default the local Redis), or a skip (a failure when CI=true)."""
    import redis

    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis at {url} does not answer but CI=true: {exc}")
        pytest.skip(f"Redis tests skipped: {url} does not answer (set TEST_REDIS_URL)")
    return url


@pytest.fixture
def redis_queue() -> Iterator[tuple[str, str]]:
    """(REDIS_URL, a queue key unique to this test); every key under it is deleted after."""
    import redis

    url = redis_url()
    queue = f"techagenda:test:{uuid.uuid4().hex[:12]}"
    yield url, queue
    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter(match=f"{queue}*", count=500))
    if keys:
        client.delete(*keys)
    client.close()
