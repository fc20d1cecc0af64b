"""A call that timed out may still be billed: its ledger rows are kept at worst case, never dropped.

Through the real SDKs against the LLM sandbox behind ``Holding``: the sandbox generates (and counts as
billed) the answer of a held call, but the answer never reaches the client, whose timeout fires — what a
real provider does when a client gives up. An error status and a refused connection still leave no row.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import anthropic
import httpx
import httpx2
import openai
import pytest
from sqlalchemy import update

from aimanager.db.engine import session_factory
from aimanager.db.models import AIUsageLog
from aimanager.llm import CardRequest, Gateway, GatewayConfig
from aimanager.llm.errors import ProviderOverloaded, ProviderTimedOut, ProviderUnavailable, RateLimited
from aimanager.llm.prices import default_prices
from aimanager.llm.providers import anthropic as anthropic_provider
from aimanager.llm.providers import openai as openai_provider
from aimanager.llm.providers.base import RetryPolicy, with_retries
from aimanager.llm.types import Usage
from aimanager.pipelines.services import spend
from aimanager.retry import Backoff
from aimanager_sandbox.common.serving import BackgroundServer
from aimanager_sandbox.llm import Fault, SandboxConfig, SandboxState, create_app
from tests.llm.conftest import KIND_MODEL, product
from tests.llm.test_ledger_in_flight import close, partners, rows

# Short enough to keep the tests quick, far above what a sandbox answer takes (a few milliseconds).
TIMEOUT_S = 0.5
CALLS = ("/v1/messages", "/v1/chat/completions")


class Holding:
    """The sandbox, except that the next ``hold`` model calls are generated (and counted as billed) by
    it but never answered: the request is held until the client hangs up."""

    def __init__(self, app: Any) -> None:
        self.app, self.hold, self.held = app, 0, 0
        self.lock = threading.Lock()

    def _take(self) -> bool:
        with self.lock:
            if self.hold <= 0:
                return False
            self.hold -= 1
            self.held += 1
            return True

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if not (scope["type"] == "http" and scope["path"] in CALLS and self._take()):
            await self.app(scope, receive, send)
            return
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        replay = [{"type": "http.request", "body": body, "more_body": False}]

        async def again() -> Any:
            return replay.pop() if replay else await receive()

        async def swallow(message: Any) -> None:
            return None

        await self.app(scope, again, swallow)  # generated and billed by the provider …
        while (await receive())["type"] != "http.disconnect":  # … but never answered
            pass


@pytest.fixture
def holding() -> Iterator[tuple[str, SandboxState, Holding]]:
    app = create_app(SandboxConfig(**KIND_MODEL))
    held = Holding(app)
    with BackgroundServer(held) as server:
        yield server.base_url, app.state.sandbox, held


async def gateway(url: str, engine: Any, provider: str, **overrides: Any) -> Gateway:
    values: dict[str, Any] = dict(
        provider=provider,
        anthropic_api_key="sk-sandbox",
        anthropic_base_url=url,
        openai_api_key="sk-sandbox",
        openai_base_url=url + "/v1",
        cache_store="none",
        retry_base_delay_s=0.001,
        request_timeout_s=TIMEOUT_S,
        pack_window_s=0.02,
        max_retries=1,
    )
    values.update(overrides)
    return await Gateway.create(GatewayConfig(**values), engine)


def at_worst_case(row: Any) -> bool:
    """The row is its call's worst case: estimated input (uncached or cache-written, whichever is
    dearer) plus every token of ``max_tokens``, at the pinned price (one partner: the whole call)."""
    price = default_prices().price(row.model)
    estimate, max_tokens = row.detail["input_estimate"], row.detail["max_tokens"]
    worst = max(
        price.cost(Usage(input_tokens=estimate, output_tokens=max_tokens)),
        price.cost(Usage(cache_write_tokens=estimate, output_tokens=max_tokens)),
    )
    return bool(row.detail["estimate"]) and row.output_tokens == max_tokens and close(row.cost_usd, worst)


PROVIDERS = pytest.mark.parametrize("provider", ["anthropic", "openai"])


@PROVIDERS
async def test_a_call_whose_every_attempt_times_out_keeps_its_rows_and_they_are_swept_lost(
    holding: tuple[str, SandboxState, Holding], engine: Any, provider: str
) -> None:
    url, state, held = holding
    held.hold = 100
    [a] = await partners(engine, None)
    gw = await gateway(url, engine, provider)
    [result] = await gw.generate_cards([CardRequest("t0", a, product("T0"))])
    assert result.draft is None and result.failure == "call", result
    assert held.held == 2 and state.output_tokens > 0  # both attempts sent, generated, billed
    first, last = await rows(engine)
    # The retried attempt is booked at once, the last one stays pending: nothing was dropped.
    assert (first.outcome, first.detail.get("timed_out"), last.outcome) == ("lost", True, "pending")
    assert {first.provider, last.provider} == {provider}
    assert at_worst_case(first) and at_worst_case(last)
    assert first.output_tokens + last.output_tokens >= state.output_tokens

    # The worker's call timeout + margin pass: the pending row is swept to lost at its worst case.
    gone_for = timedelta(seconds=gw.accounting.in_flight.lost_after_s[0] + 60)
    async with engine.begin() as conn:
        stmt = update(AIUsageLog).where(AIUsageLog.id == last.id)
        await conn.execute(stmt.values(created_at=datetime.now(UTC) - gone_for))
    assert await gw.accounting.in_flight.sweep() == 1
    booked = await rows(engine)
    assert [(r.id, r.outcome) for r in booked] == [(first.id, "lost"), (last.id, "lost")]
    assert [r.cost_usd for r in booked] == [first.cost_usd, last.cost_usd]
    worst = first.cost_usd + last.cost_usd
    now = datetime.now(UTC)
    async with session_factory(engine)() as s:
        [spent] = await spend.spend(s, [a], group="partner", since=now - timedelta(days=1), until=now)
    assert close(spent.cost_usd, worst) and close(spent.estimated_usd, worst)
    await gw.close()


@PROVIDERS
async def test_a_call_that_times_out_once_then_answers_books_both(
    holding: tuple[str, SandboxState, Holding], engine: Any, provider: str
) -> None:
    url, state, held = holding
    held.hold = 1
    [a] = await partners(engine, None)
    gw = await gateway(url, engine, provider)
    [result] = await gw.generate_cards([CardRequest("o0", a, product("O0"))])
    assert result.draft is not None, result.error
    assert held.held == 1
    timed_out, answered = await rows(engine)
    assert (timed_out.outcome, timed_out.detail.get("timed_out")) == ("lost", True)
    assert at_worst_case(timed_out)
    stats = gw.stats()
    assert answered.outcome == "ok" and not answered.detail.get("estimate")
    assert (answered.input_tokens, answered.output_tokens) == (
        stats.usage.input_tokens,
        stats.usage.output_tokens,
    )
    assert answered.cost_usd == stats.cost_usd < timed_out.cost_usd
    # The sandbox billed both attempts; the ledger holds the answer plus the timed-out attempt's worst.
    assert timed_out.output_tokens + answered.output_tokens >= state.output_tokens > stats.usage.output_tokens
    await gw.close()


@PROVIDERS
async def test_a_timeout_then_an_error_status_keeps_only_the_timed_out_attempt(
    holding: tuple[str, SandboxState, Holding], engine: Any, provider: str
) -> None:
    url, state, held = holding
    held.hold = 1
    state.script(*[Fault("overloaded") for _ in range(5)])  # the held call takes one, the retry the next
    [a] = await partners(engine, None)
    gw = await gateway(url, engine, provider)
    [result] = await gw.generate_cards([CardRequest("m0", a, product("M0"))])
    assert result.draft is None and result.failure == "call", result
    [timed_out] = await rows(engine)  # the 529 answered before generation: its rows went
    assert (timed_out.outcome, timed_out.detail.get("timed_out")) == ("lost", True)
    assert at_worst_case(timed_out)
    await gw.close()


def free_port() -> int:
    """A loopback port nothing listens on (bound, then closed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@PROVIDERS
@pytest.mark.parametrize("fault", ["overloaded", "server_error", "refused"])
async def test_an_error_status_or_a_refused_connection_still_drops_the_rows(
    holding: tuple[str, SandboxState, Holding], engine: Any, provider: str, fault: str
) -> None:
    url, state, _ = holding
    if fault == "refused":
        url = f"http://127.0.0.1:{free_port()}"
    else:
        state.script(*[Fault(fault) for _ in range(5)])
    [a] = await partners(engine, None)
    gw = await gateway(url, engine, provider)
    [result] = await gw.generate_cards([CardRequest("e0", a, product("E0"))])
    assert result.draft is None and result.failure == "call", result
    assert await rows(engine) == []  # nothing was generated: no row left, none lost
    if fault != "refused":
        assert state.count("messages" if provider == "anthropic" else "chat") == 2
    assert state.output_tokens == 0
    await gw.close()


# -- classify: what each SDK raises, sent or not --------------------------------------------------------
def chained(make: Callable[[], Exception], cause: BaseException | None) -> Exception:
    """``make()`` raised from ``cause``, as the SDKs raise theirs from the transport's."""
    try:
        if cause is None:
            raise make()
        try:
            raise cause
        except BaseException as err:
            raise make() from err
    except Exception as exc:
        return exc


REQUEST = httpx2.Request("POST", "http://127.0.0.1/v1/messages")
TRANSPORT: list[tuple[str, BaseException | None, str]] = [
    ("timeout", httpx2.ReadTimeout("read", request=REQUEST), "timeout"),
    ("timeout", httpx2.ConnectTimeout("connect"), "unavailable"),
    ("timeout", httpx2.PoolTimeout("pool"), "unavailable"),
    ("timeout", httpx2.WriteTimeout("write"), "unavailable"),
    ("connection", httpx2.ConnectError("refused"), "unavailable"),
    ("connection", httpx2.RemoteProtocolError("Server disconnected"), "timeout"),
    ("connection", httpx2.ReadError("reset"), "timeout"),
    ("connection", httpx.ConnectError("refused"), "unavailable"),  # an SDK on the older httpx
    ("connection", httpx.ReadTimeout("read"), "timeout"),
    ("connection", None, "timeout"),  # cannot tell: counted as sent
]


@pytest.mark.parametrize("sdk", [anthropic, openai])
@pytest.mark.parametrize(("error", "cause", "kind"), TRANSPORT)
def test_classify_tells_sent_from_never_sent(sdk: Any, error: str, cause: Any, kind: str) -> None:
    classify = anthropic_provider.classify if sdk is anthropic else openai_provider.classify
    if error == "timeout":
        exc = chained(lambda: sdk.APITimeoutError(request=REQUEST), cause)
    else:
        exc = chained(lambda: sdk.APIConnectionError(request=REQUEST), cause)
    failure = classify(exc)
    assert (failure.kind, failure.error) == (kind, exc)


@pytest.mark.parametrize("sdk", [anthropic, openai])
def test_classify_keeps_error_statuses_apart_from_timeouts(sdk: Any) -> None:
    classify = anthropic_provider.classify if sdk is anthropic else openai_provider.classify
    for status, kind in ((529, "overloaded"), (500, "overloaded"), (400, "fatal")):
        response = httpx2.Response(status, request=REQUEST, json={"error": {"type": "x", "message": "m"}})
        exc = sdk.APIStatusError("m", response=response, body=None)
        assert classify(exc).kind == kind, status


def test_an_openai_upload_that_timed_out_billed_nothing() -> None:
    exc = chained(lambda: openai.APITimeoutError(request=REQUEST), httpx2.ReadTimeout("read"))
    assert openai_provider.classify(exc).kind == "timeout"
    assert openai_provider.classify_upload(exc).kind == "unavailable"


# -- the retry loop ---------------------------------------------------------------------------------------
class Billing:
    def __init__(self, fail: bool = False) -> None:
        self.reported, self.fail = 0, fail

    async def on_maybe_billed(self) -> None:
        self.reported += 1
        if self.fail:
            raise RuntimeError("ledger down")

    def on_throttled(self, retry_after: float | None) -> None:
        return None

    def on_overloaded(self) -> None:
        return None

    async def before_retry(self, kind: str, delay: float) -> None:
        await asyncio.sleep(delay)


POLICY = RetryPolicy(max_retries=2, backoff=Backoff(base=0.0001, cap=0.0001))


def failing(*causes: BaseException) -> tuple[Callable[[], Any], list[int]]:
    """A send that raises the SDK error of each cause in turn, then answers."""
    sent = [0]

    async def send() -> str:
        sent[0] += 1
        if sent[0] <= len(causes):
            raise chained(lambda: anthropic.APITimeoutError(request=REQUEST), causes[sent[0] - 1])
        return "answer"

    return send, sent


async def test_each_retried_timeout_is_reported_and_the_last_one_raises_timed_out() -> None:
    send, sent = failing(*[httpx2.ReadTimeout("read") for _ in range(3)])
    events = Billing()
    with pytest.raises(ProviderTimedOut):
        await with_retries(send, anthropic_provider.classify, POLICY, events, what="t")
    assert (sent[0], events.reported) == (3, 2)  # the last attempt is the caller's to keep

    send, sent = failing(httpx2.ReadTimeout("read"), httpx2.ConnectTimeout("connect"))
    events = Billing()
    assert await with_retries(send, anthropic_provider.classify, POLICY, events, what="t") == ("answer", 2)
    assert events.reported == 1  # the connect timeout was never sent

    send, sent = failing(*[httpx2.ConnectError("refused") for _ in range(3)])
    with pytest.raises(ProviderUnavailable) as raised:
        await with_retries(send, anthropic_provider.classify, POLICY, events, what="t")
    assert not isinstance(raised.value, ProviderTimedOut)


async def test_a_failed_report_stops_the_retries() -> None:
    send, sent = failing(httpx2.ReadTimeout("read"))
    assert await with_retries(send, anthropic_provider.classify, POLICY, None, what="t") == ("answer", 1)
    send, sent = failing(httpx2.ReadTimeout("read"))
    with pytest.raises(RuntimeError, match="ledger down"):
        await with_retries(send, anthropic_provider.classify, POLICY, Billing(fail=True), what="t")
    assert sent[0] == 1  # the retry never went out unbooked


async def test_overload_after_retries_is_not_a_timeout() -> None:
    body = {"type": "error", "error": {"type": "overloaded_error"}}
    response = httpx2.Response(529, request=REQUEST, json=body)

    async def send() -> None:
        raise anthropic.APIStatusError("overloaded", response=response, body=None)

    with pytest.raises(ProviderOverloaded):
        await asyncio.wait_for(
            with_retries(send, anthropic_provider.classify, POLICY, Billing(), what="t"), 10
        )


async def test_paced_429s_are_retried_past_the_count_while_their_waits_add_up_to_under_a_minute() -> None:
    """A 429 with a retry-after is the server pacing the client: ten of them in a row, each asking for a
    millisecond, do not fail the call that four other failures would; without end they still do."""
    response = httpx2.Response(
        429,
        request=REQUEST,
        headers={"retry-after-ms": "1"},
        json={"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}},
    )
    refusals = [0]

    def refusing(times: int) -> Callable[[], Any]:
        async def send() -> str:
            if refusals[0] < times:
                refusals[0] += 1
                raise anthropic.RateLimitError("slow down", response=response, body=None)
            return "answer"

        return send

    assert await with_retries(refusing(10), anthropic_provider.classify, POLICY, Billing(), what="t") == (
        "answer",
        10,
    )
    refusals[0] = 0
    with pytest.raises(RateLimited):
        await with_retries(refusing(10**6), anthropic_provider.classify, POLICY, Billing(), what="t")
    assert refusals[0] == RetryPolicy().max_paced_retries + 1  # bounded however short the waits
