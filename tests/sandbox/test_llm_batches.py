"""The Batch APIs of the LLM sandbox through the official SDKs: turnaround, expired and errored requests."""

from __future__ import annotations

import asyncio
import io
import json
import time
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import anthropic
import openai
import pytest

from aimanager.domain.cards import ProductFacts
from aimanager.llm.prompts import CARD_SYSTEM, card_user_message
from aimanager_sandbox.common.serving import BackgroundServer
from aimanager_sandbox.llm import SandboxState, create_app, perfect

SCALE = 0.0001  # 5-60 sandbox minutes become 30-360 ms
USER = card_user_message(
    [
        (
            "a",
            ProductFacts(
                sku="B1", name="Рюкзак городской Xiaomi Urban", brand="Xiaomi", attributes={"Цвет": "серый"}
            ),
        )
    ]
)


@pytest.fixture
async def sandbox() -> AsyncIterator[tuple[SandboxState, anthropic.AsyncAnthropic, openai.AsyncOpenAI]]:
    app = create_app(perfect(time_scale=SCALE, rpm=None, itpm=None, otpm=None))
    with BackgroundServer(app) as server:
        claude = anthropic.AsyncAnthropic(base_url=server.base_url, api_key="sk-test", max_retries=0)
        gpt = openai.AsyncOpenAI(base_url=server.base_url + "/v1", api_key="sk-test", max_retries=0)
        yield app.state.sandbox, claude, gpt
        await claude.close()
        await gpt.close()


def requests(n: int, max_tokens: int = 20_000, prefix: str = "r") -> list[dict[str, Any]]:
    params = {
        "model": "claude-haiku-5-5",
        "max_tokens": max_tokens,
        "system": CARD_SYSTEM,
        "messages": [{"role": "user", "content": USER}],
    }
    return [{"custom_id": f"{prefix}{i}", "params": params} for i in range(n)]


async def ended(claude: anthropic.AsyncAnthropic, batch_id: str) -> Any:
    deadline = time.monotonic() + 30  # a guard against a hang, not a timing assertion
    while True:
        batch = await claude.messages.batches.retrieve(batch_id)
        if batch.processing_status == "ended":
            return batch
        assert batch.results_url is None  # results only once it has ended
        assert time.monotonic() < deadline
        await asyncio.sleep(0.01)


async def test_a_batch_takes_minutes_then_answers_like_real_time(sandbox: Any) -> None:
    state, claude, _ = sandbox
    created = await claude.messages.batches.create(requests=[*requests(2), *requests(1, 40, "cut")])
    assert created.processing_status == "in_progress" and created.results_url is None
    batch = await ended(claude, created.id)
    took = (
        datetime.fromisoformat(str(batch.ended_at)) - datetime.fromisoformat(str(batch.created_at))
    ).total_seconds()
    assert 300 * SCALE <= took <= 3600 * SCALE  # 5-60 sandbox minutes
    assert batch.results_url and batch.request_counts.succeeded == 3
    results = [r async for r in await claude.messages.batches.results(created.id)]
    messages = [r.result.message for r in results if r.result.type == "succeeded"]
    assert [m.stop_reason for m in messages] == ["end_turn", "end_turn", "max_tokens"]
    assert messages[2].usage.output_tokens == 40 and messages[0].content[0].text.startswith(
        messages[2].content[0].text
    )
    assert state.stats()["batch_requests"] == {"succeeded": 3}


@pytest.mark.parametrize("kind", ["expired", "errored"])
async def test_anthropic_batch_requests_expire_or_error_at_their_rate(sandbox: Any, kind: str) -> None:
    state, claude, _ = sandbox
    state.config.update({f"batch_{kind}_rate": 1.0, "batch_seconds": 1.0})
    created = await claude.messages.batches.create(requests=requests(3))
    batch = await ended(claude, created.id)
    assert getattr(batch.request_counts, kind) == 3 and batch.request_counts.succeeded == 0
    results = [r async for r in await claude.messages.batches.results(created.id)]
    assert [r.result.type for r in results] == [kind] * 3


@pytest.mark.parametrize(("kind", "code"), [("expired", "batch_expired"), ("errored", "server_error")])
async def test_openai_batch_requests_expire_or_error_at_their_rate(
    sandbox: Any, kind: str, code: str
) -> None:
    state, _, gpt = sandbox
    state.config.update({f"batch_{kind}_rate": 1.0})
    lines = [
        {
            "custom_id": f"r{i}",
            "method": "POST",
            "url": "/v1/chat/completions",
            "body": {"model": "gpt-5.6-luna", "messages": [{"role": "user", "content": USER}]},
        }
        for i in range(2)
    ]
    data = "\n".join(json.dumps(line, ensure_ascii=False) for line in lines).encode()
    uploaded = await gpt.files.create(file=("batch.jsonl", io.BytesIO(data)), purpose="batch")
    batch = await gpt.batches.create(
        input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    assert batch.status == "in_progress" and batch.output_file_id is None
    deadline = time.monotonic() + 30
    while batch.status != "completed":
        assert time.monotonic() < deadline
        await asyncio.sleep(0.01)
        batch = await gpt.batches.retrieve(batch.id)
    assert batch.request_counts is not None and batch.request_counts.failed == 2
    assert batch.error_file_id is not None
    errors = [json.loads(x) for x in (await gpt.files.content(batch.error_file_id)).text.splitlines() if x]
    assert [e["error"]["code"] for e in errors] == [code, code]
    assert (await gpt.files.content(str(batch.output_file_id))).text.strip() == ""


async def test_a_batch_is_worked_on_while_it_runs_and_published_only_at_its_end(sandbox: Any) -> None:
    # A provider answers a batch's requests while it runs: at its end the results are there. Worked out
    # on the first poll after the end instead, 2,000 answers held that poll for seconds of CPU.
    state, claude, gpt = sandbox
    state.config.update({"batch_seconds": 20_000.0})  # 2 s here: ends long after its answers are ready
    created = await claude.messages.batches.create(requests=requests(5))
    upload = await gpt.files.create(
        file=("in.jsonl", io.BytesIO(b"")), purpose="batch"
    )  # an empty input: only the OpenAI batch's bookkeeping is looked at
    opened = await gpt.batches.create(
        input_file_id=upload.id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    deadline = time.monotonic() + 30  # a guard against a hang, not a timing assertion
    while not all("_work_done" in state.batches[i] for i in (created.id, opened.id)):
        assert time.monotonic() < deadline
        await asyncio.sleep(0.005)
    early = await claude.messages.batches.retrieve(created.id)
    # Worked out, still not published: no results, no output file, before the batch's end.
    assert early.processing_status == "in_progress" and early.results_url is None
    assert (await gpt.batches.retrieve(opened.id)).output_file_id is None
    batch = await ended(claude, created.id)
    assert batch.request_counts.succeeded == 5
    assert len([r async for r in await claude.messages.batches.results(created.id)]) == 5
