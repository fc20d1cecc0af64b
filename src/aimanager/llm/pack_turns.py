"""Packs handed to the rate limiter one at a time, each cut, when its turn comes, to a size that ends in
time.

A call lasts as long as it writes (a 20-card pack at a real model's speed: minutes), while the
output-tokens limit decides when calls may start. Flushed together, a backlog's packs all waited in the
limiter at full size, so the packs that started last ended a whole pack's duration after the limit had
written everything else (and the slowest of them later still). Here each pack waits for its turn (per
model, in order) and is cut when the turn comes: into calls short enough to end about when the limit
will have written the items still waiting (``Caller.items_per_call``). The turn passes on once the
pack's calls hold their tokens, so one pack at a time waits in the limiter and the rest wait here, whole.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import TypeVar

T = TypeVar("T")


class PackTurns:
    """Per model key: whose turn it is to be sized and handed to the limiter, and how many items wait."""

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._waiting: dict[str, int] = {}

    @contextlib.asynccontextmanager
    async def turn(self, key: str, items: int) -> AsyncIterator[int]:
        """Wait for ``key``'s turn (first come, first served) with a pack of ``items``; yields the items
        still waiting behind it. The turn ends when the block does."""
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._waiting[key] = self._waiting.get(key, 0) + items
        try:
            await lock.acquire()
        finally:
            self._waiting[key] -= items
        try:
            yield self._waiting[key]
        finally:
            lock.release()


def cut_to(pieces: list[list[T]], most: int | None) -> list[list[T]]:
    """``pieces`` with none longer than ``most`` items (unchanged when ``most`` is None), in order."""
    if most is None:
        return pieces
    return [piece[i : i + most] for piece in pieces for i in range(0, len(piece), most)]
