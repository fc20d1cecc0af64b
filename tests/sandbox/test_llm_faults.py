"""Faults of the LLM sandbox through the official SDKs: rates, a staged outage that ends, echoed headers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import anthropic
import httpx
import openai
import pytest

from aimanager_sandbox.common.serving import BackgroundServer
from aimanager_sandbox.llm import PERFECT, SandboxState, create_app, perfect

KEY = "sk-ant-very-secret-key-123"
PING = [{"role": "user", "content": "ping"}]


class Running:
    def __init__(self, server: BackgroundServer, state: SandboxState) -> None:
        self.url = server.base_url
        self.state = state
        self.claude = anthropic.AsyncAnthropic(base_url=self.url, api_key=KEY, max_retries=0)
        self.gpt = openai.AsyncOpenAI(base_url=self.url + "/v1", api_key=KEY, max_retries=0)
        self.http = httpx.AsyncClient(base_url=self.url, trust_env=False)

    async def ask(self, model: str = "claude-haiku-5-5") -> str:
        answer = await self.claude.messages.create(model=model, max_tokens=50, messages=PING)  # type: ignore[arg-type]
        return answer.content[0].text

    async def faults(self, **body: Any) -> dict[str, Any]:
        answer = await self.http.post("/_sandbox/faults", json=body)
        answer.raise_for_status()
        return dict(answer.json())


@pytest.fixture
async def sandbox() -> AsyncIterator[Running]:
    # time_scale 0.01: a 100-second outage lasts one real second
    app = create_app(perfect(time_scale=0.01, rpm=None, itpm=None, otpm=None))
    with BackgroundServer(app) as server:
        running = Running(server, app.state.sandbox)
        yield running
        await running.claude.close()
        await running.gpt.close()
        await running.http.aclose()


async def test_an_outage_staged_while_running_answers_529_for_its_length_then_recovers(
    sandbox: Running,
) -> None:
    assert await sandbox.ask() == "OK."
    staged = await sandbox.faults(outage_s=100, status=529)
    assert staged["outage_left_s"] > 0
    overloaded = 0
    deadline = time.monotonic() + 30  # a guard against a hang, not a timing assertion
    while True:
        try:
            await sandbox.ask()
            break
        except anthropic.APIStatusError as exc:
            assert exc.status_code == 529 and exc.type == "overloaded_error"
            overloaded += 1
        assert time.monotonic() < deadline, "the outage never ended"
        await asyncio.sleep(0.02)
    assert overloaded >= 1
    stats = (await sandbox.http.get("/_sandbox/stats")).json()
    assert stats["outage_errors"] == overloaded and stats["outage_left_s"] == 0
    assert (await sandbox.faults())["outage_left_s"] == 0


async def test_an_outage_of_one_model_leaves_the_others_up(sandbox: Running) -> None:
    await sandbox.faults(outage_s=10_000, status=500, model="claude-haiku-5-5")
    with pytest.raises(anthropic.InternalServerError):
        await sandbox.ask("claude-haiku-5-5")
    assert await sandbox.ask("claude-sonnet-5-5") == "OK."
    sandbox.state.outage(10_000, 529, "gpt-5.6-luna")  # the same from Python; OpenAI says 503
    with pytest.raises(openai.APIStatusError) as caught:
        await sandbox.gpt.chat.completions.create(model="gpt-5.6-luna", messages=PING)  # type: ignore[arg-type]
    assert caught.value.status_code == 503


async def test_fault_rates_changed_at_run_time(sandbox: Running) -> None:
    await sandbox.faults(rate_limit_rate=1.0)
    with pytest.raises(anthropic.RateLimitError) as limited:
        await sandbox.ask()
    headers = limited.value.response.headers
    assert int(headers["retry-after"]) >= 1 and int(headers["retry-after-ms"]) >= 20  # 2-10 s × 0.01
    await sandbox.faults(rate_limit_rate=0.0, error_500_rate=1.0)
    with pytest.raises(anthropic.InternalServerError) as failed:
        await sandbox.ask()
    assert failed.value.status_code == 500
    await sandbox.faults(error_500_rate=0.0, overload_rate=1.0)
    with pytest.raises(anthropic.APIStatusError) as overloaded:
        await sandbox.ask()
    assert overloaded.value.status_code == 529
    with pytest.raises(openai.APIStatusError) as gpt_overloaded:
        await sandbox.gpt.chat.completions.create(model="gpt-5.6-luna", messages=PING)  # type: ignore[arg-type]
    assert gpt_overloaded.value.status_code == 503
    await sandbox.faults(**PERFECT)
    assert await sandbox.ask() == "OK."
    assert sandbox.state.stats()["injected_faults"] == {"rate_limit": 1, "server_error": 1, "overloaded": 2}
    unknown = await sandbox.http.post("/_sandbox/faults", json={"no_such_rate": 1})
    assert unknown.status_code == 400 and unknown.json()["unknown"] == ["no_such_rate"]


async def test_error_bodies_echo_the_request_headers_when_asked(sandbox: Running) -> None:
    await sandbox.faults(error_500_rate=1.0)
    with pytest.raises(anthropic.InternalServerError) as plain:
        await sandbox.ask()
    assert KEY not in str(plain.value) and KEY not in plain.value.response.text
    await sandbox.faults(echo_headers_in_errors=True)
    with pytest.raises(anthropic.InternalServerError) as echoed:
        await sandbox.ask()
    assert KEY in str(echoed.value)  # what a client would store as the error, key and all
    # verbatim: x-api-key or "authorization: Bearer …", whichever the SDK sends
    assert any(KEY in value for value in echoed.value.response.json()["request_headers"].values())
    with pytest.raises(openai.InternalServerError) as gpt_echoed:
        await sandbox.gpt.chat.completions.create(model="gpt-5.6-luna", messages=PING)  # type: ignore[arg-type]
    assert f"Bearer {KEY}" in str(gpt_echoed.value)
