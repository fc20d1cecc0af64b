"""Packs go to the rate limiter one at a time, each cut when its turn comes so the last calls of a
backlog end about when the output-tokens limit has written everything (not a whole pack later)."""

from __future__ import annotations

import asyncio
from typing import Any

from aimanager.llm.buckets import Limits
from aimanager.llm.calls import Caller
from aimanager.llm.limiter import AdaptiveConcurrency, RateLimiter
from aimanager.llm.pack_turns import PackTurns, cut_to
from aimanager.llm.router import Router
from aimanager.llm.types import GatewayStats, ModelRef


async def test_packs_take_turns_in_order_and_see_what_waits_behind_them() -> None:
    turns = PackTurns()
    seen: list[tuple[str, int]] = []
    release = asyncio.Event()

    async def pack(name: str, items: int, hold: bool = False) -> None:
        async with turns.turn("m", items) as behind:
            seen.append((name, behind))
            if hold:
                await release.wait()

    first = asyncio.create_task(pack("a", 20, hold=True))
    await asyncio.sleep(0)
    rest = [asyncio.create_task(pack(name, items)) for name, items in (("b", 20), ("c", 7))]
    await asyncio.sleep(0)
    assert seen == [("a", 0)]  # b and c wait for a's turn to end
    release.set()
    await asyncio.gather(first, *rest)
    assert seen == [("a", 0), ("b", 7), ("c", 0)]  # in order; b saw c's 7 items behind it


def test_pieces_are_cut_to_the_size_asked_and_keep_their_order() -> None:
    assert cut_to([list(range(20))], 6) == [
        [0, 1, 2, 3, 4, 5],
        [6, 7, 8, 9, 10, 11],
        [12, 13, 14, 15, 16, 17],
        [18, 19],
    ]
    assert cut_to([[1, 2], [3]], None) == [[1, 2], [3]]


def test_a_call_carries_as_many_items_as_end_when_the_limit_has_written_the_rest() -> None:
    ref = ModelRef("anthropic", "m")
    limiter = RateLimiter(defaults={str(ref): Limits(otpm=800_000)})  # 13,333 tokens a second
    caller = Caller({}, Router({}, {}, ()), limiter, AdaptiveConcurrency(), GatewayStats())
    assert caller.items_per_call(ref, 2_000) is None  # no call's speed measured yet
    caller._speed[str(ref)] = 150.0  # one call writes 150 tokens a second
    # 2,000 items take the limit 2,000 τ / 13,333 s; a call of n items takes n τ / 150 s.
    assert caller.items_per_call(ref, 2_000) == 22
    assert caller.items_per_call(ref, 400) == 4
    assert caller.items_per_call(ref, 20) == 1  # the last ones go alone
    unknown = Caller({}, Router({}, {}, ()), RateLimiter(), AdaptiveConcurrency(), GatewayStats())
    unknown._speed[str(ref)] = 150.0
    assert unknown.items_per_call(ref, 2_000) is None  # no limit known: nothing to pace against


async def test_the_packs_that_start_last_go_in_shorter_calls(
    make_gateway: Any, sandbox: Any, engine: Any
) -> None:
    # A backlog of packs under an output-tokens limit: once a call's speed is known, the packs whose
    # turn comes last are cut so their calls end with the limit's work, not a whole pack later.
    from sqlalchemy import select

    from aimanager.db.models import AIUsageLog
    from aimanager.llm import CardRequest
    from tests.llm.conftest import product

    _, state = sandbox
    state.config.otpm = 800_000
    # Our burst shallower than one pack's max_tokens: the packs queue for the limit, as in a real backlog.
    gw = await make_gateway(pack_size=20, limiter_burst_seconds=0.002)
    first = await gw.generate_cards([CardRequest(f"W{i}", 1, product(f"W{i}")) for i in range(20)])
    assert all(r.draft for r in first)  # one pack: the limits and a call's speed are known now
    results = await gw.generate_cards([CardRequest(f"K{i}", 1, product(f"K{i}")) for i in range(200)])
    assert all(r.draft for r in results), [r.error for r in results if r.error]
    async with engine.connect() as conn:
        sizes = list((await conn.execute(select(AIUsageLog.items).order_by(AIUsageLog.id))).scalars())
    backlog = sizes[1:]
    assert sum(backlog) == 200 and max(backlog) <= 20
    # Ten full packs would be ten calls of 20; the last of them went in calls of a few cards.
    assert len(backlog) > 10 and min(backlog[-3:]) < 20, backlog
    await gw.close()
