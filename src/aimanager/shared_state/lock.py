"""Cross-host locks in Redis: ``SET key token NX PX ttl``, renewed while held, released by token.

A lock here coordinates work, it does not guard correctness: everything done under one is safe to
do twice (marketplace writes are "set" operations, reads are reads). So when Redis cannot be reached
the holder goes ahead without it (``Hold.shared`` is then false) instead of failing its job, and a
holder that stalls past its ttl loses the lock to the next process rather than blocking it forever.

A holder never waits for its renewer to end. redis-py sends each command through ``asyncio.wait_for``,
which on Python 3.11 loses a cancel that lands once the answer is in: a renewer cancelled then renews
on. A holder that awaited it never left its block, and the lock stayed held and renewed for good (the
order-feed reads of issue 14). So leaving a block stops the renewer with an event it looks at after
every sleep and every renewal, cancels it too (which usually ends it at once), and releases the lock
without waiting; a renewal still in flight then finds the key gone and changes nothing.
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
        # Renewers still running, held here so that one ending after its block is not collected.
        self.renewers: set[asyncio.Task[None]] = set()

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
        stop = asyncio.Event()
        renewer = asyncio.create_task(self._keep(key, token, stop))
        self.renewers.add(renewer)
        renewer.add_done_callback(self._forget)
        try:
            yield got
        finally:
            # Not awaited: its cancel may be lost (see the module docstring); ``stop`` ends it anyway.
            stop.set()
            renewer.cancel()
            client = self.handle.client
            await self.handle.call(lambda: self._release(keys=[key], args=[token], client=client))

    def _forget(self, renewer: asyncio.Task[None]) -> None:
        self.renewers.discard(renewer)
        if not renewer.cancelled() and renewer.exception() is not None:  # a bug: say so, once
            log.error("shared.lock.renewer_failed", error=repr(renewer.exception()))

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

    async def _keep(self, key: str, token: str, stop: asyncio.Event) -> None:
        ttl_ms = int(self.ttl_s * 1000)
        client = self.handle.client
        while not stop.is_set():
            with suppress(TimeoutError):
                async with asyncio.timeout(self.ttl_s / 3):
                    await stop.wait()
            if stop.is_set():
                return
            kept = await self.handle.call(
                lambda: self._renew(keys=[key], args=[token, ttl_ms], client=client)
            )
            if stop.is_set():  # released meanwhile: a renewal that found the key gone is no loss
                return
            if kept is not DOWN and not kept:
                # Stalled past the ttl (or Redis lost the key in a restart): another process may be
                # doing the same work now, which is safe (see the module docstring); say so and stop.
                log.warning("shared.lock.lost", lock=key.rsplit(":", 1)[-1])
                return
