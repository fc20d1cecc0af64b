"""The end of a provider batch: seen soon after it ends whatever its turnaround, its packs claimed in one
statement, and what it did not answer re-asked at once in small packs (a full pack of real cards is a
minutes-long call: the batch's callers would wait for it after waiting out the batch)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from aimanager.db.models import LLMBatchPack
from aimanager.llm import CardRequest, GatewayConfig
from aimanager.llm.batch import poll_interval
from aimanager.llm.batch_store import BatchStore
from aimanager.llm.packer import TAIL_CALLS, tail_packs
from tests.llm.conftest import product


def test_a_batch_is_polled_at_a_share_of_its_age_within_bounds() -> None:
    config = GatewayConfig()  # production: 5 % of the age, between 1 s and 30 s
    assert poll_interval(0.0, config) == 1.0
    # A one-minute batch is seen ended within ~3 s of its end, not up to 30 s later.
    assert poll_interval(60.0, config) == pytest.approx(3.0)
    # A six-hour batch is polled every 30 s, not every 1-3 s for hours.
    assert poll_interval(6 * 3600.0, config) == 30.0
    # A configured ceiling below the floor wins (tests poll every 10 ms).
    assert poll_interval(60.0, GatewayConfig(batch_poll_s=0.01)) == 0.01


def test_a_few_leftovers_go_alone_and_many_still_go_in_full_packs() -> None:
    assert tail_packs(list(range(20)), 20) == [[i] for i in range(20)]
    # 100 leftovers over about TAIL_CALLS calls: packs of 5.
    hundred = tail_packs(list(range(100)), 20)
    assert len(hundred) == TAIL_CALLS and {len(p) for p in hundred} == {5}
    # A whole failed batch is not cut below the pack size: as many calls as packs.
    assert {len(p) for p in tail_packs(list(range(2000)), 20)} == {20}
    assert tail_packs([], 20) == []
    assert [i for pack in tail_packs(list(range(41)), 20) for i in pack] == list(range(41))  # in order


async def test_packs_are_claimed_once_in_one_statement(engine: Any) -> None:
    store = BatchStore(engine)
    await store.record("msgbatch_1", "anthropic", "m", {"0": ["a"], "1": ["b"], "2": ["c"]})
    assert await store.claim_many("msgbatch_1", ["0", "1"]) == {"0", "1"}
    # Another caller of the same batch gets only what nobody settled.
    assert await store.claim_many("msgbatch_1", ["1", "2"]) == {"2"}
    assert await store.claim_many("msgbatch_1", []) == set()
    async with engine.connect() as conn:
        rows = (await conn.execute(select(LLMBatchPack.custom_id, LLMBatchPack.settled_at))).all()
    assert all(settled is not None for _, settled in rows) and len(rows) == 3


async def test_an_errored_pack_is_asked_again_at_once_one_item_a_call(
    make_gateway: Any, sandbox: Any
) -> None:
    _, state = sandbox
    state.config.batch_error_skus = {"T7"}  # the whole pack holding T7 errors in the batch
    gw = await make_gateway(batch_enabled=True, pack_size=20)
    requests = [CardRequest(f"T{i}", 1, product(f"T{i}"), priority_low=True) for i in range(25)]
    results = await gw.generate_cards(requests)
    assert all(r.draft is not None for r in results), [r.error for r in results]
    paths = [r.path for r in results]
    # Packs of 20: the first (T0-T19, with T7) errored; T20-T24 came back from the batch.
    assert paths == ["realtime"] * 20 + ["batch"] * 5
    assert state.count("batches.create") == 1
    # Twenty single-card calls in parallel, not one 20-card call (twenty times as long), and the
    # 1-token call that learned the real-time limits while the batch ran.
    assert state.count("messages") == 21
    assert gw.stats().calls == 20 and gw.stats().probe_calls == 1
    await gw.close()


async def test_the_real_time_limits_are_learned_while_the_batch_runs(make_gateway: Any, sandbox: Any) -> None:
    # A batch brings no rate-limit headers back. Learned only by the first leftover sent after the batch
    # ended, they held every other leftover behind that call (seconds, when settling a large batch's
    # results keeps the process busy); learned while it runs, the leftovers leave at once.
    _, state = sandbox
    state.config.batch_error_skus = {"L3"}
    gw = await make_gateway(batch_enabled=True, pack_size=5)
    requests = [CardRequest(f"L{i}", 1, product(f"L{i}"), priority_low=True) for i in range(10)]
    results = await gw.generate_cards(requests)
    assert all(r.draft is not None for r in results), [r.error for r in results]
    routes = [entry.route for entry in state.log]
    # The 1-token call went out before the batch's results were fetched, and no leftover waited for it.
    assert routes.index("messages") < routes.index("batches.results")
    assert routes.count("messages") == 1 + 5
    assert gw.stats().probe_calls == 1
    await gw.close()
