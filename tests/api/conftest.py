"""An app over a migrated, seeded database (SQLite and PostgreSQL) and an async client for it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from aimanager.api.app import create_app
from aimanager.settings import Settings
from tests.api.seed import SECRET_KEY, World, seed


@dataclass
class Api:
    app: FastAPI
    client: httpx.AsyncClient
    world: World

    def auth(self, who: str) -> dict[str, str]:
        """Headers for ``admin``, ``staff``, ``alpha`` or ``beta`` (a partner key)."""
        token = self.world.keys.get(who) or self.world.tenants[who].token
        return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def api(migrated_engine, db_url: str, tmp_path: Path) -> AsyncIterator[Api]:  # type: ignore[no-untyped-def]
    settings = Settings(database_url=db_url, secret_key=SecretStr(SECRET_KEY))
    app = create_app(engine=migrated_engine, settings=settings)
    async with app.router.lifespan_context(app):
        world = await seed(app.state.aim.sessions, tmp_path)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as client:
            yield Api(app, client, world)
