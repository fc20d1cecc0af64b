"""One way to reach Redis for state shared by every worker on every host.

The URL picks the client:

* ``redis://``, ``rediss://``, ``unix://`` — one server (``redis.asyncio.Redis``);
* ``redis+cluster://`` or ``rediss+cluster://`` — Redis Cluster (``redis.asyncio.RedisCluster``), with
  one or more startup nodes, comma-separated: ``redis+cluster://:pw@10.0.0.1:7000,10.0.0.2:7000``.
  The scheme says it rather than a separate setting so that one value (``AIMANAGER_REDIS_URL``) is
  the whole configuration, and a Cluster URL can never be opened by the single-server client by
  mistake (it would fail on the first ``MOVED``).

Keys that a script touches together must share a hash tag (``{…}``): Cluster runs a script on one
node, so every key in it must live in one slot. Every multi-key script in the product is built so.

Redis is never a dependency a job can fail on: callers catch ``redis_errors()`` (the server is down, a
Cluster master is gone, a slot is not served) and carry on locally; ``RedisOutage`` tracks that state
so that callers do not each wait for a dead server.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import unquote, urlsplit

from aimanager.errors import ConfigError
from aimanager.logs import get_logger

log = get_logger(__name__)

# Seconds a Redis call may take before it counts as an outage (connect and each command).
REDIS_TIMEOUT_S = 2.0
CLUSTER_SCHEMES = {"redis+cluster": "redis", "rediss+cluster": "rediss"}


def is_cluster(url: str) -> bool:
    """Whether ``url`` names a Redis Cluster (``redis+cluster://``)."""
    return url.partition("://")[0].lower() in CLUSTER_SCHEMES


def describe(url: str) -> str:
    """``url`` without its credentials, for logs and messages."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return f"{parts.scheme}://{host}{parts.path}"


def redis_errors() -> tuple[type[BaseException], ...]:
    """Exceptions that mean "Redis is not reachable now" (not a bug in the command).

    Cluster adds its own: ``CLUSTERDOWN`` and ``MASTERDOWN`` answers (``ClusterError``), ``TRYAGAIN``
    while slots move, and ``RedisClusterException`` (no node serves the slot, none of the startup
    nodes answers). A ``CROSSSLOT`` answer is a bug in our keys and is deliberately not here."""
    import redis.exceptions as rexc

    return (
        rexc.ConnectionError,
        rexc.TimeoutError,
        rexc.ClusterError,
        rexc.TryAgainError,
        rexc.RedisClusterException,
        OSError,
        TimeoutError,
    )


def connect(url: str, *, decode_responses: bool = False, timeout_s: float = REDIS_TIMEOUT_S) -> Any:
    """An asyncio client for ``url`` (single server or Cluster, see the module docstring).

    No connection is made here: the first command connects, so a process starts while Redis is down
    and simply begins in its degraded mode."""
    scheme = url.partition("://")[0].lower()
    if scheme not in CLUSTER_SCHEMES:
        import redis.asyncio as aioredis

        return aioredis.from_url(
            url,
            decode_responses=decode_responses,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
        )
    from redis.asyncio.cluster import ClusterNode, RedisCluster

    parts = urlsplit(url)
    userinfo, _, hosts = parts.netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    nodes = [ClusterNode(host, port) for host, port in _nodes(hosts.split(","), url)]
    return RedisCluster(
        startup_nodes=nodes,
        username=unquote(user) or None,
        password=unquote(password) or None,
        ssl=CLUSTER_SCHEMES[scheme] == "rediss",
        decode_responses=decode_responses,
        socket_timeout=timeout_s,
        socket_connect_timeout=timeout_s,
        # Keep serving the slots that are still covered while one master is away: the keys of the
        # others fail with a connection error and their callers degrade, instead of everyone failing.
        require_full_coverage=False,
    )


def _nodes(items: Sequence[str], url: str) -> list[tuple[str, int]]:
    found = []
    for item in items:
        host, _, port = item.strip().rpartition(":") if ":" in item else (item.strip(), "", "6379")
        if not host or not port.isdigit():
            raise ConfigError(f"Redis Cluster URL {describe(url)!r}: nodes are host:port, comma-separated")
        found.append((host.strip("[]"), int(port)))
    return found


async def mget(client: Any, keys: list[str]) -> list[Any]:
    """``MGET`` that also works on Cluster, where the keys may live on several nodes (one ``MGET`` per
    slot there, so the answer is not one atomic read — nothing here needs it to be)."""
    if not keys:
        return []
    if hasattr(client, "mget_nonatomic"):
        return list(await client.mget_nonatomic(keys))
    return list(await client.mget(keys))


async def close(client: Any) -> None:
    """Close a client of either kind."""
    await client.aclose()


class RedisOutage:
    """Tracks whether Redis is usable: after a failure, skip it for a pause that doubles (0.5 s to
    ``max_pause_s``) while it stays down, so callers do not each wait for a dead server.

    ``events`` prefixes the log events (``<events>.down``, ``<events>.back``): each component keeps its
    own stable names (``llm.redis``, ``shared.redis``)."""

    def __init__(self, what: str, max_pause_s: float = 10.0, *, events: str = "shared.redis") -> None:
        self.what = what
        self.max_pause_s = max_pause_s
        self.events = events
        self.down_since: float | None = None
        self.failures = 0
        self.outages = 0  # times Redis went away (for tests and metrics)
        self._retry_at = 0.0

    def usable(self) -> bool:
        return self.down_since is None or time.monotonic() >= self._retry_at

    def failed(self, exc: BaseException) -> None:
        now = time.monotonic()
        if self.down_since is None:
            self.down_since = now
            self.outages += 1
            log.warning(
                f"{self.events}.down", store=self.what, error=type(exc).__name__, detail=str(exc)[:200]
            )
        self.failures += 1
        self._retry_at = now + min(self.max_pause_s, 0.5 * 2 ** min(self.failures - 1, 10))

    def ok(self) -> None:
        if self.down_since is not None:
            log.info(
                f"{self.events}.back", store=self.what, down_s=round(time.monotonic() - self.down_since, 1)
            )
            self.down_since = None
            self.failures = 0
