"""One guarded download, outside Scrapy: ``techagenda extract URL``, the organizer preview,
``sources check``.

Every hop of a redirect chain is checked by :mod:`crawlers.urlsafety` twice: the URL as
written before the request, and the resolved address at connect time (a guarded httpcore
network backend resolves the name, checks every address, then connects to the checked
address while TLS still verifies the original host name). Bodies are streamed under a size
cap (on the decoded bytes, so a compression bomb stops too) and a total time limit.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

import httpcore
import httpx

from aggregator.errors import BlockedURLError, FetchError
from aggregator.settings import Settings
from crawlers.urlsafety import Allowlist, check_url, resolve_checked

MAX_REDIRECTS = 5
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


@dataclass(frozen=True)
class FetchResult:
    """What one fetch returned (after redirects)."""

    url: str
    status: int
    headers: dict[str, str]
    body: bytes
    not_modified: bool = False


def user_agent(settings: Settings) -> str:
    """Our identifying User-Agent, with the contact URL from the settings."""
    return f"techagenda/0.1 (+{settings.user_agent_contact})"


class GuardedBackend(httpcore.NetworkBackend):
    """An httpcore backend that connects only to addresses the allow-list accepts."""

    def __init__(self, allowlist: Allowlist) -> None:
        self.allowlist = allowlist
        self.inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        addresses = resolve_checked(host, port, self.allowlist)
        last: Exception | None = None
        for address in addresses:
            try:
                return self.inner.connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last

    def connect_unix_socket(self, *args: Any, **kwargs: Any) -> httpcore.NetworkStream:
        raise BlockedURLError("refused to connect to a unix socket")

    def sleep(self, seconds: float) -> None:
        self.inner.sleep(seconds)


def guarded_client(settings: Settings, *, timeout: float | None = None) -> httpx.Client:
    """An httpx client whose connections all pass the SSRF guard (no proxies from env)."""
    transport = httpx.HTTPTransport(retries=0)
    transport._pool._network_backend = GuardedBackend(Allowlist.parse(settings.fetch_allowlist))
    return httpx.Client(
        transport=transport,
        timeout=httpx.Timeout(timeout or settings.download_timeout),
        follow_redirects=False,
        trust_env=False,
        headers={
            "User-Agent": user_agent(settings),
            "Accept-Encoding": "gzip, deflate, br",
            "Accept": "text/calendar, application/rss+xml, application/atom+xml, "
            "application/ld+json, text/html;q=0.9, application/xml;q=0.8, */*;q=0.5",
        },
    )


def fetch(
    url: str,
    settings: Settings,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    admin_source: bool = False,
) -> FetchResult:
    """Download ``url`` under our rules; raise FetchError / BlockedURLError in plain words."""
    allowlist = Allowlist.parse(settings.fetch_allowlist)
    check_url(url, allowlist, admin_source=admin_source)
    if urlsplit(url).scheme.lower() == "file":
        return _read_file(url, settings.download_maxsize)
    conditional: dict[str, str] = {}
    if etag:
        conditional["If-None-Match"] = etag
    if last_modified:
        conditional["If-Modified-Since"] = last_modified
    deadline = time.monotonic() + settings.download_timeout
    with guarded_client(settings) as client:
        current = url
        for _hop in range(MAX_REDIRECTS + 1):
            check_url(current, allowlist)
            result = _get_once(client, current, conditional, settings.download_maxsize, deadline)
            if result.status not in REDIRECT_STATUSES:
                return result
            location = result.headers.get("location")
            if not location:
                raise FetchError(f"{current} redirects without a Location", status=result.status)
            current = urljoin(current, location)
        raise FetchError(f"{url}: more than {MAX_REDIRECTS} redirects")


def _get_once(
    client: httpx.Client,
    url: str,
    headers: dict[str, str],
    maxsize: int,
    deadline: float,
) -> FetchResult:
    try:
        with client.stream("GET", url, headers=headers) as response:
            status = response.status_code
            result_headers = {k.lower(): v for k, v in response.headers.items()}
            if status in REDIRECT_STATUSES or status == 304:
                return FetchResult(str(response.url), status, result_headers, b"", status == 304)
            if status >= 400:
                raise FetchError(f"{url} answered HTTP {status}", status=status)
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > maxsize:
                raise FetchError(_too_big(url, maxsize), status=status)
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > maxsize:
                    raise FetchError(_too_big(url, maxsize), status=status)
                if time.monotonic() > deadline:
                    raise FetchError(f"{url} took too long to download", status=status)
                chunks.append(chunk)
            return FetchResult(str(response.url), status, result_headers, b"".join(chunks))
    except BlockedURLError:
        raise
    except (httpx.InvalidURL, UnicodeError) as exc:
        raise FetchError(f"not a valid web address: {url!r}") from exc
    except httpx.TimeoutException as exc:
        raise FetchError(f"{url} did not answer in time") from exc
    except httpx.DecodingError as exc:
        raise FetchError(f"{url} sent a body that does not decompress") from exc
    except httpx.HTTPError as exc:
        cause = exc.__context__ if isinstance(exc.__context__, FetchError) else None
        if cause is not None:
            raise cause from exc
        raise FetchError(f"cannot download {url}: {_plain(exc)}") from exc


def _read_file(url: str, maxsize: int) -> FetchResult:
    path = Path(unquote(urlsplit(url).path))
    try:
        size = path.stat().st_size
        if size > maxsize:
            raise FetchError(_too_big(url, maxsize))
        body = path.read_bytes()
    except OSError as exc:
        raise FetchError(f"cannot read {path}: {exc.strerror}") from exc
    return FetchResult(url, 200, {}, body)


def _too_big(url: str, maxsize: int) -> str:
    return f"{url} is larger than the {maxsize // 1024} KB we download"


def _plain(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    if "Connection refused" in text or "Errno 111" in text:
        return "connection refused"
    return text
