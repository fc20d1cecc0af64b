"""The in-flight ledger on both dialects: calls starting together are one INSERT, calls settling together
one UPDATE batch; each ticket gets back its own rows; the sweep takes only rows past the timeout."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import event, select, update

from aimanager.db.models import AIUsageLog
from aimanager.llm.ledger import split_call
from aimanager.llm.ledger_inflight import InFlightLedger, Ticket
from aimanager.llm.prices import default_prices
from aimanager.llm.types import ModelRef, ProviderRequest, Usage

REF = ModelRef("anthropic", "claude-haiku-5-5")
CALLS = 300


def count_statements(engine: Any) -> dict[str, int]:
    seen = {"insert": 0, "update": 0, "delete": 0}

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        for verb in seen:
            if statement.lstrip().lower().startswith(f"{verb} ") and "ai_usage_logs" in statement:
                seen[verb] += 1

    event.listen(engine.sync_engine, "before_cursor_execute", before)
    return seen


def ticket_for(ledger: InFlightLedger, n: int) -> Ticket:
    return ledger.ticket("card", "realtime", [(n, f"item{n}-a", 2.0), (n + 10_000, f"item{n}-b", 1.0)])


def answered_rows(ticket: Ticket, n: int) -> list[Any]:
    usage = Usage(input_tokens=300 + n, output_tokens=120 + n)
    return split_call(
        usage=usage,
        shares=ticket.shares,
        prices=default_prices(),
        model=REF.model,
        provider=REF.provider,
        path="realtime",
        task_kind="card",
        latency_ms=50,
        outcome="ok",
        request_id=f"req_{n}",
        detail={"call": n},
    )


async def test_calls_starting_and_ending_together_share_their_writes(migrated_engine: Any) -> None:
    ledger = InFlightLedger(migrated_engine, default_prices())
    await ledger.sweep()  # as a gateway's first write does; not what is measured below
    ledger._next_sweep = float("inf")
    seen = count_statements(migrated_engine)
    tickets = [ticket_for(ledger, n) for n in range(CALLS)]
    request = ProviderRequest(REF.model, "system", "user", 2000)
    t0 = time.perf_counter()
    await asyncio.gather(*(t.open(REF, request, 1500) for t in tickets))
    opened_s = time.perf_counter() - t0
    assert seen["insert"] <= 3, seen  # not one per call
    async with migrated_engine.connect() as conn:
        found = (await conn.execute(select(AIUsageLog.id, AIUsageLog.partner_id, AIUsageLog.detail))).all()
    by_id = {row_id: (partner, detail) for row_id, partner, detail in found}
    assert len(by_id) == 2 * CALLS
    for n, ticket in enumerate(tickets):  # each ticket holds exactly its own rows
        assert by_id[ticket.ids[n]][1]["items"] == [f"item{n}-a"]
        assert by_id[ticket.ids[n + 10_000]][1]["items"] == [f"item{n}-b"]
        assert by_id[ticket.ids[n]][0] == n
    # The worst case splits like a booking: 2/3 and 1/3 of max_tokens.
    assert {d["items"][0][-1]: d["max_tokens"] for _, d in by_id.values()} == {"a": 2000, "b": 2000}

    seen.update(insert=0, update=0)
    t0 = time.perf_counter()
    await asyncio.gather(*(t.settle(answered_rows(t, n)) for n, t in enumerate(tickets)))
    settled_s = time.perf_counter() - t0
    assert seen["update"] <= 3 and seen["insert"] == 0, seen
    async with migrated_engine.connect() as conn:
        booked = (await conn.execute(select(AIUsageLog).order_by(AIUsageLog.partner_id))).all()
    assert {r.outcome for r in booked} == {"ok"} and len(booked) == 2 * CALLS
    expected = sum((r.cost_usd for n, t in enumerate(tickets) for r in answered_rows(t, n)), Decimal(0))
    assert sum((Decimal(str(r.cost_usd)) for r in booked), Decimal(0)) == expected
    assert sum(r.output_tokens for r in booked) == sum(120 + n for n in range(CALLS))
    print(
        f"\n{migrated_engine.dialect.name}: {CALLS} calls opened in {opened_s * 1000:.0f} ms, settled in "
        f"{settled_s * 1000:.0f} ms ({(opened_s + settled_s) / CALLS * 1e6:.0f} µs per call)"
    )


async def test_the_sweep_takes_only_pending_rows_past_the_timeout(migrated_engine: Any) -> None:
    ledger = InFlightLedger(migrated_engine, default_prices(), lost_after_s=(100.0, 1000.0))
    request = ProviderRequest(REF.model, "system", "user", 500)
    old, young, old_batch, settled = (ticket_for(ledger, n) for n in range(4))
    old_batch.path = "batch"
    for ticket in (old, young, old_batch, settled):
        await ticket.open(REF, request, 400)
    settled_ids = list(settled.ids.values())
    await settled.settle(answered_rows(settled, 3))
    async with migrated_engine.begin() as conn:
        back = datetime.now(UTC) - timedelta(seconds=500)
        ids = [*old.ids.values(), *old_batch.ids.values(), *settled_ids]
        await conn.execute(update(AIUsageLog).where(AIUsageLog.id.in_(ids)).values(created_at=back))
    assert await ledger.sweep() == 2  # the old real-time call's two partners; a batch waits longer
    async with migrated_engine.connect() as conn:
        outcomes = dict((await conn.execute(select(AIUsageLog.id, AIUsageLog.outcome))).all())
    assert {outcomes[i] for i in old.ids.values()} == {"lost"}
    assert {outcomes[i] for i in (*young.ids.values(), *old_batch.ids.values())} == {"pending"}
    assert list(outcomes.values()).count("ok") == 2
    # A late answer does not lower a lost row below its worst case.
    worst = old.worst_usd
    await old.settle(answered_rows(old, 0))
    async with migrated_engine.connect() as conn:
        lost = (await conn.execute(select(AIUsageLog.cost_usd).where(AIUsageLog.outcome == "lost"))).all()
    # (SQLite keeps the numeric column as a float: equal to the ledger's 8 decimals.)
    assert abs(sum((Decimal(str(c)) for (c,) in lost), Decimal(0)) - worst) <= Decimal("0.00000002")
