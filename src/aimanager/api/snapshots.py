"""Expensive reads computed at most once per interval per process and shared by every caller.

The console's live overview is open in many browsers at once, each stream asking for the same
numbers every couple of seconds; the queue's ``stats()`` groups the whole ``jobs`` table. A
``Snapshots`` keeps, per key, the last computation (or the one in flight) and hands it to everyone who
asks within ``ttl_s`` of its start: with 100 consoles open, the database sees one overview per
interval, not 100. A failed computation is not kept (the next caller tries again).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")
MAX_KEYS = 4096  # one per partner with a live page open, and a few more: a bound, not a tuning


@dataclass
class _Entry:
    started: float
    task: asyncio.Task[Any]


class Snapshots:
    def __init__(self, ttl_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self.clock = clock
        self._entries: dict[Hashable, _Entry] = {}
        self.computed = 0  # computations started: what the fan-out test counts

    async def get(self, key: Hashable, compute: Callable[[], Awaitable[T]]) -> T:
        """The value of ``compute()`` for ``key``, computed now or shared from a computation that
        started less than ``ttl_s`` ago (or is still running)."""
        now = self.clock()
        entry = self._entries.get(key)
        if entry is None or (entry.task.done() and now - entry.started >= self.ttl_s):
            if len(self._entries) >= MAX_KEYS:
                self._prune(now)

            async def run() -> T:
                return await compute()

            entry = _Entry(now, asyncio.get_running_loop().create_task(run()))
            self._entries[key] = entry
            self.computed += 1
        try:
            # shield: a caller that goes away (a closed browser) does not cancel the others' value.
            result: T = await asyncio.shield(entry.task)
        except Exception:
            if self._entries.get(key) is entry:
                del self._entries[key]
            raise
        return result

    def _prune(self, now: float) -> None:
        for key, entry in list(self._entries.items()):
            if entry.task.done() and now - entry.started >= self.ttl_s:
                del self._entries[key]
