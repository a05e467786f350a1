"""The FastAPI application factory: ``create_app(settings)``; ``run`` serves it with uvicorn.

Nothing is built at import time: the engine, region, templates and rate limiters are
made in ``create_app`` from the settings passed in and kept on ``app.state``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import event
from swagger_ui_bundle import swagger_ui_path

from aggregator.db import make_engine
from aggregator.regions import load_region
from aggregator.settings import Settings
from aggregator.timeutil import zone
from aggregator.topics import load_taxonomy
from web import (
    admin,
    admin_gate,
    exports,
    new_link,
    organizers,
    personal,
    public,
    subscribers,
)
from web.cache import install_response_cache
from web.errors import install_error_handlers
from web.present import subscribe_links
from web.rendering import make_templates
from web.security import RateLimiter, SecurityHeadersMiddleware

STATIC = Path(__file__).parent / "static"
WEB_BUSY_TIMEOUT_MS = 5000  # how long a page waits on a locked SQLite file before a 503


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
        docs_url=None,  # served below from the bundled assets: no CDN, works offline
        redoc_url=None,
    )
    region = load_region(settings.region)
    app.state.settings = settings
    app.state.engine = make_engine(settings.db_url)
    app.state.busy_timeout_ms = WEB_BUSY_TIMEOUT_MS
    if app.state.engine.dialect.name == "sqlite":

        @event.listens_for(app.state.engine, "connect")
        def _web_busy_timeout(dbapi_connection: Any, _record: Any) -> None:
            # A visitor waits a few seconds for a busy database, then gets a 503 page.
            cursor = dbapi_connection.cursor()
            cursor.execute(f"PRAGMA busy_timeout={int(app.state.busy_timeout_ms)}")
            cursor.close()

    app.state.region = region
    app.state.taxonomy = load_taxonomy(region)
    app.state.tz = zone(getattr(region, "timezone", None), settings.timezone)
    app.state.templates = make_templates()
    app.state.templates.env.globals.update(
        personal_feeds=lambda sub: personal_feed_links(settings, region, sub),
        personal_text=personal.personal_text,
        inbox_waiting=admin.admin_inbox.waiting_badge,  # the admin menu's inbox count
    )
    app.state.clock = clock or (lambda: datetime.now(UTC))
    app.state.limiters = {
        "subscribe": RateLimiter(5, 600),
        "submit": RateLimiter(10, 600),
        "login": RateLimiter(5, 300),
    }
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    app.mount("/docs/assets", StaticFiles(directory=swagger_ui_path), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def api_docs() -> HTMLResponse:
        """Swagger UI from the ``swagger-ui-bundle`` package's files, served by us."""
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} API",
            swagger_js_url="/docs/assets/swagger-ui-bundle.js",
            swagger_css_url="/docs/assets/swagger-ui.css",
            swagger_favicon_url="/docs/assets/favicon-32x32.png",
            swagger_ui_parameters={"validatorUrl": None},  # no badge from validator.swagger.io
        )

    for module in (
        public, exports, subscribers, personal, organizers, new_link, admin, admin_gate
    ):
        app.include_router(module.router)
    install_error_handlers(app)
    install_response_cache(app, app.state.engine)  # inside the security headers below
    app.add_middleware(SecurityHeadersMiddleware, settings=settings)  # outermost of ours
    return app


def personal_feed_links(settings: Settings, region: Any, sub: Any) -> dict[str, str]:
    """A subscriber's feed URLs plus the links that add the calendar to an app."""
    urls = personal.feed_urls(settings, sub)
    name = f"Agenda tech {region.display_name}"
    return {**urls, **subscribe_links(urls["ics"], name)}


def app_from_environment() -> FastAPI:
    """The app built from the environment: what each uvicorn worker process imports."""
    from aggregator.settings import load_settings

    return create_app(load_settings())


def default_workers() -> int:
    """One worker per core this process may run on (its CPU affinity, which a container's
    cpuset narrows; ``os.cpu_count()`` where that is not known)."""
    import os

    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


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
