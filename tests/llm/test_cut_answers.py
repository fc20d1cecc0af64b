"""Answers cut by ``max_tokens``: complete items kept, only missing ones re-asked with a larger budget,
no request repeated, budgets learned from usage — through the real SDKs against a provider that cuts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from aimanager.llm import CardRequest, Gateway, GatewayConfig, NarrativeRequest
from aimanager.llm.budget import DEFAULT_TOKENS_PER_ITEM, OutputBudgets
from aimanager.llm.errors import ProviderHTTPError
from aimanager.llm.prompts import MISSING_ITEM, complete_items, parse_card_answer
from aimanager_sandbox.common.serving import BackgroundServer
from tests.llm.conftest import product
from tests.llm.cutting_server import CuttingState, create_app

CARD_TOKENS = 696  # one offline card for `product()` by the server's count (asserted below)


@pytest.fixture
def cutting() -> Iterator[tuple[str, CuttingState]]:
    app = create_app()
    with BackgroundServer(app) as server:
        yield server.base_url, app.state.cutting


async def gateway(url: str, engine: Any, **overrides: Any) -> Gateway:
    values: dict[str, Any] = dict(
        provider="anthropic",
        anthropic_api_key="sk-test",
        anthropic_base_url=url,
        openai_api_key="sk-test",
        openai_base_url=url + "/v1",
        cache_store="none",
        pack_window_s=0.02,
        # The fixed guess of the demo and benchmark configs that cut every pack in issue 11.
        max_output_tokens_per_item=400,
    )
    values.update(overrides)
    return await Gateway.create(GatewayConfig(**values), engine)


def cards(n: int, prefix: str = "S", **facts: Any) -> list[CardRequest]:
    return [CardRequest(f"{prefix}{i}", 1, product(f"{prefix}{i}", **facts)) for i in range(n)]


@pytest.mark.parametrize("provider", ["anthropic", "openai"])
async def test_cut_pack_keeps_complete_items_and_reasks_only_the_missing(
    cutting: tuple[str, CuttingState], engine: Any, provider: str
) -> None:
    url, state = cutting
    gw = await gateway(url, engine, provider=provider)
    results = await gw.generate_cards(cards(20))

    assert [r.error for r in results] == [None] * 20 and all(r.draft for r in results)
    first, *rest = state.requests
    assert first.api == ("messages" if provider == "anthropic" else "chat")
    assert first.cut and len(first.skus) == 20 and first.max_tokens == 20 * 400
    kept = gw.stats().salvaged_items  # the items that closed before the cut
    assert kept == first.max_tokens // CARD_TOKENS
    missing = set(first.skus[kept:])
    # Only the missing items are asked again, in smaller packs, each with a larger budget per item.
    assert rest and {s for r in rest for s in r.skus} == missing
    assert all(len(r.skus) <= 10 and r.max_tokens / len(r.skus) > 400 for r in rest)
    assert not any(r.cut for r in rest)
    # The request that was cut is never sent again as it was.
    sent = [(r.model, r.skus, r.max_tokens) for r in state.requests]
    assert len(sent) == len(set(sent))
    stats = gw.stats()
    assert (stats.cut_calls, stats.salvaged_items, stats.calls) == (1, kept, len(state.requests))
    assert stats.as_dict()["cut_calls"] == 1 and len(state.requests) == 2
    assert all(any("cut by max_tokens at 8000 tokens" in n for n in r.notes) for r in results[kept:])
    await gw.close()


async def test_budget_grows_from_observed_usage(cutting: tuple[str, CuttingState], engine: Any) -> None:
    url, state = cutting
    gw = await gateway(url, engine)
    await gw.generate_cards(cards(20, prefix="A"))
    cut_before = gw.stats().cut_calls
    seen = len(state.requests)
    results = await gw.generate_cards(cards(20, prefix="B"))
    assert all(r.draft for r in results)
    [second] = state.requests[seen:]  # the next pack fits in one call: the budget came from usage
    assert not second.cut and second.max_tokens >= 20 * CARD_TOKENS
    assert gw.stats().cut_calls == cut_before == 1
    await gw.close()


async def test_an_item_that_never_fits_fails_with_its_reason(
    cutting: tuple[str, CuttingState], engine: Any
) -> None:
    """A card larger than the model's max output cannot be helped: it fails after a bounded number of
    asks, each with more room per item than the last, and its neighbours are not held back."""
    url, state = cutting
    gw = await gateway(url, engine, max_output_tokens_per_call={"*": 1200})
    huge = CardRequest("huge", 1, product("HUGE", description="Держит тепло. " * 300))
    results = {r.item_id: r for r in await gw.generate_cards([*cards(3), huge])}
    assert all(results[f"S{i}"].draft for i in range(3))
    assert results["huge"].draft is None
    assert "no complete answer: cut by max_tokens at 1200 tokens" in (results["huge"].error or "")
    per_item = [r.max_tokens // len(r.skus) for r in state.requests if "HUGE" in r.skus]
    assert per_item == sorted(set(per_item)) and per_item[-1] == 1200 and len(per_item) <= 4
    sent = [(r.skus, r.max_tokens) for r in state.requests]
    assert len(sent) == len(set(sent))
    await gw.close()


def test_server_card_size_matches_the_constant() -> None:
    from aimanager.llm import offline
    from aimanager.llm.prompts import card_user_message, prepare_facts

    user = card_user_message([("1", prepare_facts(product("S1")).facts)])
    entry = json.loads(offline.answer(user))["items"][0]
    assert abs(len(json.dumps(entry, ensure_ascii=False)) - CARD_TOKENS) < 10


def test_complete_items_of_a_truncated_answer() -> None:
    whole = json.dumps({"items": [{"id": str(i), "card": {"x": "тест " * 5}} for i in range(1, 4)]})
    cut = whole[: whole.index('{"id": "3"') + 20]
    assert [e["id"] for e in complete_items(cut) or []] == ["1", "2"]
    assert complete_items('preamble ```json\n{"items": [') == []
    assert complete_items("no json at all") is None
    parsed = parse_card_answer(cut, ["1", "2", "3"])
    assert parsed["3"] == MISSING_ITEM
    assert all(str(parsed[i]).startswith("card does not match the schema") for i in ("1", "2"))


def test_output_budget_grows_at_once_and_shrinks_only_on_evidence() -> None:
    budgets = OutputBudgets({"*": 10_000, "big": 64_000})
    start = DEFAULT_TOKENS_PER_ITEM
    assert budgets.per_item("card", "m", start) == start
    budgets.observe("card", "m", 2000)  # one answer needing more: the budget follows at once
    assert budgets.per_item("card", "m", start) == 2200  # 2,000 × HEADROOM 1.1
    small = OutputBudgets({"*": 10_000})
    for _ in range(4):
        small.observe("card", "m", 400)
    assert small.per_item("card", "m", start) == start  # a few small answers do not shrink it yet
    small.observe("card", "m", 400)
    assert small.per_item("card", "m", start) == 441  # ceil(400 × 1.1), 1.1 not exact in binary
    assert small.per_item("narrative", "m", start) == start  # per task kind
    assert small.per_item("card", "other", start) == start  # and per model
    assert budgets.max_tokens(2200, 20, "m") == 10_000 and budgets.max_tokens(2200, 20, "big") == 44_000


def test_a_single_card_has_its_own_budget_and_does_not_inflate_the_packs() -> None:
    # A pack's output per item is an average of 20 cards; one card alone (a re-ask) varies far more.
    budgets = OutputBudgets({"*": 64_000})
    for per_item in (1_380, 1_390, 1_400, 1_410, 1_420):
        budgets.observe("card", "m", per_item, items=20)
    pack = budgets.per_item("card", "m", 1_800, items=20)
    assert pack == 1_563  # ceil(1,420 × 1.1), 1.1 not exact in binary: from pack averages only
    # A single card before any was seen: a quarter over the packs' budget (it was cut at the packs').
    assert budgets.per_item("card", "m", 1_800, items=1) == 1_954  # ceil(1,563 × 1.25)
    for per_item in (1_300, 1_350, 1_500, 1_650, 1_700):
        budgets.observe("card", "m", per_item, items=1)
    assert budgets.per_item("card", "m", 1_800, items=1) == 1_954  # the singles' own 1,871 is less
    budgets.observe("card", "m", 2_000, items=1)
    assert budgets.per_item("card", "m", 1_800, items=1) == 2_200  # a long single raises the singles'
    assert budgets.per_item("card", "m", 1_800, items=20) == pack  # and not the packs'


async def test_cut_narrative_is_asked_again_with_more_room(
    cutting: tuple[str, CuttingState], engine: Any, tmp_path: Any
) -> None:
    url, state = cutting
    routes_file = tmp_path / "routes.toml"
    routes_file.write_text(
        """
[tiers.small]
models = ["anthropic:claude-haiku-5-5"]
[tiers.large]
models = ["anthropic:claude-sonnet-5-5"]
[tasks.narrative]
tier = "small"
escalate_to = "large"
max_output_tokens_per_item = 40
""",
        encoding="utf-8",
    )
    gw = await gateway(url, engine, routes_file=str(routes_file))
    with pytest.raises(ProviderHTTPError, match="cut by max_tokens at 60 tokens"):
        await gw.write_narrative(NarrativeRequest(partner_id=1, facts={"orders": 12, "returns": 1}))
    assert [(r.model, r.max_tokens, r.cut) for r in state.requests] == [
        ("claude-haiku-5-5", 40, True),
        ("claude-sonnet-5-5", 60, True),
    ]
    assert gw.stats().cut_calls == 2
    await gw.close()
