"""Jinja environment and the one ``render`` helper every page goes through."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from markupsafe import Markup

from web.i18n import LANGUAGES, Formatter, request_language, translate_phrases, translator
from web.security import CSRF_FIELD, cookie_flags, csrf_token_for

TEMPLATES = Path(__file__).parent / "templates"


def make_templates() -> Jinja2Templates:
    """Templates with autoescape on (the Jinja2Templates default for .html)."""
    templates = Jinja2Templates(directory=str(TEMPLATES))
    templates.env.filters["jsonld"] = jsonld_script
    templates.env.filters["human"] = human_text
    templates.env.globals["CSRF_FIELD"] = CSRF_FIELD
    return templates


@pass_context
def human_text(context: Any, text: str | None) -> str:
    """Jinja filter: a library's English message said in the page language."""
    return translate_phrases(text, context.get("lang", "fr"))


def jsonld_script(data: Any) -> Markup:
    """JSON for a ``<script type="application/ld+json">``: ``<``, ``>`` and ``&`` escaped
    as unicode so no source text can close the script element."""
    text = json.dumps(data, ensure_ascii=False, default=str)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(text)


def page_context(request: Request) -> dict[str, Any]:
    """What every page needs: language, translator, formatter, CSRF token, region."""
    lang = request_language(request)
    state = request.app.state
    other = next(code for code in LANGUAGES if code != lang)
    params = dict(request.query_params)
    params["lang"] = other
    return {
        "request": request,
        "lang": lang,
        "_": translator(lang),
        "fmt": Formatter(lang, state.tz),
        "csrf_token": csrf_token_for(request),
        "region": state.region,
        "settings": state.settings,
        "switch_lang": other,
        "switch_url": f"{request.url.path}?{urlencode(params)}",
    }


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, status: int = 200
) -> HTMLResponse:
    ctx = page_context(request)
    ctx.update(context or {})
    templates: Jinja2Templates = request.app.state.templates
    response = templates.TemplateResponse(request, template, ctx, status_code=status)
    if request.query_params.get("lang") in LANGUAGES:
        response.set_cookie(
            "lang",
            request.query_params["lang"],
            max_age=365 * 86400,
            **cookie_flags(request.app.state.settings),
        )
    return response
