"""A provider spend cap pauses LLM work for a stated period and it resumes by itself.

Calls in the pause fail at once as "call" (their jobs are retried later by the engine) and make no
HTTP request; after the pause the same gateway answers again, no restart needed.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from aimanager.llm import CardRequest
from aimanager_sandbox.llm import Fault
from tests.llm.conftest import engine, make_gateway, product, sandbox

__all__ = ["engine", "make_gateway", "sandbox"]  # fixtures of the LLM tests, used here


def cards(prefix: str, n: int) -> list[CardRequest]:
    return [CardRequest(f"{prefix}{i}", 1, product(f"{prefix}{i}")) for i in range(n)]


async def test_spend_cap_pauses_then_resumes_by_itself(
    make_gateway: Any, sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIMANAGER_LLM_SPEND_CAP_PAUSE_SECONDS", "0.5")
    _, state = sandbox
    state.script(Fault("spend_cap"))
    gw = await make_gateway()
    try:
        capped = await gw.generate_cards(cards("A", 3))
        assert {r.failure for r in capped} == {"call"}
        assert all("spend" in (r.error or "") for r in capped)
        assert gw.caller.paused_for() > 0
        during = await gw.generate_cards(cards("B", 2))
        assert {r.failure for r in during} == {"call"}
        assert "paused" in (during[0].error or "")
        assert state.count("messages") == 1  # the pause sends nothing
        deadline = time.monotonic() + 10
        while gw.caller.paused_for() > 0:
            assert time.monotonic() < deadline, "the pause never ended"
            await asyncio.sleep(0.05)
        after = await gw.generate_cards(cards("A", 3))
        assert [r.error for r in after] == [None] * 3
        assert state.count("messages") == 2
    finally:
        await gw.close()
