"""Issue 14: no LLM call is lost from the ledger when its worker dies mid-call.

Against the LLM sandbox over HTTP (the real SDKs): a call is in the ledger as ``pending`` at its worst
case before the provider answers; the answer settles those rows in place (real usage, equal to what the
provider reported); an error answered before any generation leaves no row; a pending row whose worker
is gone is swept to ``lost`` at its worst case, and budgets and spend count it.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select, update

from aimanager.db.engine import session_factory
from aimanager.db.models import AIUsageLog, Partner
from aimanager.llm import CardRequest, NarrativeRequest
from aimanager.llm.accounting import Budgets
from aimanager.llm.errors import BudgetExceeded
from aimanager.llm.prices import default_prices
from aimanager.llm.types import Usage
from aimanager.pipelines.services import spend
from aimanager_sandbox.llm import Fault
from tests.llm.conftest import product

SLOW_TTFT = 3000.0  # sandbox seconds: 3 s at the fixture's time scale, a call held while we look


async def rows(engine: Any, *where: Any) -> list[Any]:
    async with engine.connect() as conn:
        return list((await conn.execute(select(AIUsageLog).where(*where).order_by(AIUsageLog.id))).all())


async def partners(engine: Any, *budgets: Decimal | None) -> list[int]:
    async with session_factory(engine)() as s, s.begin():
        made = [Partner(slug=f"p{i}", name=f"P{i}", ai_budget_usd=b) for i, b in enumerate(budgets)]
        s.add_all(made)
        await s.flush()
        return [p.id for p in made]


async def wait_for_pending(engine: Any, task: asyncio.Task[Any], timeout_s: float = 30.0) -> list[Any]:
    """The pending rows, as soon as there are any (fails if the call ends or time runs out first)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = await rows(engine, AIUsageLog.outcome == "pending")
        if found:
            return found
        assert not task.done(), "the call ended without a pending row ever being visible"
        await asyncio.sleep(0.01)
    raise AssertionError("no pending row appeared")


def worst_case(row: Any, call_input: int, call_max_tokens: int) -> None:
    """The row carries its share of the call's worst case: estimated input + max_tokens, priced."""
    assert row.detail["estimate"] is True and row.request_id.startswith("pending:")
    assert row.detail["input_estimate"] == call_input and row.detail["max_tokens"] == call_max_tokens


async def test_a_call_in_flight_is_pending_before_the_answer_then_settled_in_place(
    make_gateway: Any, sandbox: Any, engine: Any
) -> None:
    _, state = sandbox
    state.config.ttft_min_s = state.config.ttft_max_s = SLOW_TTFT
    a, b = await partners(engine, None, None)
    gw = await make_gateway()
    requests = [CardRequest(f"a{i}", a, product(f"A{i}")) for i in range(2)]
    requests.append(CardRequest("b0", b, product("B0")))
    task = asyncio.create_task(gw.generate_cards(requests))
    pending = await wait_for_pending(engine, task)
    assert not task.done()
    # One row per partner of the pack, before the provider answered, at the call's worst case.
    assert sorted(r.partner_id for r in pending) == [a, b]
    assert sorted(item for r in pending for item in r.detail["items"]) == ["a0", "a1", "b0"]
    call = pending[0].detail
    price = default_prices().price(pending[0].model)
    worst = max(
        price.cost(Usage(input_tokens=call["input_estimate"], output_tokens=call["max_tokens"])),
        price.cost(Usage(cache_write_tokens=call["input_estimate"], output_tokens=call["max_tokens"])),
    )
    assert sum((r.cost_usd for r in pending), Decimal(0)) == worst > 0
    assert sum(r.output_tokens for r in pending) == call["max_tokens"]
    for row in pending:
        worst_case(row, call["input_estimate"], call["max_tokens"])

    results = await task
    assert all(r.draft is not None for r in results), [r.error for r in results]
    booked = await rows(engine)
    # Settled in place: the same rows, now with the provider's usage, its request id, the real outcome.
    assert [r.id for r in booked] == [r.id for r in pending]
    assert {r.outcome for r in booked} == {"ok"} and all(r.request_id for r in booked)
    stats = gw.stats()
    assert sum(r.output_tokens for r in booked) == stats.usage.output_tokens == state.output_tokens
    assert sum(r.input_tokens for r in booked) == stats.usage.input_tokens
    assert sum((r.cost_usd for r in booked), Decimal(0)) == stats.cost_usd < worst
    await gw.close()


async def test_normal_calls_leave_no_pending_row_and_the_ledger_equals_the_providers_usage(
    make_gateway: Any, sandbox: Any, engine: Any
) -> None:
    _, state = sandbox
    a, b = await partners(engine, None, None)
    gw = await make_gateway(pack_size=4)
    requests = [CardRequest(f"x{i}", a if i % 3 else b, product(f"X{i}")) for i in range(10)]
    results = await gw.generate_cards(requests)
    assert all(r.draft is not None for r in results), [r.error for r in results]
    await gw.write_narrative(NarrativeRequest(a, {"revenue": 1200, "orders": 7}))
    await gw.close()
    booked = await rows(engine)
    assert not [r for r in booked if r.outcome in ("pending", "lost")]
    stats = gw.stats()
    assert stats.calls >= 4 and len({r.request_id for r in booked}) == stats.calls
    for column in ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens"):
        assert sum(getattr(r, column) for r in booked) == getattr(stats.usage, column), column
    assert sum(r.output_tokens for r in booked) == state.output_tokens
    assert sum((r.cost_usd for r in booked), Decimal(0)) == stats.cost_usd


@pytest.mark.parametrize("fault", ["overloaded", "rate_limit", "server_error"])
async def test_an_error_before_generation_leaves_no_charge(
    make_gateway: Any, sandbox: Any, engine: Any, fault: str
) -> None:
    _, state = sandbox
    [a] = await partners(engine, None)
    state.script(*[Fault(fault) for _ in range(20)])  # every model, every attempt
    gw = await make_gateway(max_retries=0)
    [result] = await gw.generate_cards([CardRequest("e0", a, product("E0"))])
    assert result.draft is None and result.failure == "call", result
    assert state.count("messages") >= 1 and state.output_tokens == 0
    assert await rows(engine) == []  # the pending rows of every attempt went with its error
    budgets = Budgets(engine)
    await budgets.check(a)
    await gw.close()


async def test_a_dead_workers_call_is_swept_to_lost_at_worst_case_and_counted_by_budget_and_spend(
    make_gateway: Any, sandbox: Any, engine: Any
) -> None:
    _, state = sandbox
    state.config.ttft_min_s = state.config.ttft_max_s = SLOW_TTFT
    [a] = await partners(engine, Decimal("100"))
    dead = await make_gateway()
    task = asyncio.create_task(dead.generate_cards([CardRequest("d0", a, product("D0"))]))
    [pending] = await wait_for_pending(engine, task)
    task.cancel()  # the worker is gone: nobody settles the call the provider is answering
    with pytest.raises(asyncio.CancelledError):
        await task
    assert [r.outcome for r in await rows(engine)] == ["pending"]
    worst = pending.cost_usd
    now = datetime.now(UTC)
    async with session_factory(engine)() as s:
        day = await spend.spend(s, [a], group="partner", since=now - timedelta(days=1), until=now)
    assert day == []  # not spend while in flight
    with pytest.raises(BudgetExceeded):  # but the budget counts it at its worst case already
        await budgets_capped(engine, a, worst)

    # Time passes beyond the call timeout + margin: make the row that old.
    dead_for = timedelta(seconds=dead.accounting.in_flight.lost_after_s[0] + 60)
    async with engine.begin() as conn:
        await conn.execute(update(AIUsageLog).values(created_at=datetime.now(UTC) - dead_for))
    state.config.ttft_min_s, state.config.ttft_max_s = 0.5, 1.0
    live = await make_gateway()  # another worker's gateway: its first write sweeps
    await live.write_narrative(NarrativeRequest(a, {"revenue": 10}))
    [lost] = await rows(engine, AIUsageLog.outcome == "lost")
    assert lost.id == pending.id and lost.cost_usd == worst and lost.output_tokens == pending.output_tokens
    assert lost.created_at.replace(tzinfo=UTC) >= now  # dated when swept: an open day's spend
    assert not await rows(engine, AIUsageLog.outcome == "pending")
    narrative = sum((r.cost_usd for r in await rows(engine, AIUsageLog.outcome == "ok")), Decimal(0))
    after = datetime.now(UTC) + timedelta(seconds=1)
    async with session_factory(engine)() as s:
        for group in ("partner", "model", "day"):
            got = await spend.spend(s, [a], group=group, since=now - timedelta(days=1), until=after)
            assert close(sum((r.cost_usd for r in got), Decimal(0)), worst + narrative), group
            assert close(sum((r.estimated_usd for r in got), Decimal(0)), worst), group
        [budget] = await spend.budgets(s, [a])
        assert close(budget.month_to_date_usd, worst + narrative)
    with pytest.raises(BudgetExceeded):
        await budgets_capped(engine, a, worst)
    await live.close()


def close(a: Decimal, b: Decimal) -> bool:
    """Equal to the ledger's 8 decimals (SQLite sums its numeric column as a float)."""
    return abs(a - b) <= Decimal("0.00000002")


async def budgets_capped(engine: Any, partner: int, spent: Decimal) -> None:
    """Reserve a cent under a cap just above ``spent``: raises if the ledger's month counts ``spent``."""
    async with engine.begin() as conn:
        cap = spent + Decimal("0.005")
        await conn.execute(update(Partner).where(Partner.id == partner).values(ai_budget_usd=cap))
    await Budgets(engine).reserve(partner, Decimal("0.01"))


async def test_batch_packs_are_pending_from_submission_and_settled_by_their_booking(
    make_gateway: Any, sandbox: Any, engine: Any
) -> None:
    _, state = sandbox
    state.config.batch_seconds = 1500.0  # 1.5 s: the batch is seen in flight
    [a] = await partners(engine, None)
    gw = await make_gateway(batch_enabled=True, batch_wait_s=30.0)
    requests = [CardRequest(f"q{i}", a, product(f"Q{i}"), priority_low=True) for i in range(3)]
    task = asyncio.create_task(gw.generate_cards(requests))
    [pending] = await wait_for_pending(engine, task)
    assert pending.path == "batch"
    results = await task
    assert all(r.draft is not None for r in results), [r.error for r in results]
    booked = await rows(engine)
    assert [(r.id, r.outcome, r.path) for r in booked] == [(pending.id, "ok", "batch")]
    assert booked[0].cost_usd < pending.cost_usd
    async with engine.connect() as conn:
        left = await conn.execute(select(func.count()).where(AIUsageLog.outcome == "pending"))
        assert left.scalar_one() == 0
    await gw.close()
