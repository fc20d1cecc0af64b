"""A memo shared by every process: one computation per key per ttl, across hosts.

The first caller for a key takes a short lock (``SharedLocks``, renewed while it works), computes,
and stores the result for ``ttl_s``; callers that arrive meanwhile wait for that stored result rather
than compute it again. If the computing process dies, its lock expires and the next waiter computes.

Redis unreachable at any step: the caller computes on its own (the process-local memo in front of
this one still makes it one computation per process).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from functools import partial

from aimanager.shared_state.handle import DOWN, RedisHandle
from aimanager.shared_state.lock import SharedLocks


class SharedMemo:
    """Text values under ``handle``'s prefix + ``namespace``; ``accept`` decides whether a stored value
    serves the caller (an order feed read for a narrower window does not)."""

    def __init__(
        self,
        handle: RedisHandle,
        namespace: str = "memo",
        *,
        lock_ttl_s: float = 30.0,
        poll_s: float = 0.01,
        max_poll_s: float = 0.25,
        max_wait_s: float = 600.0,
    ) -> None:
        self.handle = handle
        self.namespace = namespace
        self.locks = SharedLocks(handle, namespace + ":lock", ttl_s=lock_ttl_s)
        self.poll_s = poll_s
        self.max_poll_s = max_poll_s
        self.max_wait_s = max_wait_s
        self.computed = 0  # computations this process made (for tests and metrics)
        self.shared_hits = 0  # values another process computed

    async def get_or_compute(
        self,
        name: str,
        compute: Callable[[], Awaitable[str]],
        *,
        ttl_s: float,
        accept: Callable[[str], bool] = lambda _: True,
    ) -> str:
        """The stored value of ``name`` if ``accept`` takes it, else ``compute()`` once across hosts."""
        key = self.handle.key(self.namespace, name)
        client = self.handle.client
        delay = self.poll_s
        deadline = time.monotonic() + self.max_wait_s
        while True:
            found = await self.handle.call(lambda: client.get(key))
            if found is DOWN:
                return await self._compute(compute)
            if found is not None:
                text = found.decode() if isinstance(found, bytes) else str(found)
                if accept(text):
                    self.shared_hits += 1
                    return text
            async with self.locks.hold(name, wait=False) as hold:
                if hold.held:
                    value = await self._compute(compute)
                    if hold.shared:
                        ttl_ms = max(1, int(ttl_s * 1000))
                        await self.handle.call(partial(client.set, key, value, px=ttl_ms))
                    return value
            if time.monotonic() > deadline:  # a reader that never finishes must not hold us forever
                return await self._compute(compute)
            await asyncio.sleep(delay)
            delay = min(self.max_poll_s, delay * 2)

    async def _compute(self, compute: Callable[[], Awaitable[str]]) -> str:
        self.computed += 1
        return await compute()
