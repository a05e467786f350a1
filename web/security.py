"""Cross-cutting protections: CSRF tokens, admin sessions, a small rate limiter.

* CSRF: a signed random value in the ``ta_csrf`` cookie, echoed in every form's
  ``csrf_token`` field (double submit; the signature stops injected cookies).
* Admin session: ``ta_admin`` holds a signed, timed ``[admin_id, username,
  session_version]``; a cookie whose version is not the admin's current one (bumped at
  logout and password change) is refused.
  Cookies are HttpOnly, SameSite=Lax, and Secure when the site is served over https.
* Rate limit: an in-memory sliding window per (bucket, client address).
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, MutableMapping
from http.cookies import SimpleCookie
from typing import Any

from fastapi import Request, Response
from itsdangerous import BadSignature, Signer, URLSafeTimedSerializer
from sqlmodel import Session

from aggregator.models import AdminUser
from aggregator.settings import Settings

CSRF_COOKIE = "ta_csrf"
CSRF_FIELD = "csrf_token"
ADMIN_COOKIE = "ta_admin"
ADMIN_SESSION_MAX_AGE = 12 * 3600


class CSRFError(Exception):
    """A form arrived without a valid CSRF token."""


class AdminLoginRequired(Exception):
    """The route needs a logged-in admin."""


class RateLimited(Exception):
    """Too many requests from one address in the window."""

    def __init__(self, retry_after: int) -> None:
        super().__init__("too many requests")
        self.retry_after = retry_after


def cookie_flags(settings: Settings) -> dict[str, Any]:
    """Flags every cookie we set carries."""
    return {
        "httponly": True,
        "samesite": "lax",
        "secure": settings.base_url.startswith("https://"),
        "path": "/",
    }


# --- CSRF ---------------------------------------------------------------------------


def _csrf_signer(settings: Settings) -> Signer:
    return Signer(settings.secret_key, salt="techagenda.csrf")


def new_csrf_token(settings: Settings) -> str:
    return _csrf_signer(settings).sign(secrets.token_urlsafe(24)).decode()


def csrf_cookie_valid(settings: Settings, value: str | None) -> bool:
    if not value:
        return False
    try:
        _csrf_signer(settings).unsign(value)
    except BadSignature:
        return False
    return True


def csrf_token_for(request: Request) -> str:
    """The token to put in this page's forms (set by the middleware)."""
    return str(request.state.csrf_token)


async def require_csrf(request: Request) -> None:
    """Dependency for POST routes: the form's token must equal the signed cookie."""
    cookie = request.cookies.get(CSRF_COOKIE)
    form = await request.form()
    sent = form.get(CSRF_FIELD)
    if (
        not isinstance(sent, str)
        or not csrf_cookie_valid(request.app.state.settings, cookie)
        or not hmac.compare_digest(sent, cookie or "")
    ):
        raise CSRFError()


# --- admin sessions -------------------------------------------------------------------


def _admin_serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret_key, salt="techagenda.admin-session")


def start_admin_session(response: Response, settings: Settings, admin: AdminUser) -> None:
    value = _admin_serializer(settings).dumps([admin.id, admin.username, admin.session_version])
    response.set_cookie(
        ADMIN_COOKIE, str(value), max_age=ADMIN_SESSION_MAX_AGE, **cookie_flags(settings)
    )


def end_admin_session(response: Response, settings: Settings) -> None:
    flags = cookie_flags(settings)
    response.delete_cookie(
        ADMIN_COOKIE, path="/", secure=flags["secure"], httponly=True, samesite="lax"
    )


def current_admin(request: Request, session: Session) -> AdminUser | None:
    """The admin named by a valid session cookie, else None."""
    raw = request.cookies.get(ADMIN_COOKIE)
    if not raw:
        return None
    try:
        data = _admin_serializer(request.app.state.settings).loads(
            raw, max_age=ADMIN_SESSION_MAX_AGE
        )
    except BadSignature:
        return None
    if (
        not isinstance(data, list)
        or len(data) != 3
        or not all(isinstance(x, int) and not isinstance(x, bool) for x in (data[0], data[2]))
        or not 0 < data[0] < 2**63
    ):
        return None
    admin = session.get(AdminUser, data[0])
    if admin is None or admin.username != data[1] or admin.session_version != data[2]:
        return None
    return admin


# --- rate limiting --------------------------------------------------------------------


class RateLimiter:
    """At most ``limit`` hits per ``window`` seconds per key; in memory, per process.

    Memory is bounded: keys are kept in order of their last hit, a key whose last hit
    left the window is forgotten, and past ``max_keys`` the least recently seen go first.
    """

    def __init__(
        self,
        limit: int,
        window: float,
        clock: Callable[[], float] = time.monotonic,
        *,
        max_keys: int = 10_000,
    ) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self.max_keys = max_keys
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._hits)

    def _forget_idle(self, now: float) -> None:
        while self._hits:
            oldest_key, oldest = next(iter(self._hits.items()))
            if oldest and oldest[-1] > now - self.window and len(self._hits) < self.max_keys:
                break
            del self._hits[oldest_key]

    def hit(self, key: str) -> None:
        """Count one hit for ``key``; raise RateLimited when over the limit."""
        now = self.clock()
        with self._lock:
            hits = self._hits.pop(key, None) or deque()
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            self._forget_idle(now)  # room for this key, which goes last: most recent
            self._hits[key] = hits
            if len(hits) >= self.limit:
                raise RateLimited(int(hits[0] + self.window - now) + 1)
            hits.append(now)

    def reset(self, key: str) -> None:
        with self._lock:
            self._hits.pop(key, None)


def client_key(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def limit(request: Request, bucket: str) -> None:
    """Count this request against the app's limiter for ``bucket``."""
    limiters: dict[str, RateLimiter] = request.app.state.limiters
    limiters[bucket].hit(f"{bucket}:{client_key(request)}")


# --- response headers -----------------------------------------------------------------

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; "
    "script-src 'self'; frame-ancestors 'none'; form-action 'self'"
)


def apply_security_headers(response: Response, path: str) -> Response:
    """The headers every answer carries, error pages included (``/docs`` runs Swagger UI's
    inline start-up script, so it gets its own policy)."""
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    if path.startswith("/docs"):
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
            "script-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
        )
    else:
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    return response


Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_DOCS_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self' 'unsafe-inline'; frame-ancestors 'none'"
)
_FIXED = ((b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"same-origin"),
          (b"x-frame-options", b"DENY"))
_PAGE_HEADERS = (*_FIXED, (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()))
_DOCS_HEADERS = (*_FIXED, (b"content-security-policy", _DOCS_POLICY.encode()))


def request_cookie(scope: Scope, name: str) -> str | None:
    """The value of cookie ``name`` in the request's ``Cookie`` header, or None (the last
    one when it is repeated, as ``request.cookies`` reads it)."""
    for key, value in scope.get("headers", ()):
        if key == b"cookie":
            if name.encode() not in value:
                return None
            seen = None
            for part in value.decode("latin-1").split(";"):
                found, sep, text = part.strip().partition("=")
                if sep and found.strip() == name:
                    seen = text.strip().strip('"')
            return seen
    return None


def csrf_set_cookie(settings: Settings, token: str) -> bytes:
    """The ``Set-Cookie`` value that hands ``token`` to the browser (the flags of
    :func:`cookie_flags`, written as Starlette's ``Response.set_cookie`` writes them)."""
    flags = cookie_flags(settings)
    cookie: SimpleCookie = SimpleCookie()
    cookie[CSRF_COOKIE] = token
    cookie[CSRF_COOKIE]["path"] = flags["path"]
    cookie[CSRF_COOKIE]["httponly"] = True
    cookie[CSRF_COOKIE]["samesite"] = flags["samesite"]
    if flags["secure"]:
        cookie[CSRF_COOKIE]["secure"] = True
    return cookie.output(header="").strip().encode("latin-1")


class SecurityHeadersMiddleware:
    """Plain ASGI middleware: every HTTP answer gets the security headers (those a route
    set itself are kept) and a visitor without a valid CSRF cookie gets one; the token for
    this request's forms is ``request.state.csrf_token``. Unlike a ``BaseHTTPMiddleware``
    it wraps ``send`` only: no task group, no re-streamed body, streaming answers untouched.
    """

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.signer = _csrf_signer(settings)

    def _valid(self, value: str | None) -> bool:
        if not value:
            return False
        try:
            self.signer.unsign(value)
        except BadSignature:
            return False
        return True

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cookie = request_cookie(scope, CSRF_COOKIE)
        fresh = not self._valid(cookie)
        token = new_csrf_token(self.settings) if fresh else str(cookie)
        scope.setdefault("state", {})["csrf_token"] = token
        wanted = _DOCS_HEADERS if str(scope.get("path", "")).startswith("/docs") else _PAGE_HEADERS
        set_cookie = csrf_set_cookie(self.settings, token) if fresh else None

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or ())
                present = {bytes(k).lower() for k, _ in headers}
                headers.extend((k, v) for k, v in wanted if k not in present)
                if set_cookie is not None:
                    headers.append((b"set-cookie", set_cookie))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
