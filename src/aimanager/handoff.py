"""Waiters served by priority (lower first), then in arrival order, each handed an item directly.

The one mechanism behind the database pool's checkout order (``db/pool.py``: the job engine's claims
before handlers' transactions) and the LLM limiter's queue (``llm/limiter.py``: a narrative before
queued card packs, a partner's packs in the order they asked).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class PriorityHandoff(Generic[T]):
    """A heap of waiting futures; :meth:`hand_over` gives an item to the most urgent live waiter."""

    def __init__(self) -> None:
        self._waiters: list[tuple[int, int, asyncio.Future[T]]] = []
        self._seq = itertools.count()

    def waiting(self) -> int:
        """Waiters still waiting (cancelled ones leave lazily)."""
        return sum(1 for *_, waiter in self._waiters if not waiter.done())

    def hand_over(self, item: T) -> bool:
        """Give ``item`` to the most urgent waiter; False when nobody waits (the caller keeps it)."""
        while self._waiters:
            _, _, waiter = heapq.heappop(self._waiters)
            if not waiter.done():
                waiter.set_result(item)
                return True
        return False

    async def wait(self, priority: int, give_back: Callable[[T], None]) -> T:
        """Wait for an item. Cancelled (or timed out) just after one was handed over, the item goes
        to ``give_back`` so that it is passed on, not lost."""
        waiter: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (priority, next(self._seq), waiter))
        try:
            return await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                give_back(waiter.result())
            else:
                waiter.cancel()
            raise
