"""The LLM sandbox bills and cuts like a provider: real token counts, ``max_tokens`` at that count,
``count_tokens``, latency that grows with the output — through the official SDKs over loopback."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import anthropic
import openai
import pytest

from aimanager.domain.cards import ProductFacts
from aimanager.llm.prompts import CARD_SYSTEM, card_user_message, prepare_facts
from aimanager.llm.tokens import estimate_tokens
from aimanager.pipelines.catalog.rows import parse_attributes
from aimanager_lab.sample_catalog import generate_catalog
from aimanager_sandbox.common.serving import BackgroundServer
from aimanager_sandbox.llm import SandboxConfig, SandboxState, create_app, perfect

CLAUDE, GPT = "claude-haiku-5-5", "gpt-5.6-luna"


def pack_prompt(n: int) -> str:
    rows = generate_catalog(partners=1, skus=n)
    facts = [
        prepare_facts(
            ProductFacts(
                sku=r["sku"],
                name=r["name"],
                brand=r["brand"],
                category=r["category"],
                description=r["description"],
                attributes=parse_attributes(r["attributes"]),
            )
        ).facts
        for r in rows
    ]
    return card_user_message([(str(i), f) for i, f in enumerate(facts)])


class Server:
    def __init__(self, config: SandboxConfig) -> None:
        self.app = create_app(config)
        self.server = BackgroundServer(self.app)
        self.url = self.server.start()
        self.state: SandboxState = self.app.state.sandbox
        self.claude = anthropic.AsyncAnthropic(base_url=self.url, api_key="sk-test", max_retries=0)
        self.gpt = openai.AsyncOpenAI(base_url=self.url + "/v1", api_key="sk-test", max_retries=0)

    async def close(self) -> None:
        await self.claude.close()
        await self.gpt.close()
        self.server.stop()


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    running = Server(perfect(time_scale=0.001, rpm=None, itpm=None, otpm=None))
    yield running
    await running.close()


def message(user: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": user}]


async def test_usage_is_a_real_count_far_above_the_client_estimate(server: Server) -> None:
    user = pack_prompt(5)
    answer = await server.claude.messages.create(
        model=CLAUDE, max_tokens=20_000, system=CARD_SYSTEM, messages=message(user)
    )
    text = answer.content[0].text
    assert answer.stop_reason == "end_turn" and len(json.loads(text)["items"]) == 5
    assert answer.usage.output_tokens > 1.4 * estimate_tokens(text)  # Cyrillic/Uzbek JSON
    assert answer.usage.input_tokens > estimate_tokens(CARD_SYSTEM) + estimate_tokens(user)
    assert server.state.stats()["output_tokens"] == answer.usage.output_tokens


async def test_count_tokens_equals_the_usage_input(server: Server) -> None:
    user = pack_prompt(3)
    counted = await server.claude.messages.count_tokens(
        model=CLAUDE, system=CARD_SYSTEM, messages=message(user)
    )
    answer = await server.claude.messages.create(
        model=CLAUDE, max_tokens=10_000, system=CARD_SYSTEM, messages=message(user)
    )
    assert counted.input_tokens == answer.usage.input_tokens
    # With the prompt cache the same total is split into fresh, written and read input.
    system = [{"type": "text", "text": CARD_SYSTEM * 4, "cache_control": {"type": "ephemeral"}}]
    counted = await server.claude.messages.count_tokens(model=CLAUDE, system=system, messages=message(user))
    for _ in range(2):
        usage = (
            await server.claude.messages.create(
                model=CLAUDE, max_tokens=10_000, system=system, messages=message(user)
            )
        ).usage
        cached = usage.cache_read_input_tokens or usage.cache_creation_input_tokens or 0
        assert cached > 0 and usage.input_tokens + cached == counted.input_tokens
    assert usage.cache_read_input_tokens  # the second call read what the first wrote


async def test_max_tokens_cuts_at_exactly_that_count_anthropic(server: Server) -> None:
    user = pack_prompt(4)
    full = await server.claude.messages.create(
        model=CLAUDE, max_tokens=20_000, system=CARD_SYSTEM, messages=message(user)
    )
    assert full.stop_reason == "end_turn"
    limit = full.usage.output_tokens // 3
    cut = await server.claude.messages.create(
        model=CLAUDE, max_tokens=limit, system=CARD_SYSTEM, messages=message(user)
    )
    assert cut.stop_reason == "max_tokens" and cut.usage.output_tokens == limit
    assert full.content[0].text.startswith(cut.content[0].text)
    assert len(cut.content[0].text) < len(full.content[0].text)
    assert server.state.stats()["cut_calls"] == 1


async def test_max_tokens_cuts_at_exactly_that_count_openai(server: Server) -> None:
    messages = [{"role": "system", "content": CARD_SYSTEM}, *message(pack_prompt(4))]
    full = await server.gpt.chat.completions.create(
        model=GPT, max_completion_tokens=20_000, messages=messages
    )
    assert full.choices[0].finish_reason == "stop" and full.usage is not None
    limit = full.usage.completion_tokens // 2
    cut = await server.gpt.chat.completions.create(model=GPT, max_tokens=limit, messages=messages)  # type: ignore[arg-type]
    assert cut.choices[0].finish_reason == "length" and cut.usage is not None
    assert cut.usage.completion_tokens == limit
    assert (full.choices[0].message.content or "").startswith(cut.choices[0].message.content or "?")


async def test_a_cut_never_leaves_half_a_character(server: Server) -> None:
    user = pack_prompt(1)
    full = await server.claude.messages.create(
        model=CLAUDE, max_tokens=5000, system=CARD_SYSTEM, messages=message(user)
    )
    text = full.content[0].text
    for limit in range(1, 200):
        head = (
            (await server.claude.messages.create(model=CLAUDE, max_tokens=limit, messages=message(user)))
            .content[0]
            .text
        )
        assert text.startswith(head) and "\ufffd" not in head


async def test_latency_grows_with_the_output() -> None:
    """Server-side durations (``x-sandbox-duration-ms``) of a short and a long answer: the long one takes
    at least its output at the configured throughput longer."""
    config = perfect(time_scale=0.01, rpm=None, itpm=None, otpm=None)
    config.update({"ttft_min_s": 0.5, "ttft_max_s": 0.5, "tps_min": 200.0, "tps_max": 200.0})
    running = Server(config)
    try:
        user = pack_prompt(2)
        durations, outputs = [], []
        for limit in (20, 2000):
            raw = await running.claude.messages.with_raw_response.create(
                model=CLAUDE, max_tokens=limit, system=CARD_SYSTEM, messages=message(user)
            )
            durations.append(float(raw.headers["x-sandbox-duration-ms"]))
            outputs.append((await raw.parse()).usage.output_tokens)
        assert outputs == [20, 2000]
        # Each call lasts at least ttft + output / throughput (× time_scale), so the long one at least
        # 1980 / 200 × 0.01 s = 99 ms more than the short one's lower bound.
        assert durations[0] >= (0.5 + 20 / 200) * 0.01 * 1000
        assert durations[1] >= (0.5 + 2000 / 200) * 0.01 * 1000
        assert durations[1] > durations[0]
    finally:
        await running.close()


async def test_streaming_is_refused_clearly(server: Server) -> None:
    with pytest.raises(anthropic.BadRequestError, match="does not stream"):
        await server.claude.messages.create(model=CLAUDE, max_tokens=100, messages=message("hi"), stream=True)
    with pytest.raises(openai.BadRequestError, match="does not stream"):
        await server.gpt.chat.completions.create(model=GPT, messages=message("hi"), stream=True)  # type: ignore[arg-type]
