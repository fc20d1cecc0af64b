"""Access to the real PostgreSQL and Redis servers for tests.

A test that needs a server that is not answering fails under CI (``CI=true``) and skips elsewhere with a
loud reason: a silent skip would let a broken dialect pass.
"""

from __future__ import annotations

import os
import socket
import uuid

import pytest

PG_HOST, PG_PORT = "127.0.0.1", 5432
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379


def server_up(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def require_server(name: str, host: str, port: int) -> None:
    if server_up(host, port):
        return
    msg = f"{name} is not answering on {host}:{port}"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{msg} (CI=true: a missing server is a failure)")
    pytest.skip(f"!!! SKIPPED: {msg}; start it to run this test !!!")


async def create_pg_database() -> str:
    """A fresh, empty database on the local server; returns its asyncpg URL."""
    import asyncpg

    require_server("PostgreSQL", PG_HOST, PG_PORT)
    name = f"aim_test_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user="postgres", database="test")
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return f"postgresql+asyncpg://postgres@{PG_HOST}:{PG_PORT}/{name}"


async def drop_pg_database(url: str) -> None:
    import asyncpg

    name = url.rsplit("/", 1)[1]
    conn = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user="postgres", database="test")
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()
