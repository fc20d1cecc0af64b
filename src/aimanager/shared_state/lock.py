"""Cross-host locks in Redis: ``SET key token NX PX ttl``, renewed while held, released by token.

A lock here coordinates work, it does not guard correctness: everything done under one is safe to
do twice (marketplace writes are "set" operations, reads are reads). So when Redis cannot be reached
the holder goes ahead without it (``Hold.shared`` is then false) instead of failing its job, and a
holder that stalls past its ttl loses the lock to the next process rather than blocking it forever.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass

from aimanager.logs import get_logger
from aimanager.shared_state.handle import DOWN, RedisHandle

log = get_logger(__name__)

# KEYS[1]: the lock; ARGV: token, ttl ms. Extend only our own lock (another process may hold it now).
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


@dataclass(frozen=True, slots=True)
class Hold:
    """What ``SharedLocks.hold`` got: ``held`` — go ahead (false only for a ``wait=False`` call that
    found the lock taken); ``shared`` — the lock is held in Redis (false: Redis was unreachable, so
    this process went ahead on its own)."""

    held: bool
    shared: bool


class SharedLocks:
    """Named locks under ``handle``'s prefix + ``namespace``.

    ``ttl_s`` bounds how long a crashed holder blocks the others; a live holder renews every third
    of it. Waiters poll (``poll_s`` doubling to ``max_poll_s``): the locks guard marketplace calls
    that take tens of milliseconds to minutes, so a few milliseconds of latency do not matter."""

    def __init__(
        self,
        handle: RedisHandle,
        namespace: str = "lock",
        *,
        ttl_s: float = 10.0,
        poll_s: float = 0.005,
        max_poll_s: float = 0.1,
    ) -> None:
        self.handle = handle
        self.namespace = namespace
        self.ttl_s = ttl_s
        self.poll_s = poll_s
        self.max_poll_s = max_poll_s
        self._renew = handle.script(_RENEW)
        self._release = handle.script(_RELEASE)
        self.waits = 0  # times a caller found the lock taken (for tests and metrics)

    def key(self, name: str) -> str:
        return self.handle.key(self.namespace, name)

    @asynccontextmanager
    async def hold(self, name: str, *, wait: bool = True) -> AsyncIterator[Hold]:
        """Hold lock ``name`` for the block (see ``Hold``); ``wait=False`` does not wait for it."""
        key, token = self.key(name), uuid.uuid4().hex
        got = await self._acquire(key, token, wait)
        if not got.held or not got.shared:
            yield got
            return
        renewer = asyncio.create_task(self._keep(key, token))
        try:
            yield got
        finally:
            renewer.cancel()
            with suppress(asyncio.CancelledError):
                await renewer
            client = self.handle.client
            await self.handle.call(lambda: self._release(keys=[key], args=[token], client=client))

    async def _acquire(self, key: str, token: str, wait: bool) -> Hold:
        ttl_ms = int(self.ttl_s * 1000)
        delay = self.poll_s
        client = self.handle.client
        while True:
            got = await self.handle.call(lambda: client.set(key, token, nx=True, px=ttl_ms))
            if got is DOWN:
                return Hold(held=True, shared=False)
            if got:
                return Hold(held=True, shared=True)
            self.waits += 1
            if not wait:
                return Hold(held=False, shared=True)
            await asyncio.sleep(delay)
            delay = min(self.max_poll_s, delay * 2)

    async def _keep(self, key: str, token: str) -> None:
        ttl_ms = int(self.ttl_s * 1000)
        client = self.handle.client
        while True:
            await asyncio.sleep(self.ttl_s / 3)
            kept = await self.handle.call(
                lambda: self._renew(keys=[key], args=[token, ttl_ms], client=client)
            )
            if kept is not DOWN and not kept:
                # Stalled past the ttl (or Redis lost the key in a restart): another process may be
                # doing the same work now, which is safe (see the module docstring); say so and stop.
                log.warning("shared.lock.lost", lock=key.rsplit(":", 1)[-1])
                return
