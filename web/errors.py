"""The one place where errors become HTTP answers.

Our own exception tree (``aggregator.errors``) maps to statuses by class, walking the
class hierarchy so a subclass inherits its parent's status. API paths get JSON, pages
get a short explanatory page in the visitor's language, with the security headers.

A page only ever shows messages written for people: a French source string of the
English catalogue (``web/translations_en.py``). Anything else (a developer's English
text, a validator's message) gives way to the status's own explanation.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import DataError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from aggregator import errors
from web.i18n import PHRASES, request_language, translator
from web.rendering import render
from web.security import (
    CSRF_FIELD,
    AdminLoginRequired,
    CSRFError,
    RateLimited,
    apply_security_headers,
    new_csrf_token,
)
from web.translations_en import EN

log = logging.getLogger(__name__)

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

# What a page says for each status when the error carries no message written for people.
HEADLINES: dict[int, tuple[str, str]] = {
    400: ("Lien invalide", "Ce lien n'est pas ou plus valide."),
    401: ("Connexion requise", "Connexion administrateur requise."),
    403: ("Accès refusé", "Formulaire expiré ou invalide : rechargez la page et réessayez."),
    404: ("Page introuvable", "Page introuvable."),
    405: ("Méthode non autorisée", "Méthode non autorisée."),
    422: ("Demande incomplète", "Certaines valeurs envoyées ne sont pas valides."),
    429: ("Trop de tentatives", "Trop de tentatives : réessayez dans un moment."),
    500: ("Erreur du serveur", "Une erreur inattendue s'est produite. Réessayez plus tard."),
    502: ("Source injoignable", "La page demandée n'a pas pu être lue. Réessayez plus tard."),
    503: ("Service occupé", "Le service est momentanément occupé. Réessayez dans un instant."),
}
REFUSED = ("Demande refusée", "Cette demande n'a pas pu aboutir.")  # any other 4xx


def headline(status: int) -> tuple[str, str]:
    """(title, explanation) a page shows for ``status``."""
    return HEADLINES.get(status) or (REFUSED if 400 <= status < 500 else HEADLINES[500])


BUSY_RETRY_AFTER = 5  # seconds a visitor should wait when the database is busy
SECRET_FIELDS = {"password", "current_password", "new_password", CSRF_FIELD}

# Validator error types (pydantic) -> a French message (a catalogue key).
VALIDATION_MESSAGES = {
    "missing": "Ce champ est obligatoire.",
    "int_parsing": "Entrez un nombre entier.",
    "int_from_float": "Entrez un nombre entier.",
    "float_parsing": "Entrez un nombre.",
    "greater_than": "Ce nombre est trop petit.",
    "greater_than_equal": "Ce nombre est trop petit.",
    "less_than": "Ce nombre est trop grand.",
    "less_than_equal": "Ce nombre est trop grand.",
    "string_too_long": "Ce texte est trop long.",
    "string_too_short": "Ce texte est trop court.",
    "too_long": "Trop de valeurs.",
    "date_parsing": "Date invalide : utilisez le format AAAA-MM-JJ.",
    "date_from_datetime_parsing": "Date invalide : utilisez le format AAAA-MM-JJ.",
    "datetime_parsing": "Date ou heure invalide.",
    "time_parsing": "Heure invalide : utilisez le format HH:MM.",
    "bool_parsing": "Choix invalide.",
    "literal_error": "Choix invalide.",
    "enum": "Choix invalide.",
}
PLACES = {"query": "Adresse de la page", "path": "Adresse de la page", "body": "Formulaire"}


def status_for(exc: errors.TechagendaError) -> int:
    """The HTTP status of one of our errors (nearest mapped class in its MRO)."""
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def human_message(message: str | None, status: int) -> str:
    """``message`` when it was written for people (a catalogue key), else the status's."""
    if message and message in EN:
        return message
    for pattern, key in PHRASES:
        if message and pattern.fullmatch(message) and "{" not in key:
            return key
    return headline(status)[1]


def validation_problems(exc: RequestValidationError) -> list[tuple[str, str, str]]:
    """(place, field, French message) for each of a validator's complaints. Pure."""
    found = []
    for error in exc.errors():
        loc = [str(part) for part in error.get("loc", ())]
        place = PLACES.get(loc[0] if loc else "", "Formulaire")
        name = loc[-1] if len(loc) > 1 else ""
        found.append((place, name, VALIDATION_MESSAGES.get(error.get("type", ""),
                                                           "Valeur invalide.")))
    return found


def wants_json(request: Request) -> bool:
    """API, feeds and machine-readable paths answer errors in JSON."""
    path = request.url.path
    return path.startswith(("/api/", "/openapi")) or path.endswith((".ics", ".xml", ".json"))


def _plain_page(request: Request, status: int) -> HTMLResponse:
    """A page that needs no template (when rendering itself failed)."""
    lang = request_language(request)
    _ = translator(lang)
    title, text = headline(status)
    back = _("Retour à l'agenda")
    body = (f'<!doctype html><html lang="{lang}"><meta charset="utf-8"><title>{_(title)}</title>'
            f'<h1>{_(title)}</h1><p>{_(text)}</p><p><a href="/">{back}</a></p>')
    return HTMLResponse(body, status_code=status)


def error_page(
    request: Request,
    status: int,
    message: str | None = None,
    *,
    json_message: str | None = None,
    context: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """The answer for an error: JSON for machine paths, else a page in the visitor's
    language; always with the security headers."""
    response: Response
    if wants_json(request):
        text = json_message or message or headline(status)[1]
        response = JSONResponse({"error": text}, status_code=status)
    else:
        if not hasattr(request.state, "csrf_token"):
            request.state.csrf_token = new_csrf_token(request.app.state.settings)
        title = headline(status)[0]
        page = {"status": status, "title": title, "message": human_message(message, status),
                **(context or {})}
        try:
            response = render(request, "error.html", page, status=status)
        except Exception:  # the error page must never fail in turn
            log.exception("error page failed to render")
            response = _plain_page(request, status)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return apply_security_headers(response, request.url.path)


async def _submitted_fields(request: Request) -> list[tuple[str, str]]:
    """The text fields of the form being answered (secrets left out), to send again."""
    if request.method != "POST":
        return []
    try:
        form = await request.form()
    except Exception:
        return []
    return [(k, v) for k, v in form.multi_items() if isinstance(v, str) and k not in SECRET_FIELDS]


def is_database_busy(exc: OperationalError) -> bool:
    text = str(exc.orig if exc.orig is not None else exc).lower()
    return "locked" in text or "busy" in text


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(errors.TechagendaError)
    async def _ours(request: Request, exc: errors.TechagendaError) -> Response:
        status = status_for(exc)
        context: dict[str, Any] = {}
        if isinstance(exc, errors.InvalidTokenError):
            context = {"new_link": True, "expired": bool(getattr(exc, "expired", False))}
        headers = {"Retry-After": str(BUSY_RETRY_AFTER)} if status == 503 else None
        return error_page(request, status, str(exc), context=context, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        if wants_json(request):
            response = await request_validation_exception_handler(request, exc)
            return apply_security_headers(response, request.url.path)
        context = {"problems": validation_problems(exc), "retry": await _submitted_fields(request)}
        return error_page(request, 422, None, context=context)

    @app.exception_handler(CSRFError)
    async def _csrf(request: Request, exc: CSRFError) -> Response:
        return error_page(
            request, 403, "Formulaire expiré ou invalide : rechargez la page et réessayez.",
            context={"retry": await _submitted_fields(request)},
        )

    @app.exception_handler(RateLimited)
    async def _limited(request: Request, exc: RateLimited) -> Response:
        return error_page(
            request, 429, "Trop de tentatives : réessayez dans un moment.",
            context={"retry": await _submitted_fields(request), "retry_after": exc.retry_after},
            headers={"Retry-After": str(exc.retry_after)},
        )

    @app.exception_handler(AdminLoginRequired)
    async def _login(request: Request, exc: AdminLoginRequired) -> Response:
        if request.method == "GET":
            target = quote(request.url.path)
            return RedirectResponse(f"/admin/login?next={target}", status_code=303)
        return error_page(request, 401, "Connexion administrateur requise.")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        return error_page(request, exc.status_code, None, json_message=str(exc.detail),
                          headers=dict(exc.headers or {}))

    @app.exception_handler(OperationalError)
    async def _database(request: Request, exc: OperationalError) -> Response:
        if is_database_busy(exc):
            return error_page(request, 503, None, json_message="database busy, retry later",
                              headers={"Retry-After": str(BUSY_RETRY_AFTER)})
        log.error("database error on %s", request.url.path, exc_info=exc)
        return error_page(request, 500, None)

    @app.exception_handler(OverflowError)
    @app.exception_handler(DataError)
    async def _out_of_range(request: Request, exc: Exception) -> Response:
        # A number past what the database stores (an id past 2**63): no row has it.
        return error_page(request, 404, None, json_message="not found")

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.error("unexpected error on %s", request.url.path, exc_info=exc)
        return error_page(request, 500, None, json_message="internal error")
