"""Building a ``Runtime`` from settings: database, backend, gateway and connector pool."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from aimanager.connectors.shared_limits import RedisLimitStore
from aimanager.db.crypto import CredentialBox
from aimanager.db.engine import make_engine, session_factory
from aimanager.domain.enums import Marketplace
from aimanager.jobs import Backend, SQLBackend
from aimanager.llm import Gateway, GatewayConfig
from aimanager.pipelines.services.connector_pool import ConnectorPool
from aimanager.pipelines.services.runtime import Runtime
from aimanager.settings import Settings
from aimanager.shared_state import RedisHandle


async def build_runtime(
    settings: Settings,
    *,
    backend: Backend | None = None,
    gateway_config: GatewayConfig | None = None,
    connector_overrides: dict[Marketplace, dict[str, Any]] | None = None,
    dry_run: bool = False,
    report_dir: Path | None = None,
) -> Runtime:
    """Services for the pipelines; ``backend`` defaults to the SQL backend on the same database."""
    # One engine for the backend and the pipelines: on SQLite it holds the process's one connection,
    # so claims and handler transactions queue for it in FIFO order (handlers keep their
    # transactions short) instead of starving each other in SQLite's busy handler.
    if isinstance(backend, SQLBackend):
        engine = backend.engine
    else:
        engine = make_engine(settings.database_url)
        backend = backend or SQLBackend(engine)
    sessions = session_factory(engine)
    gateway = await Gateway.create(gateway_config or GatewayConfig.from_settings(settings), engine)
    # With Redis, every worker on every host shares each account's limits, price pushes and order
    # feeds; without it (embedded mode) they are this process's. Keys that name partners by id get
    # the database's namespace: two installations on one Redis must not share partner 1.
    shared = (
        RedisHandle(settings.redis_url, f"aimanager:{database_namespace(settings.database_url)}:")
        if settings.redis_url
        else None
    )
    limit_store = RedisLimitStore(shared.with_prefix("aimanager:")) if shared is not None else None
    pool = ConnectorPool(
        sessions,
        CredentialBox.from_settings(settings),
        connector_overrides,
        limit_store=limit_store,
        exports_dir=settings.exports_dir,
    )
    return Runtime(
        settings=settings,
        engine=engine,
        sessions=sessions,
        backend=backend,
        gateway=gateway,
        connectors=pool,
        dry_run=dry_run,
        report_dir=report_dir or Path("reports"),
        shared=shared,
    )


def database_namespace(database_url: str) -> str:
    """A short stable name of the database (without its password): the prefix of the shared keys
    that name partners by id."""
    from aimanager.shared_state import describe

    return hashlib.sha256(describe(database_url).encode()).hexdigest()[:10]
