"""A real uvicorn server over a seeded SQLite database, in a thread of its own (its own event loop):
for the schema fuzzer and the browser tests, which talk HTTP from outside the test's loop."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from pydantic import SecretStr

from aimanager.api.app import create_app
from aimanager.db.engine import make_engine, session_factory
from aimanager.schema.migrate import upgrade
from aimanager.settings import Settings
from tests.api.seed import SECRET_KEY, World, seed


@dataclass
class LiveServer:
    url: str
    world: World
    database_url: str
    app: object


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


Extra = Callable[[Any], Awaitable[None]]  # more seeding: called with the session factory


async def _prepare(database_url: str, tmp: Path, extra: Extra | None) -> World:
    engine = make_engine(database_url)
    try:
        await upgrade(engine)
        world = await seed(session_factory(engine), tmp)
        if extra is not None:
            await extra(session_factory(engine))
        return world
    finally:
        await engine.dispose()


@contextmanager
def live_server(tmp: Path, *, live_interval: float = 0.3, extra: Extra | None = None) -> Iterator[LiveServer]:
    """Start the app on a free loopback port; stop it (gracefully) on exit. ``extra`` seeds more."""
    database_url = f"sqlite+aiosqlite:///{tmp / 'live.db'}"
    world = asyncio.run(_prepare(database_url, tmp, extra))
    app = create_app(settings=Settings(database_url=database_url, secret_key=SecretStr(SECRET_KEY)))
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="live-api", daemon=True)
    thread.start()
    started = threading.Event()
    # uvicorn sets ``started`` once it listens; poll it without sleeping on a timer of our own.
    for _ in range(2000):
        if server.started:
            started.set()
            break
        thread.join(0.005)
    if not started.is_set():
        server.should_exit = True
        raise RuntimeError("the API server did not start")
    app.state.aim.extra["live_interval"] = live_interval
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", world, database_url, app)
    finally:
        server.should_exit = True
        thread.join(15)
