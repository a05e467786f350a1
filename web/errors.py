"""The one place where errors become HTTP answers.

Our own exception tree (``aggregator.errors``) maps to statuses by class, walking the
class hierarchy so a subclass inherits its parent's status. API paths get JSON, pages
get a short explanatory page in the visitor's language.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from aggregator import errors
from web.rendering import render
from web.security import AdminLoginRequired, CSRFError, RateLimited

STATUS: dict[type[errors.TechagendaError], int] = {
    errors.NotFoundError: 404,
    errors.InvalidInputError: 422,
    errors.InvalidTokenError: 400,
    errors.BlockedURLError: 422,
    errors.FetchError: 502,
    errors.ParseError: 422,
    errors.SourceError: 422,
    errors.MailError: 503,
    errors.StoreError: 503,
    errors.ConfigError: 500,
    errors.TechagendaError: 500,
}


def status_for(exc: errors.TechagendaError) -> int:
    """The HTTP status of one of our errors (nearest mapped class in its MRO)."""
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path.endswith(
        (".ics", ".xml", ".json")
    )


def _error_page(request: Request, status: int, message: str) -> Response:
    if _wants_json(request):
        return JSONResponse({"error": message}, status_code=status)
    return render(request, "error.html", {"status": status, "message": message}, status=status)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(errors.TechagendaError)
    async def _ours(request: Request, exc: errors.TechagendaError) -> Response:
        return _error_page(request, status_for(exc), str(exc))

    @app.exception_handler(CSRFError)
    async def _csrf(request: Request, exc: CSRFError) -> Response:
        return _error_page(
            request, 403, "Formulaire expiré ou invalide : rechargez la page et réessayez."
        )

    @app.exception_handler(RateLimited)
    async def _limited(request: Request, exc: RateLimited) -> Response:
        response = _error_page(request, 429, "Trop de tentatives : réessayez dans un moment.")
        response.headers["Retry-After"] = str(exc.retry_after)
        return response

    @app.exception_handler(AdminLoginRequired)
    async def _login(request: Request, exc: AdminLoginRequired) -> Response:
        if request.method == "GET":
            target = quote(request.url.path)
            return RedirectResponse(f"/admin/login?next={target}", status_code=303)
        return _error_page(request, 401, "Connexion administrateur requise.")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        messages = {404: "Page introuvable.", 405: "Méthode non autorisée."}
        message = messages.get(exc.status_code, str(exc.detail))
        return _error_page(request, exc.status_code, message)
