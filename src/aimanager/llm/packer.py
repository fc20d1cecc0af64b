"""The packer: concurrent requests for the same prompt template become one call.

Requests are grouped by a key (task kind + tier + prompt version). A group is flushed when it holds
``max_items`` or when ``window_s`` has passed since its first item — so a lone request waits at most one
window, and 1,000 requests submitted together leave as 50 full packs at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Hashable
from typing import Any, Generic, TypeVar

Item = TypeVar("Item")
Key = TypeVar("Key", bound=Hashable)


class Packer(Generic[Key, Item]):
    """Collects items per key and hands full (or timed-out) packs to ``flush(key, items)``."""

    def __init__(
        self,
        flush: Callable[[Key, list[Item]], Coroutine[Any, Any, None]],
        *,
        max_items: int = 20,
        window_s: float = 0.05,
    ) -> None:
        if max_items < 1:
            raise ValueError("max_items must be at least 1")
        self._flush = flush
        self.max_items = max_items
        self.window_s = window_s
        self._open: dict[Key, list[Item]] = {}
        self._timers: dict[Key, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.packs_sent = 0

    def submit(self, key: Key, item: Item) -> None:
        """Add ``item`` to its key's open pack; the pack leaves when full or when its window ends."""
        pack = self._open.setdefault(key, [])
        pack.append(item)
        if len(pack) >= self.max_items:
            self._send(key)
        elif len(pack) == 1:
            loop = asyncio.get_running_loop()
            self._timers[key] = loop.call_later(self.window_s, self._send, key)

    def _send(self, key: Key) -> None:
        timer = self._timers.pop(key, None)
        if timer is not None:
            timer.cancel()
        pack = self._open.pop(key, None)
        if not pack:
            return
        self.packs_sent += 1
        task = asyncio.create_task(self._flush(key, pack), name=f"llm-pack-{self.packs_sent}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def flush_all(self) -> None:
        """Send every open pack now (used on close)."""
        for key in list(self._open):
            self._send(key)

    async def drain(self) -> None:
        """Send open packs and wait for every pack in flight."""
        self.flush_all()
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
