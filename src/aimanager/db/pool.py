"""A connection pool whose waiters are served by priority, not arrival.

On SQLite a process has one connection (see ``engine.make_engine``), so every transaction of the
process queues for it. With ~100 handlers writing card versions or price changes, a FIFO queue puts
the job engine's claim — the one statement an urgent job is waiting on — behind all of them. Callers
mark their checkouts with :func:`db_priority`; the pool hands a returned connection to the most
urgent waiter (FIFO among equals).

The priority is a context variable, read when the caller starts waiting (in its own asyncio task), so
it follows the caller through SQLAlchemy's greenlet bridge without being passed down the stack.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

from sqlalchemy.pool import AsyncAdaptedQueuePool
from sqlalchemy.util import await_only
from sqlalchemy.util.queue import AsyncAdaptedQueue, Empty, Full

from aimanager.handoff import PriorityHandoff

# Lower is more urgent, as with job priorities.
ENGINE = 0  # the job engine's own short statements: claims, acks, heartbeats
# The LLM ledger's in-flight rows: an LLM call goes out only once they are written, and it holds its
# share of the provider's rate limits meanwhile — behind a hundred handlers' card writes, seconds of them.
LLM_CALL = 5
NORMAL = 10

_priority: ContextVar[int] = ContextVar("aimanager_db_priority", default=NORMAL)


@contextlib.contextmanager
def db_priority(level: int) -> Iterator[None]:
    """Connections checked out inside this block jump ahead of waiters with a larger ``level``."""
    token = _priority.set(level)
    try:
        yield
    finally:
        _priority.reset(token)


class PriorityWaitQueue(AsyncAdaptedQueue[Any]):
    """The pool's store of idle connections; a returned connection goes to the most urgent waiter."""

    def __init__(self, maxsize: int = 0, use_lifo: bool = False) -> None:
        super().__init__(maxsize, use_lifo)
        self._items: deque[Any] = deque()
        self.waiters: PriorityHandoff[Any] = PriorityHandoff()

    def empty(self) -> bool:
        return not self._items

    def full(self) -> bool:
        return self.maxsize > 0 and len(self._items) >= self.maxsize

    def qsize(self) -> int:
        return len(self._items)

    def put_nowait(self, item: Any) -> None:
        if self.waiters.hand_over(item):
            return
        if self.full():
            raise Full()
        self._items.append(item)

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        # The pool never holds more connections than its size, so a put never has to wait.
        self.put_nowait(item)

    def get_nowait(self) -> Any:
        if not self._items:
            raise Empty()
        return self._items.pop() if self.use_lifo else self._items.popleft()

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        if self._items or not block:
            return self.get_nowait()
        return await_only(self._wait(timeout))

    async def _wait(self, timeout: float | None) -> Any:
        try:
            async with asyncio.timeout(timeout):
                # A connection handed over just as the wait timed out goes back to the queue.
                return await self.waiters.wait(_priority.get(), self.put_nowait)
        except TimeoutError:
            raise Empty() from None


class PriorityQueuePool(AsyncAdaptedQueuePool):
    """``AsyncAdaptedQueuePool`` with waiters served by :func:`db_priority`."""

    _queue_class = PriorityWaitQueue
