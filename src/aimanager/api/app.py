"""The application factory: ``create_app()`` for ``aimanager serve``, tests and the bench.

``create_app(engine=…)`` serves a database the caller opened (tests, the bench); without it the app
opens ``AIMANAGER_DATABASE_URL`` in its lifespan and checks it is initialised, as every CLI command
does. Routers: the REST API under ``/v1`` (OpenAPI at ``/openapi.json``, docs at ``/docs``) and the
console under ``/console``; ``/healthz`` answers without authentication.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse, RedirectResponse
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from aimanager.api import errors
from aimanager.api.audit import AuditMiddleware
from aimanager.api.state import AppState
from aimanager.db.engine import make_engine
from aimanager.jobs import SQLBackend
from aimanager.logs import get_logger
from aimanager.settings import Settings, get_settings

log = get_logger("aimanager.api")
VERSION = "1"


def create_app(engine: AsyncEngine | None = None, settings: Settings | None = None) -> FastAPI:
    """The API and console over ``engine`` (or the configured database)."""
    from aimanager.api import (
        console,
        routes_access,
        routes_hooks,
        routes_ops,
        routes_partners,
        routes_views,
        routes_work,
    )

    cfg = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = engine is None
        eng = engine or make_engine(cfg.database_url)
        backend = SQLBackend(eng, owns_engine=owned)
        app.state.aim = AppState(settings=cfg, engine=eng, backend=backend)
        log.info("api.started", dialect=eng.dialect.name)
        try:
            yield
        finally:
            await console.live.close(app)
            await backend.close()

    app = FastAPI(
        title="AI Manager",
        version=VERSION,
        description="Partners, accounts, catalogs, runs, tasks, jobs, cards, reports, AI spend and alerts.",
        lifespan=lifespan,
    )
    errors.install(app)
    app.add_middleware(AuditMiddleware)
    # routes_ops first: its /v1/jobs/pauses must match before routes_work's /v1/jobs/{job_id}.
    for module in (routes_partners, routes_ops, routes_work, routes_views, routes_access, routes_hooks):
        app.include_router(module.router)
    console.mount(app)

    @app.get("/healthz", response_class=PlainTextResponse, include_in_schema=False)
    async def healthz() -> PlainTextResponse:
        st: AppState = app.state.aim
        try:
            async with st.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception as exc:
            return PlainTextResponse(f"database: {type(exc).__name__}", status_code=503)
        return PlainTextResponse("ok")

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse("/console/")

    return app
