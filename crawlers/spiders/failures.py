"""Download failures told in words an admin understands (stored as ``Source.last_error``)."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
)
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet import error as twisted_errors
from twisted.python.failure import Failure

from crawlers.middlewares import BlockedRequest


def describe_failure(failure: Failure, settings: Any) -> tuple[int | None, str]:
    """``(http status or None, plain message)`` for a failed request."""
    exc = failure.value
    request = getattr(failure, "request", None)
    url = request.url if request is not None else "the URL"
    if isinstance(exc, HttpError):
        status = exc.response.status
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "error"
        retries = exc.response.meta.get("retry_times", 0) if exc.response.request else 0
        tail = f" (after {retries} retries)" if retries else ""
        return status, f"{url} answered HTTP {status} {phrase}{tail}"
    if isinstance(exc, BlockedRequest):
        return None, str(exc)
    if isinstance(exc, IgnoreRequest):
        text = str(exc)
        if "robots.txt" in text:
            return None, f"the site's robots.txt forbids crawling {url}"
        if "redirect" in text.lower():
            return None, f"{url}: too many redirects"
        return None, f"{url} was skipped: {text or 'request ignored'}"
    if isinstance(exc, DownloadCancelledError) or "max size" in str(exc):
        limit = settings.getint("DOWNLOAD_MAXSIZE")
        return None, f"{url} is larger than the {limit // 1024} KB we download"
    if isinstance(exc, DownloadTimeoutError | twisted_errors.TimeoutError):
        timeout = settings.getfloat("DOWNLOAD_TIMEOUT")
        return None, f"{url} did not answer within {timeout:g} seconds"
    if isinstance(exc, CannotResolveHostError | twisted_errors.DNSLookupError):
        text = str(exc)
        if "refused to fetch" in text:
            return None, text[text.index("refused to fetch") :].rstrip(".")
        return None, f"cannot find the server of {url} (DNS lookup failed)"
    if isinstance(exc, DownloadConnectionRefusedError | twisted_errors.ConnectionRefusedError):
        return None, f"{url}: connection refused (is the site down?)"
    if isinstance(exc, ResponseDataLossError | DownloadFailedError | twisted_errors.ConnectionLost):
        return None, f"{url}: the connection broke before the page was complete"
    if isinstance(exc, twisted_errors.ConnectError):
        return None, f"{url}: cannot connect ({exc})"
    return None, f"{url}: download failed ({type(exc).__name__}: {exc})"
