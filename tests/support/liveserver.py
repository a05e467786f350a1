"""The web app served by a real uvicorn on a free loopback port, in a thread.

    with serve(lambda base: create_app(settings_for(base), clock=Clock(NOW))) as base:
        page.goto(f"{base}/")

``make_app`` receives the base URL first, so the settings' ``BASE_URL`` (the links in
the mails) names the port the server really listens on.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve(make_app: Callable[[str], Any], *, start_timeout: float = 15.0) -> Iterator[str]:
    """Serve ``make_app(base_url)`` until the block ends; yields the base URL."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = uvicorn.Server(uvicorn.Config(
        make_app(base), host="127.0.0.1", port=port, log_level="warning", lifespan="on",
    ))  # fmt: skip
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + start_timeout
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            server.should_exit = True
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield base
    finally:
        server.should_exit = True
        thread.join(10)
