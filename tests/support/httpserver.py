"""A real HTTP server on loopback for tests: static files with ETags plus scripted routes.

server.add("/feed.ics", body, headers={"Content-Type": "text/calendar"})
server.add("/slow", b"...", delay=5)
server.add("/boom", b"", status=500)
server.serve_dir(path, prefix="/files/")   # conditional GET answered with 304
server.url("/feed.ics")  -> "http://127.0.0.1:PORT/feed.ics"
server.requests          -> list of (method, path, headers) seen
"""

from __future__ import annotations

import hashlib
import ipaddress
import mimetypes
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


@dataclass
class Route:
    body: bytes
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    etag: bool = True
    sequence: list[tuple[int, bytes, dict[str, str]]] = field(default_factory=list)


class LoopbackHTTPServer:
    """Serves scripted routes and folders on a loopback address (127.0.0.1 unless told
    another of 127.0.0.0/8, which Linux answers on too) at a free port."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        if not ipaddress.ip_address(host).is_loopback:
            raise ValueError(f"not a loopback address: {host}")
        self.host = host
        self.routes: dict[str, Route] = {}
        self.dirs: list[tuple[str, Path]] = []
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer((host, 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    def url(self, path: str = "/") -> str:
        return f"http://{self.host}:{self.port}{path}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def add(
        self,
        path: str,
        body: bytes | str,
        *,
        status: int = 200,
        headers: dict[str, str] | None = None,
        content_type: str | None = None,
        delay: float = 0.0,
        etag: bool = True,
    ) -> str:
        """Register a route; returns its absolute URL."""
        data = body.encode("utf-8") if isinstance(body, str) else body
        hdrs = dict(headers or {})
        if content_type:
            hdrs["Content-Type"] = content_type
        elif "Content-Type" not in hdrs:
            hdrs["Content-Type"] = mimetypes.guess_type(path)[0] or "application/octet-stream"
        self.routes[path] = Route(data, status, hdrs, delay, etag)
        return self.url(path)

    def add_sequence(self, path: str, responses: list[tuple[int, bytes, dict[str, str]]]) -> str:
        """Answer successive requests with successive (status, body, headers); last repeats."""
        self.routes[path] = Route(b"", sequence=list(responses))
        return self.url(path)

    def serve_dir(self, directory: Path, prefix: str = "/") -> None:
        self.dirs.append((prefix, directory))

    def hits(self, path: str) -> int:
        with self._lock:
            return sum(1 for _m, p, _h in self.requests if p.split("?")[0] == path)

    def _lookup(self, path: str) -> Route | None:
        route = self.routes.get(path) or self.routes.get(path.split("?")[0])
        if route:
            return route
        for prefix, directory in self.dirs:
            if path.startswith(prefix):
                file = (directory / path[len(prefix) :].split("?")[0]).resolve()
                if file.is_file() and directory.resolve() in file.parents:
                    ctype = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
                    return Route(file.read_bytes(), headers={"Content-Type": ctype})
        return None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_HEAD(self) -> None:
                self.do_GET()

            def do_GET(self) -> None:
                with server._lock:
                    server.requests.append(("GET", self.path, dict(self.headers.items())))
                route = server._lookup(self.path)
                if route is None:
                    self._send(404, b"not found", {"Content-Type": "text/plain"})
                    return
                if route.delay:
                    time.sleep(route.delay)
                if route.sequence:
                    status, body, headers = (
                        route.sequence.pop(0) if len(route.sequence) > 1 else route.sequence[0]
                    )
                    self._send(status, body, headers)
                    return
                headers = dict(route.headers)
                if route.etag and route.status == 200:
                    tag = '"' + hashlib.sha1(route.body).hexdigest()[:16] + '"'
                    headers.setdefault("ETag", tag)
                    if self.headers.get("If-None-Match") == headers["ETag"]:
                        self._send(304, b"", {"ETag": headers["ETag"]})
                        return
                self._send(route.status, route.body, headers)

            def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
                try:
                    self.send_response(status)
                    for key, value in headers.items():
                        self.send_header(key, value)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        return Handler
