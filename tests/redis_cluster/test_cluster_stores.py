"""Everything the product keeps in Redis works on a real three-master Redis Cluster: the LLM cache and
limiter (their contract suites), the cross-host locks and the shared memo.

Cluster refuses a command or script whose keys live in different slots (``CROSSSLOT``): these tests
fail if a multi-key operation loses its hash tag. That the keys really spread over the masters is
checked too, or a cluster that put everything on one node would prove nothing.
"""

from __future__ import annotations

import asyncio
import uuid

from aimanager.llm.buckets import RedisBuckets
from aimanager.llm.cache import RedisCacheStore
from aimanager.shared_state import RedisHandle, SharedLocks, SharedMemo, connect, is_cluster
from tests.llm.test_stores import bucket_contract, bucket_refills, cache_contract
from tests.redis_cluster.servers import OwnCluster


def _prefix() -> str:
    return f"aimtest:{uuid.uuid4().hex[:10]}:"


async def test_the_url_scheme_picks_the_cluster_client(redis_cluster: OwnCluster) -> None:
    from redis.asyncio.cluster import RedisCluster

    assert is_cluster(redis_cluster.url) and not is_cluster("redis://127.0.0.1:6379/0")
    client = connect(redis_cluster.url)
    try:
        assert isinstance(client, RedisCluster)
        await client.set("probe", "1")
        nodes = {n.port for n in client.get_nodes()}
        assert nodes == {n.port for n in redis_cluster.nodes}
    finally:
        await client.aclose()


async def test_llm_cache_contract_on_cluster(redis_cluster: OwnCluster) -> None:
    prefix = _prefix()
    store = RedisCacheStore(redis_cluster.url, prefix)
    try:
        await cache_contract(store)  # 1,200 entries: read and written across every master
    finally:
        await store.close()
    counts = [int(n.cli("dbsize")) for n in redis_cluster.nodes]
    assert all(c > 100 for c in counts), counts


async def test_llm_buckets_contract_on_cluster(redis_cluster: OwnCluster) -> None:
    backend = RedisBuckets(redis_cluster.url, _prefix())
    try:
        await bucket_contract(backend)  # takes from two buckets of one key in one script
        await bucket_refills(backend)
        assert backend.outage.outages == 0
    finally:
        await backend.close()


async def test_llm_buckets_are_shared_between_clients_on_cluster(redis_cluster: OwnCluster) -> None:
    prefix = _prefix()
    one, two = RedisBuckets(redis_cluster.url, prefix), RedisBuckets(redis_cluster.url, prefix)
    try:
        spec = ("rpm", 1.0, 0.001, 2.0)
        first, second, third = [await b.reserve("s", [spec]) for b in (one, two, one)]
    finally:
        await one.close()
        await two.close()
    assert first == second == 0.0 and third > 0


async def test_locks_exclude_across_clients_on_cluster(redis_cluster: OwnCluster) -> None:
    prefix = _prefix()
    handles = [RedisHandle(redis_cluster.url, prefix) for _ in range(3)]
    inside: list[int] = []
    most = 0

    async def work(locks: SharedLocks, name: str) -> None:
        nonlocal most
        for _ in range(5):
            async with locks.hold(name) as hold:
                assert hold.held and hold.shared
                inside.append(1)
                most = max(most, len(inside))
                await asyncio.sleep(0.002)
                inside.pop()

    try:
        locks = [SharedLocks(h, "prices") for h in handles]
        await asyncio.gather(*(work(lk, f"acct-{i % 2}") for i, lk in enumerate(locks) for _ in range(2)))
    finally:
        for h in handles:
            await h.close()
    # Two accounts: at most one holder per account, so at most two inside at once.
    assert most <= 2


async def test_memo_computes_once_across_clients_on_cluster(redis_cluster: OwnCluster) -> None:
    prefix = _prefix()
    handles = [RedisHandle(redis_cluster.url, prefix) for _ in range(3)]
    calls = 0

    async def compute() -> str:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.05)  # a marketplace read in flight while the others arrive
        return "lines"

    try:
        memos = [SharedMemo(h, "orders") for h in handles]
        got = await asyncio.gather(*(m.get_or_compute("7:wildberries", compute, ttl_s=60) for m in memos))
    finally:
        for h in handles:
            await h.close()
    assert got == ["lines"] * 3
    assert calls == 1
