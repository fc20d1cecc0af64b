"""The cap on card jobs a worker holds follows the LLM limit's measured need for calls in flight."""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any

from aimanager.llm import CardRequest
from aimanager.pipelines.registry import (
    CARD_JOBS_HEADROOM,
    CARD_JOBS_IN_FLIGHT,
    CARD_JOBS_MAX,
    CARD_JOBS_MIN,
    card_jobs_in_flight,
)
from tests.llm.conftest import product


async def test_the_cap_is_the_default_until_measured_then_what_keeps_the_limit_busy(
    make_gateway: Any, sandbox: Any
) -> None:
    _, state = sandbox
    state.config.otpm = 800_000
    gw = await make_gateway()
    rt: Any = SimpleNamespace(gateway=gw)
    assert card_jobs_in_flight(rt) == CARD_JOBS_IN_FLIGHT  # no call yet: neither limit nor speed known
    [card] = await gw.generate_cards([CardRequest("A1", 1, product("A1"))])
    assert card.draft is not None
    needed = gw.calls_to_keep_busy()
    assert needed > 0
    cap = card_jobs_in_flight(rt)
    assert cap == max(CARD_JOBS_MIN, min(CARD_JOBS_MAX, math.ceil(needed * CARD_JOBS_HEADROOM)))
    # A limit ten times smaller needs ten times fewer calls in flight: the cap follows it down.
    state.config.otpm = 80_000
    state.buckets.clear()
    await gw.generate_cards([CardRequest("A2", 1, product("A2"))])
    assert gw.calls_to_keep_busy() < needed / 5
    assert card_jobs_in_flight(rt) < cap or cap == CARD_JOBS_MIN
    await gw.close()
