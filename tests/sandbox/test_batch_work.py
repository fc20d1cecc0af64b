"""A batch's answers worked out early, in a thread: an error there is in the sandbox's log at once, and
the answers are still worked out (again) by whoever asks for them."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from aimanager_sandbox.llm import batch_work


async def test_an_error_in_the_early_work_is_logged_and_the_next_look_computes_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    batch: dict[str, Any] = {}
    attempts: list[int] = []

    def compute() -> list[str]:
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("tokenizer table missing")
        return ["answer"]

    with caplog.at_level(logging.WARNING, logger="aimanager_sandbox.llm.batch_work"):
        batch_work.start(batch, lambda: batch_work.answers(batch, compute))
        for _ in range(200):  # the thread's failure reaches the loop as a done callback
            if caplog.records:
                break
            await asyncio.sleep(0.01)
    assert any("tokenizer table missing" in r.getMessage() for r in caplog.records)
    assert batch_work.answers(batch, compute) == ["answer"] and len(attempts) == 2
