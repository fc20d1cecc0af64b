"""The web console: server-rendered pages (Jinja2) with live parts fed by server-sent events.

``mount(app)`` adds the pages under ``/console`` and the static files (a stylesheet and a few lines of
``fetch``/``EventSource`` JavaScript — no build step, nothing downloaded). Pages call the same
services as the API, scoped by the same ``auth.scope``.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from aimanager.api.console import live, pages
from aimanager.api.console.render import LoginNeeded, to_login

__all__ = ["live", "mount"]


def mount(app: FastAPI) -> None:
    async def _login(_request: Request, _exc: Exception) -> Response:
        return to_login()

    app.add_exception_handler(LoginNeeded, _login)
    app.include_router(pages.router)
    app.include_router(live.router)
    app.mount(
        "/console/static", StaticFiles(directory=Path(__file__).with_name("static")), name="console-static"
    )
