"""Every gateway path through the real SDKs against the sandbox over HTTP."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from aimanager.db.models import AIUsageLog
from aimanager.domain.validate import draft_errors
from aimanager.llm import CardRequest, NarrativeRequest
from aimanager_sandbox.llm import Fault
from tests.llm.conftest import product


def requests(n: int, partner: int = 1, prefix: str = "S", **kw: Any) -> list[CardRequest]:
    return [CardRequest(f"{prefix}{i}", partner, product(f"{prefix}{i}"), **kw) for i in range(n)]


async def ledger(engine: Any) -> list[AIUsageLog]:
    async with engine.connect() as conn:
        return list((await conn.execute(select(AIUsageLog).order_by(AIUsageLog.id))).all())


async def test_success_packs_items_into_one_call(make_gateway: Any, sandbox: Any, engine: Any) -> None:
    _, state = sandbox
    gw = await make_gateway()
    results = await gw.generate_cards(requests(3))
    assert [r.error for r in results] == [None] * 3
    assert all(r.path == "realtime" and r.model == "claude-haiku-5-5" for r in results)
    for req, res in zip(requests(3), results, strict=True):
        assert res.draft is not None and draft_errors(req.facts, res.draft) == []
    assert state.count("messages") == 1
    rows = await ledger(engine)
    assert len(rows) == 1 and rows[0].items == 3 and rows[0].path == "realtime" and rows[0].cost_usd > 0
    await gw.close()


async def test_concurrent_callers_share_a_pack(make_gateway: Any, sandbox: Any) -> None:
    _, state = sandbox
    gw = await make_gateway(pack_window_s=0.1)
    first, second = await asyncio.gather(
        gw.generate_cards(requests(3, partner=1, prefix="A")),
        gw.generate_cards(requests(4, partner=2, prefix="B")),
    )
    assert all(r.draft for r in first + second)
    # One pack (plus, for a pack this large, the 1-token request that learns the model's limits).
    assert state.count("messages") - gw.stats().probe_calls == 1
    await gw.close()


async def test_each_callers_items_fill_packs_of_their_own(
    make_gateway: Any, sandbox: Any, engine: Any
) -> None:
    """Two partners' 40 items each leave as 2 + 2 single-partner packs, not 4 mixed ones: a partner's
    cards then finish together instead of every partner waiting for the last pack."""
    _, state = sandbox
    gw = await make_gateway(pack_size=20, pack_window_s=0.1)
    first, second = await asyncio.gather(
        gw.generate_cards(requests(40, partner=1, prefix="A")),
        gw.generate_cards(requests(40, partner=2, prefix="B")),
    )
    assert all(r.draft for r in first + second)
    assert state.count("messages") - gw.stats().probe_calls == 4
    rows = await ledger(engine)
    assert len(rows) == 4 and {r.items for r in rows} == {20}  # one ledger row per call: one partner
    await gw.close()


async def test_429_with_retry_after_then_success(make_gateway: Any, sandbox: Any) -> None:
    _, state = sandbox
    state.script(Fault("rate_limit", retry_after_s=0.3))
    gw = await make_gateway()
    [result] = await gw.generate_cards(requests(1))
    assert result.draft is not None
    sent = [r for r in state.log if r.route == "messages"]
    assert [r.status for r in sent] == [429, 200]
    assert sent[1].at - sent[0].at >= 0.3  # the server's own clock: retry-after was honoured
    assert gw.stats().retries == 1
    await gw.close()


async def test_529_falls_back_to_next_model_only_when_allowed_and_counts_its_price(
    make_gateway: Any, sandbox: Any
) -> None:
    _, state = sandbox
    state.config.overloaded_models = {"claude-haiku-5-5"}
    # Sonnet is 20× Haiku: by default an outage does not move the work there; the items fail as "call"
    # (their job is retried later), without one call to Sonnet.
    gw = await make_gateway(max_retries=2)
    results = await gw.generate_cards(requests(2))
    assert all(r.draft is None and r.failure == "call" for r in results)
    assert "not a fallback" in (results[0].error or "")
    assert {r.model for r in state.log if r.route == "messages"} == {"claude-haiku-5-5"}
    await gw.close()
    # Allowed explicitly, the fallback answers, and its price is counted and reported.
    state.log.clear()
    gw = await make_gateway(max_retries=2, max_fallback_price_ratio=None)
    results = await gw.generate_cards(requests(2))
    assert all(r.model == "claude-sonnet-5-5" and r.draft for r in results)
    statuses = [(r.model, r.status) for r in state.log if r.route == "messages"]
    assert statuses == [("claude-haiku-5-5", 529)] * 3 + [("claude-sonnet-5-5", 200)]
    stats = gw.stats()
    assert (stats.fallbacks, stats.pricier_fallback_calls) == (1, 1)
    assert stats.fallback_extra_usd > stats.cost_usd / 2  # 20× the price: nearly all of it is extra
    await gw.close()


async def test_529_falls_back_across_providers(make_gateway: Any, sandbox: Any) -> None:
    _, state = sandbox
    state.config.overloaded_models = {"claude-haiku-5-5"}
    gw = await make_gateway(max_retries=0, fallback_providers=("openai",))
    [result] = await gw.generate_cards(requests(1))
    assert result.model == "gpt-5.6-luna" and result.draft is not None
    assert state.count("chat") == 1
    await gw.close()


async def test_spend_cap_pauses_llm_work_without_retrying(make_gateway: Any, sandbox: Any) -> None:
    """A spend cap cannot be retried away: no retry, no call during the pause; the items fail as
    "call" with how long the pause lasts, so their jobs come back after it."""
    _, state = sandbox
    state.script(Fault("spend_cap"))
    gw = await make_gateway()
    first = await gw.generate_cards(requests(3))
    later = await gw.generate_cards(requests(1, prefix="later"))
    for result in first + later:
        assert result.draft is None and result.failure == "call" and "spend" in (result.error or "")
        assert result.retry_after_s is not None and result.retry_after_s > 0
    assert state.count("messages") == 1  # no retry, no later call
    await gw.close()


async def test_a_bad_item_is_asked_again_alone_then_escalated(
    make_gateway: Any, sandbox: Any, engine: Any
) -> None:
    """One more try at the small model's price first (a slip is usually not repeated); the large
    model (20× the price) only when the small one fails the same item twice."""
    _, state = sandbox
    state.config.bad_skus = {"S2"}
    gw = await make_gateway()
    results = await gw.generate_cards(requests(5))
    by_id = {r.item_id: r for r in results}
    assert all(r.draft is not None and r.error is None for r in results)
    assert by_id["S2"].escalated and by_id["S2"].model == "claude-sonnet-5-5"
    assert any("title is" in note for note in by_id["S2"].notes)
    assert {r.model for i, r in by_id.items() if i != "S2"} == {"claude-haiku-5-5"}
    rows = await ledger(engine)
    assert [(r.model, r.items, r.outcome) for r in rows] == [
        ("claude-haiku-5-5", 5, "partial"),
        ("claude-haiku-5-5", 1, "partial"),
        ("claude-sonnet-5-5", 1, "ok"),
    ]
    stats = gw.stats()
    assert state.count("messages") - stats.probe_calls == 3
    assert stats.escalations == 1 and stats.escalation_usd == rows[-1].cost_usd
    await gw.close()


async def test_batch_round_trip_resends_errored_item(make_gateway: Any, sandbox: Any, engine: Any) -> None:
    _, state = sandbox
    state.config.batch_error_skus = {"S3"}
    gw = await make_gateway(batch_enabled=True, pack_size=1)
    results = await gw.generate_cards(requests(4, priority_low=True))
    paths = {r.item_id: r.path for r in results}
    assert paths == {"S0": "batch", "S1": "batch", "S2": "batch", "S3": "realtime"}
    assert all(r.draft for r in results)
    assert any("re-sent in real time" in n for n in results[3].notes)
    # The re-sent item, and the 1-token call that learned the real-time limits while the batch ran.
    assert state.count("batches.create") == 1 and state.count("messages") == 2
    assert gw.stats().probe_calls == 1
    rows = await ledger(engine)
    batch_rows = [r for r in rows if r.path == "batch"]
    realtime = [r for r in rows if r.path == "realtime"]
    # Same model, same kind of item: the batch row costs half the real-time one.
    assert batch_rows[0].cost_usd * 2 == realtime[0].cost_usd
    await gw.close()


async def test_openai_batch_round_trip(make_gateway: Any, sandbox: Any) -> None:
    _, state = sandbox
    state.config.batch_error_skus = {"S1"}
    gw = await make_gateway(provider="openai", batch_enabled=True, pack_size=1)
    results = await gw.generate_cards(requests(2, priority_low=True))
    assert [r.path for r in results] == ["batch", "realtime"]
    assert all(r.model == "gpt-5.6-luna" and r.draft for r in results)
    # The re-sent item, and the 1-token call that learned the real-time limits while the batch ran.
    assert state.count("openai.batches.create") == 1 and state.count("chat") == 2
    await gw.close()


async def test_cache_hit_makes_no_http_call(make_gateway: Any, sandbox: Any, engine: Any) -> None:
    _, state = sandbox
    gw = await make_gateway()
    first = await gw.generate_cards(requests(4))
    calls = state.count()
    second = await gw.generate_cards(requests(4))
    assert state.count() == calls
    assert [r.path for r in second] == ["cache"] * 4
    assert [r.draft for r in second] == [r.draft for r in first]
    hits = [r for r in await ledger(engine) if r.path == "cache"]
    assert len(hits) == 4 and all(r.cost_usd == Decimal(0) and r.outcome == "hit" for r in hits)
    assert gw.stats().cache_hits == 4
    await gw.close()


async def test_offline_provider_needs_no_network(engine: Any) -> None:
    from aimanager.llm import Gateway, GatewayConfig

    gw = await Gateway.create(GatewayConfig(provider="offline", pack_window_s=0.01), engine)
    results = await gw.generate_cards(requests(3))
    assert all(r.draft and r.model == "offline-writer" for r in results)
    narrative = await gw.write_narrative(
        NarrativeRequest(partner_id=1, facts={"orders": 42, "revenue": 1500})
    )
    assert "42" in narrative.ru and "42" in narrative.uz and narrative.model == "offline-writer"
    assert gw.stats().cost_usd == Decimal(0)
    await gw.close()


async def test_narrative_through_sandbox_is_cached(make_gateway: Any, sandbox: Any) -> None:
    _, state = sandbox
    gw = await make_gateway()
    request = NarrativeRequest(partner_id=3, facts={"orders": 12, "returns": 1}, languages=("ru",))
    first = await gw.write_narrative(request)
    second = await gw.write_narrative(request)
    assert first.ru and first.uz == "" and second.path == "cache" and second.ru == first.ru
    assert state.count("messages") == 1
    await gw.close()


def test_config_from_settings_reads_llm_fields() -> None:
    from pydantic import SecretStr

    from aimanager.llm import GatewayConfig
    from aimanager.settings import Settings

    settings = Settings(
        llm_provider="anthropic",
        anthropic_api_key=SecretStr("sk-x"),
        openai_base_url="http://127.0.0.1:8000/v1",
        llm_pack_size=10,
        llm_pack_window_ms=20,
        llm_batch_enabled=True,
    )
    config = GatewayConfig.from_settings(settings)
    assert config.providers == ("anthropic", "openai")
    assert (config.pack_size, config.pack_window_s, config.batch_enabled) == (10, 0.02, True)
    assert config.anthropic_api_key == "sk-x" and config.cache_store == "sql"


def test_routes_have_no_configuration_that_nothing_reads() -> None:
    from aimanager.llm.errors import RoutingError
    from aimanager.llm.router import Router, load_routes

    raw = load_routes()
    router = Router.from_config(raw, ("anthropic", "openai"))
    assert set(router.tiers) == {router.tasks[t].tier for t in router.tasks} | {
        router.tasks[t].escalate_to for t in router.tasks if router.tasks[t].escalate_to
    }
    dead = {**raw, "tiers": {**raw["tiers"], "ocr": {"models": ["anthropic:claude-haiku-5-5"]}}}
    with pytest.raises(RoutingError, match="ocr"):
        Router.from_config(dead, ("anthropic",))


async def test_a_large_first_call_learns_the_limits_with_a_1_token_request_first(
    make_gateway: Any, sandbox: Any
) -> None:
    """A 20-card pack runs for minutes at a real model's speed: it is not made to be the probe that
    everything else waits behind. One 1-token request brings the limits back; nothing overdraws them."""
    _, state = sandbox
    state.config.otpm = 400  # × 1/time_scale: 400,000 output tokens a real minute
    gw = await make_gateway(pack_size=20)
    results = await asyncio.gather(*(gw.generate_cards(requests(20, prefix=f"P{n}")) for n in range(3)))
    assert all(r.draft for batch in results for r in batch)
    stats = gw.stats()
    assert stats.probe_calls == 1 and state.count("messages") == 4
    assert sum(1 for r in state.log if r.status == 429) == 0
    await gw.close()
