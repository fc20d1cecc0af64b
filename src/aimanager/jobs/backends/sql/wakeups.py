"""Wake-ups between processes: PostgreSQL ``LISTEN``/``NOTIFY``, and the polling that backs it up.

A mixin of ``SQLBackend``. Idle workers wait on an in-process event set by this process's own writes
and, on PostgreSQL, by notifications on ``aimanager_jobs`` from every other process; they also poll
(``poll_interval``), so a lost notification costs at most one poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from aimanager.db.engine import server_settings
from aimanager.jobs.backends.sql import statements as q
from aimanager.logs import get_logger

log = get_logger("aimanager.jobs.sql")


class SQLWakeups:
    """The LISTEN connection, debounced NOTIFYs and ``wait_for_work``."""

    engine: AsyncEngine
    dialect: str
    _write: Callable[..., contextlib.AbstractAsyncContextManager[AsyncConnection]]

    def _init_wakeups(self) -> None:
        self._wake = asyncio.Event()
        self._listener: Any = None
        self._closing = False
        self._relisten: asyncio.Future[None] | None = None
        self._notifying: asyncio.Future[None] | None = None
        self._notify_again = False
        self._notified_txns: weakref.WeakSet[Any] = weakref.WeakSet()

    @property
    def poll_interval(self) -> float:
        """How often an idle worker looks for work without a wake-up.

        PostgreSQL wakes workers with NOTIFY; SQLite has no cross-process signal, so it polls often
        (an indexed ``min()`` on the ready rows costs microseconds).
        """
        return 0.5 if self.dialect == "postgresql" else 0.02

    async def setup(self) -> None:
        if self.dialect != "postgresql" or self._listener is not None:
            return
        self._closing = False
        await self._listen()

    async def _listen(self) -> None:
        import asyncpg

        dsn = self.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        listener = await asyncpg.connect(dsn, server_settings=server_settings(self.engine) or None)
        await listener.add_listener(q.NOTIFY_CHANNEL, lambda *_: self._wake.set())
        listener.add_termination_listener(self._listener_lost)
        self._listener = listener

    def _listener_lost(self, _conn: Any) -> None:
        # The LISTEN connection died (a restart, a killed backend): workers poll meanwhile, and it is
        # opened again with backoff so NOTIFY wake-ups come back.
        if self._closing:
            return
        self._wake.set()  # NOTIFYs may have been missed: look at the queue now
        self._relisten = asyncio.ensure_future(self._relisten_loop())

    async def _relisten_loop(self) -> None:
        delay = 0.1
        while not self._closing:
            try:
                await self._listen()
            except Exception:
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            self._wake.set()
            return

    def _notify_soon(self) -> None:
        """Wake the workers of every process after this process's own write committed.

        PostgreSQL serialises the commits of transactions that NOTIFY (a cluster-wide lock held from
        queueing the notification to the end of the commit, WAL flush included), so the engine's own
        writes do not NOTIFY inside their transaction: one NOTIFY at a time per process is sent after
        the commit, on the LISTEN connection when it is open, and a burst of enqueues while one is in
        flight is covered by one more. Workers also poll, so a NOTIFY lost to a reconnect only costs
        a poll interval."""
        self._wake.set()
        if self.dialect != "postgresql" or self._closing:
            return
        if self._notifying is not None and not self._notifying.done():
            self._notify_again = True
            return
        self._notifying = asyncio.ensure_future(self._send_notifies())

    async def _send_notifies(self) -> None:
        while True:
            self._notify_again = False
            try:
                listener = self._listener
                if listener is not None and not listener.is_closed():
                    await listener.execute(f"NOTIFY {q.NOTIFY_CHANNEL}")
                else:
                    async with self._write(one_statement=True) as conn:
                        await conn.exec_driver_sql(f"NOTIFY {q.NOTIFY_CHANNEL}")
            except Exception as exc:  # a wake-up only: workers poll meanwhile
                log.warning("jobs.notify_failed", error=str(exc)[:300])
                return
            if not self._notify_again:
                return

    async def _notify_in(self, conn: AsyncConnection) -> None:
        """NOTIFY inside the caller's transaction (delivered when it commits), once per transaction
        however many enqueues it makes."""
        txn = conn.sync_connection.get_transaction() if conn.sync_connection is not None else None
        if txn is not None:
            if txn in self._notified_txns:
                return
            self._notified_txns.add(txn)
        await conn.exec_driver_sql(f"NOTIFY {q.NOTIFY_CHANNEL}")

    async def _close_wakeups(self) -> None:
        self._closing = True
        if self._notifying is not None:
            # The last wake-up of a short-lived process (``aimanager jobs enqueue``) still goes out.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(self._notifying), 5.0)
        if self._relisten is not None:
            self._relisten.cancel()
            await asyncio.gather(self._relisten, return_exceptions=True)
        if self._listener is not None:
            with contextlib.suppress(Exception):
                await self._listener.close()
            self._listener = None

    async def wait_for_work(self, timeout: float) -> None:
        # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation that races its
        # timeout, and a worker shutting down would then wait here forever.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._wake.wait()
        self._wake.clear()
