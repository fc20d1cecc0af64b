"""One contract suite for each pluggable store: cache (SQL on both dialects, Redis) and buckets."""

from __future__ import annotations

import asyncio
from typing import Any

from aimanager.llm.buckets import BucketBackend, MemoryBuckets, RedisBuckets
from aimanager.llm.cache import CacheStore, RedisCacheStore, SQLCacheStore, cache_key
from aimanager.llm.prompts import CARD_PROMPT_VERSION


async def test_sql_cache_contract(migrated_engine: Any) -> None:
    """Both dialects (``migrated_engine`` is parametrised over SQLite and PostgreSQL)."""
    await cache_contract(SQLCacheStore(migrated_engine))


async def test_redis_cache_contract(redis_url: str, redis_prefix: str) -> None:
    store = RedisCacheStore(redis_url, redis_prefix)
    try:
        await cache_contract(store)
    finally:
        await store.close()


async def cache_contract(cache_store: CacheStore) -> None:
    assert await cache_store.get_many(["missing"]) == {}
    await cache_store.put_many([("k1", '{"a": 1}', "m"), ("k2", "Привет", None)])
    assert await cache_store.get_many(["k1", "k2", "k3"]) == {"k1": '{"a": 1}', "k2": "Привет"}
    await cache_store.put_many([("k1", "new", "m")])  # replace, not duplicate
    assert await cache_store.get_many(["k1"]) == {"k1": "new"}
    await cache_store.delete(["k1"])
    assert await cache_store.get_many(["k1", "k2"]) == {"k2": "Привет"}
    many = [(f"bulk{i}", str(i), None) for i in range(1200)]
    await cache_store.put_many(many)
    assert len(await cache_store.get_many([k for k, _, _ in many])) == 1200


def test_cache_key_ignores_dict_order_but_not_tier_or_version() -> None:
    a = cache_key("card", "small", CARD_PROMPT_VERSION, {"x": 1, "y": 2})
    assert a == cache_key("card", "small", CARD_PROMPT_VERSION, {"y": 2, "x": 1})
    assert a != cache_key("card", "large", CARD_PROMPT_VERSION, {"x": 1, "y": 2})
    assert a != cache_key("card", "small", "card/v2", {"x": 1, "y": 2})


async def test_memory_buckets_contract() -> None:
    await bucket_contract(MemoryBuckets())
    await bucket_refills(MemoryBuckets())


async def test_redis_buckets_contract(redis_url: str, redis_prefix: str) -> None:
    backend = RedisBuckets(redis_url, redis_prefix)
    try:
        await bucket_contract(backend)
        await bucket_refills(backend)
    finally:
        await backend.close()


async def bucket_contract(buckets: BucketBackend) -> None:
    slow = ("rpm", 1.0, 0.001, 3.0)  # 3 tokens, practically no refill during the test
    assert [await buckets.reserve("m", [slow]) for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = await buckets.reserve("m", [slow])
    assert wait > 100  # ~1 token / 0.001 per s
    # All or nothing: a second bucket with room is not charged when the first is empty.
    roomy = ("itpm", 10.0, 0.001, 100.0)
    assert await buckets.reserve("m", [slow, roomy]) > 0
    await buckets.adjust("m", "rpm", 2.0, 0.001, 3.0)  # refund two
    assert await buckets.reserve("m", [slow, roomy]) == 0.0
    await buckets.clamp("m", "itpm", 5.0, 0.001, 100.0)  # server says 5 remain
    assert await buckets.reserve("m", [("itpm", 10.0, 0.001, 100.0)]) > 0
    # Keys are independent.
    assert await buckets.reserve("other", [slow]) == 0.0


async def bucket_refills(buckets: BucketBackend) -> None:
    fast = ("rpm", 1.0, 1000.0, 1.0)
    assert await buckets.reserve("f", [fast]) == 0.0
    wait = await buckets.reserve("f", [fast])
    assert 0 < wait <= 0.002
    await asyncio.sleep(0.01)
    assert await buckets.reserve("f", [fast]) == 0.0


async def test_redis_buckets_are_shared_between_clients(redis_url: str, redis_prefix: str) -> None:
    one, two = RedisBuckets(redis_url, redis_prefix), RedisBuckets(redis_url, redis_prefix)
    try:
        spec = ("rpm", 1.0, 0.001, 2.0)
        first, second, third = [await b.reserve("s", [spec]) for b in (one, two, one)]
    finally:
        await one.close()
        await two.close()
    assert first == second == 0.0 and third > 0
