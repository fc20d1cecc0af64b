"""Serving the app with uvicorn (``aimanager serve``)."""

from __future__ import annotations

import uvicorn

from aimanager.api.app import create_app
from aimanager.logs import configure
from aimanager.settings import get_settings


def serve(host: str = "127.0.0.1", port: int = 8080, *, workers_note: str = "") -> None:
    """Serve the API and console until SIGINT/SIGTERM (uvicorn's graceful shutdown)."""
    settings = get_settings()
    configure(settings.log_level, settings.log_json)
    config = uvicorn.Config(
        create_app(settings=settings),
        host=host,
        port=port,
        log_level="warning",
        proxy_headers=True,
        timeout_graceful_shutdown=5,
    )
    uvicorn.Server(config).run()
