"""State shared by every worker process on every host, through Redis (single server or Cluster).

Used when ``AIMANAGER_REDIS_URL`` is set; without it (the embedded mode) each structure's
process-local twin is used instead. Every structure here degrades to local operation while Redis is
unreachable and goes back to Redis when it answers again: no job fails because Redis blinked.

* ``redis`` — the client factory (``redis+cluster://`` for Cluster), the outage errors and tracker;
* ``handle`` — ``RedisHandle``: one client, one outage state, one key prefix per process;
* ``lock`` — cross-host locks (one price push per account at a time);
* ``memo`` — one computation per key per ttl across hosts (order-feed reads).

The marketplace limiters built on it live with the connectors (``connectors.shared_limits``), the
LLM's with the gateway (``llm.limiter``, ``llm.cache``). See docs/limits.md.
"""

from __future__ import annotations

from aimanager.shared_state.handle import DOWN, RedisHandle
from aimanager.shared_state.lock import Hold, SharedLocks
from aimanager.shared_state.memo import SharedMemo
from aimanager.shared_state.redis import (
    REDIS_TIMEOUT_S,
    RedisOutage,
    connect,
    describe,
    is_cluster,
    mget,
    redis_errors,
)

__all__ = [
    "DOWN",
    "REDIS_TIMEOUT_S",
    "Hold",
    "RedisHandle",
    "RedisOutage",
    "SharedLocks",
    "SharedMemo",
    "connect",
    "describe",
    "is_cluster",
    "mget",
    "redis_errors",
]
