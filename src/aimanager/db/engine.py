"""Async engine factory: SQLite (WAL, immediate transactions) or PostgreSQL (asyncpg)."""

from __future__ import annotations

import weakref
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from aimanager.db.pool import PriorityQueuePool
from aimanager.errors import DatabaseUnavailable
from aimanager.settings import normalise_database_url


def is_sqlite(url: str) -> bool:
    """True for the embedded default."""
    return url.startswith("sqlite")


DEFAULT_APPLICATION_NAME = "aimanager"
# Server settings each PostgreSQL engine's connections were made with: the job backend opens its
# LISTEN connection with the same ones (the same application_name in pg_stat_activity).
_SERVER_SETTINGS: weakref.WeakKeyDictionary[Any, dict[str, str]] = weakref.WeakKeyDictionary()


def server_settings(engine: AsyncEngine) -> dict[str, str]:
    """The PostgreSQL ``server_settings`` the engine's connections use (empty for other engines)."""
    return dict(_SERVER_SETTINGS.get(engine.sync_engine, {}))


def make_engine(
    url: str,
    *,
    pool_size: int = 10,
    echo: bool = False,
    application_name: str = DEFAULT_APPLICATION_NAME,
    pool_pre_ping: bool = False,
    session_settings: dict[str, str] | None = None,
) -> AsyncEngine:
    """Create an engine with the settings each dialect needs for a job queue.

    SQLite: WAL so readers never block the writer, a busy timeout so two processes wait for each other
    instead of failing, and ``BEGIN IMMEDIATE`` so a transaction takes the write lock up front — a
    read-then-write claim that starts as a reader would otherwise fail with SQLITE_BUSY under load.
    """
    url = normalise_database_url(url)
    kwargs: dict[str, Any] = {"echo": echo}
    if is_sqlite(url):
        kwargs["connect_args"] = {"timeout": 30}
        # One connection per process: SQLite has one writer, and callers of this process then queue
        # for it in asyncio (FIFO, no delay) instead of in SQLite's busy handler, which sleeps in steps
        # of up to 100 ms. Other processes on the same file still meet the busy handler. The pool
        # serves its waiters by ``db_priority``, so the job engine's claims do not queue behind
        # handlers' transactions.
        kwargs.update(poolclass=PriorityQueuePool, pool_size=1, max_overflow=0, pool_timeout=120)
        engine = create_async_engine(url, **kwargs)
        _configure_sqlite(engine)
        return engine
    # Pooled connections are checked before use: a connection whose server went away (a restart,
    # pg_terminate_backend) is closed on the client as soon as the event loop reads the server's
    # goodbye, so ``_drop_closed`` below replaces it without a round trip. ``pool_pre_ping`` adds a
    # real ``SELECT``-style ping per checkout (a round trip on the claim's hot path) for networks that
    # drop connections silently.
    kwargs.update(
        poolclass=PriorityQueuePool,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=pool_pre_ping,
    )
    # asyncpg prepares every statement, and after five runs PostgreSQL may switch a prepared statement
    # to a generic plan that ignores its parameters. The engine's ack joins an array of acked ids to
    # the jobs table; its generic plan loops over every running row for every acked id (150 ms for
    # 1,400 acks instead of 4 ms). Custom plans cost about 0.2 ms of planning per statement.
    settings = {"plan_cache_mode": "force_custom_plan", "application_name": application_name}
    settings.update(session_settings or {})  # e.g. the worker's statement and idle-transaction timeouts
    kwargs["connect_args"] = {"server_settings": settings}
    engine = create_async_engine(url, **kwargs)
    _SERVER_SETTINGS[engine.sync_engine] = settings
    event.listen(engine.sync_engine, "checkout", _drop_closed)
    return engine


def _drop_closed(dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
    # DisconnectionError makes the pool discard this connection and check out (or open) another.
    raw = getattr(dbapi_conn, "_connection", None)
    is_closed = getattr(raw, "is_closed", None)
    if is_closed is not None and is_closed():
        raise DisconnectionError("pooled connection was closed by the server")


def _configure_sqlite(engine: AsyncEngine) -> None:
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin (see "begin" below).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def session_factory(engine: AsyncEngine) -> async_sessionmaker[Any]:
    """Sessions that keep objects readable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False)


def describe_url(url: str) -> str:
    """The URL with any password removed, for messages."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable database URL>"


async def check_connection(engine: AsyncEngine) -> None:
    """Open one connection or raise :class:`DatabaseUnavailable` with a one-line reason."""
    where = describe_url(engine.url.render_as_string(hide_password=False))
    database = engine.url.database
    if engine.url.get_backend_name() == "sqlite" and database and database != ":memory:":
        # Said before aiosqlite is asked: its connection thread, failing to open the file, can deliver
        # its answer after a short-lived command's event loop is closed and print a traceback.
        folder = Path(database).parent
        if not folder.is_dir():
            raise DatabaseUnavailable(f"cannot reach database {where}: folder {folder} does not exist")
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except (OperationalError, DBAPIError, OSError) as exc:
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise DatabaseUnavailable(f"cannot reach database {where}: {reason}") from None
