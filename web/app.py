"""The FastAPI application factory: ``create_app(settings)``; ``run`` serves it with uvicorn.

Nothing is built at import time: the engine, region, templates and rate limiters are
made in ``create_app`` from the settings passed in and kept on ``app.state``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Request, Response
from fastapi.staticfiles import StaticFiles

from aggregator.db import make_engine
from aggregator.regions import load_region
from aggregator.settings import Settings
from aggregator.topics import load_taxonomy
from web import admin, admin_gate, exports, organizers, personal, public, subscribers
from web.cache import install_response_cache
from web.errors import install_error_handlers
from web.rendering import make_templates
from web.security import CSRF_COOKIE, RateLimiter, cookie_flags, csrf_cookie_valid, new_csrf_token

STATIC = Path(__file__).parent / "static"


def create_app(settings: Settings, *, clock: Callable[[], datetime] | None = None) -> FastAPI:
    """Build the web app for ``settings`` (one engine, one region, one set of limiters).

    ``clock`` returns the current aware instant; tests pass a fixed one.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        app.state.engine.dispose()

    app = FastAPI(
        lifespan=lifespan,
        title="Techagenda",
        description="Local tech events: agenda, iCalendar/Atom/JSON exports, subscriptions.",
        version="0.1.0",
        docs_url="/docs",
        redoc_url=None,
    )
    region = load_region(settings.region)
    app.state.settings = settings
    app.state.engine = make_engine(settings.db_url)
    app.state.region = region
    app.state.taxonomy = load_taxonomy(region)
    app.state.tz = ZoneInfo(getattr(region, "timezone", None) or settings.timezone)
    app.state.templates = make_templates()
    app.state.templates.env.globals.update(
        personal_feeds=lambda sub: personal.feed_urls(settings, sub),
        personal_text=personal.personal_text,
    )
    app.state.clock = clock or (lambda: datetime.now(UTC))
    app.state.limiters = {
        "subscribe": RateLimiter(5, 600),
        "submit": RateLimiter(10, 600),
        "login": RateLimiter(5, 300),
    }
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    for module in (public, exports, subscribers, personal, organizers, admin, admin_gate):
        app.include_router(module.router)
    install_error_handlers(app)
    install_response_cache(app, app.state.engine)  # inside the security headers below

    @app.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        cookie = request.cookies.get(CSRF_COOKIE)
        fresh = not csrf_cookie_valid(settings, cookie)
        request.state.csrf_token = new_csrf_token(settings) if fresh else cookie
        response = await call_next(request)
        if fresh:
            response.set_cookie(CSRF_COOKIE, request.state.csrf_token, **cookie_flags(settings))
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        if not request.url.path.startswith("/docs"):
            response.headers.setdefault(
                "Content-Security-Policy",
                "default-src 'self'; img-src 'self' data:; style-src 'self'; "
                "script-src 'self'; frame-ancestors 'none'; form-action 'self'",
            )
        return response

    return app


def app_from_environment() -> FastAPI:
    """The app built from the environment: what each uvicorn worker process imports."""
    from aggregator.settings import load_settings

    return create_app(load_settings())


def run(settings: Settings, host: str = "127.0.0.1", port: int = 8000, workers: int = 1) -> None:
    """Serve the app with uvicorn (behind a reverse proxy: trust its X-Forwarded-* headers).

    With ``workers`` > 1, uvicorn starts that many processes, each building the app from
    the same settings passed through the environment.
    """
    import os

    import uvicorn

    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "proxy_headers": True,
        "forwarded_allow_ips": "127.0.0.1",
        "log_level": "info",
    }
    if workers <= 1:
        uvicorn.run(create_app(settings), **options)
        return
    os.environ.update(settings.to_env())
    uvicorn.run("web.app:app_from_environment", factory=True, workers=workers, **options)
