"""Pruning batch keys never strands jobs that an uncommitted enqueue is adding (PostgreSQL).

SQLite has one writer, so an enqueue and a prune cannot overlap there; on PostgreSQL they can.
"""

from __future__ import annotations

from aimanager.jobs import Completion, JobSpec
from tests.jobs.conftest import FakeClock, sql_backend_for
from tests.servers import create_pg_database, drop_pg_database


async def test_a_key_being_enqueued_into_survives_a_concurrent_prune() -> None:
    url = await create_pg_database()
    clock = FakeClock()
    backend = await sql_backend_for(url, clock)
    try:
        await backend.enqueue_many([JobSpec("k", batch_key="shop-7")])
        [job] = await backend.claim("w", 1, lease_s=15)
        await backend.complete("w", [Completion(job.id, 1, 1.0)])
        clock.advance(7200)  # the key's only job is old enough to prune: the key looks unused
        async with backend.engine.begin() as conn:
            await backend.enqueue_many([JobSpec("k", batch_key="shop-7")], conn=conn)
            # The enqueue is not committed yet; prune runs on another connection meanwhile.
            assert await backend.prune(older_than_s=3600) == 1
        [again] = await backend.claim("w", 1, lease_s=15)
        assert again.batch_key == "shop-7"
        assert await backend.prune(older_than_s=3600) == 0
    finally:
        await backend.close()
        await drop_pg_database(url)
