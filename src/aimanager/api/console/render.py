"""Template rendering with the caller's language, and the console's way to ask who is logged in."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from aimanager.api.auth import Principal, Scope, optional_principal, scope
from aimanager.api.console.i18n import language, translator
from aimanager.api.errors import ApiError
from aimanager.api.state import AppState

templates = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))
LANG_COOKIE = "aim_lang"


class LoginNeeded(Exception):
    """Raised by ``viewer`` when nobody is logged in: the console answers with a redirect."""


async def viewer(request: Request, st: AppState) -> tuple[Principal, Scope]:
    who = await optional_principal(request, st)
    if who is None:
        raise LoginNeeded
    return who, await scope(request, who)


def lang_of(request: Request) -> str:
    return language(request.query_params.get("lang") or request.cookies.get(LANG_COOKIE))


def page(
    request: Request, name: str, who: Principal | None, status: int = 200, **context: Any
) -> HTMLResponse:
    lang = lang_of(request)
    context.update(request=request, who=who, lang=lang, t=translator(lang))
    context.setdefault("title", name.removesuffix(".html"))
    response = templates.TemplateResponse(request, name, context, status_code=status)
    if request.query_params.get("lang"):
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="strict")
    return response


def to_login() -> RedirectResponse:
    return RedirectResponse("/console/login", status_code=303)


def error_page(request: Request, who: Principal | None, exc: ApiError) -> HTMLResponse:
    return page(request, "base.html", who, status=exc.status, title=exc.title)
