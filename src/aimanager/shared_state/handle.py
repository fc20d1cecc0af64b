"""``RedisHandle``: the one Redis client of a process's shared state, with its outage tracker.

Everything a worker shares with the others through Redis (marketplace limits, cross-host locks, the
order-feed memo) goes through one handle, so they go down together and come back together: when one
call finds Redis unreachable, the others skip it for the same pause instead of each waiting out a
timeout.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from typing import Any, Final, TypeVar

from aimanager.shared_state.redis import RedisOutage, close, connect, describe, redis_errors

T = TypeVar("T")


class _Down(enum.Enum):
    """The answer of a call that was not made or did not get through: Redis is unreachable (an enum
    member, so that ``answer is DOWN`` narrows the answer's type)."""

    DOWN = "DOWN"


DOWN: Final = _Down.DOWN


class RedisHandle:
    """A client for ``url`` (single server or Cluster), keys under ``prefix``."""

    def __init__(self, url: str, prefix: str = "aimanager:", *, client: Any = None) -> None:
        self.url = describe(url)  # never the password: the handle's repr and logs show this
        self.prefix = prefix
        self.client: Any = client if client is not None else connect(url)
        self.outage = RedisOutage("shared")
        self.errors = redis_errors()

    def __repr__(self) -> str:
        return f"RedisHandle({self.url!r}, prefix={self.prefix!r})"

    def with_prefix(self, prefix: str) -> RedisHandle:
        """The same client and outage state, keys under ``prefix`` (closing either closes both)."""
        twin = RedisHandle.__new__(RedisHandle)
        twin.url, twin.prefix, twin.client = self.url, prefix, self.client
        twin.outage, twin.errors = self.outage, self.errors
        return twin

    def key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    def script(self, source: str) -> Any:
        """A Lua script registered on the client (run by SHA, loaded again where a node lacks it)."""
        return self.client.register_script(source)

    async def call(self, fn: Callable[[], Awaitable[T]]) -> T | _Down:
        """``await fn()`` unless Redis is known to be down; ``DOWN`` when it is, or when the call
        fails on an outage (which is then recorded). Other errors (a bug) propagate."""
        if not self.outage.usable():
            return DOWN
        try:
            value = await fn()
        except self.errors as exc:
            self.outage.failed(exc)
            return DOWN
        self.outage.ok()
        return value

    async def close(self) -> None:
        await close(self.client)
