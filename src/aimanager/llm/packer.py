"""The packer: concurrent requests for the same prompt template become one call.

Requests are grouped by a key (task kind + tier + prompt version). A group is flushed when it holds
``max_items`` or when ``window_s`` has passed since its first item — so a lone request waits at most one
window, and 1,000 requests submitted together leave as 50 full packs at once.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Coroutine, Hashable
from typing import Any, Generic, TypeVar

Item = TypeVar("Item")
Key = TypeVar("Key", bound=Hashable)
# Calls a tail of leftovers is spread over (see ``tail_packs``): far under any provider's request limit.
TAIL_CALLS = 20


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
        if pack:
            self.send_now(key, pack)

    def send_now(self, key: Key, items: list[Item]) -> None:
        """Send ``items`` as one pack at once, beside the key's open pack (see ``tail_packs``)."""
        if not items:
            return
        self.packs_sent += 1
        task = asyncio.create_task(self._flush(key, items), name=f"llm-pack-{self.packs_sent}")
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


def tail_packs(items: list[Item], max_items: int, calls: int = TAIL_CALLS) -> list[list[Item]]:
    """``items`` that end a piece of work others already wait for (the leftovers of a provider batch)
    cut into about ``calls`` packs, at most ``max_items`` each: a call's duration grows with what it
    writes (a full pack of real cards takes minutes), so a few leftovers asked as one full pack would
    make the tail a full pack's call; asked in parallel, one card's call. Many items still leave as
    full packs (the call count stays ``len(items) / max_items``)."""
    size = max(1, min(max_items, math.ceil(len(items) / max(1, calls))))
    return [items[i : i + size] for i in range(0, len(items), size)]
