"""``bench llm`` through the public path: its figures read from the ledger and the tasks table, and the
section with the LLM sandbox's own count."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from aimanager_lab.bench.llm import ledger_figures
from aimanager_lab.bench.llm_report import render_llm

SCHEMA = [
    "CREATE TABLE ai_usage_logs (id INTEGER PRIMARY KEY, model TEXT, path TEXT, outcome TEXT,"
    " input_tokens INTEGER, output_tokens INTEGER, cache_write_tokens INTEGER, cost_usd NUMERIC)",
    "CREATE TABLE tasks (id INTEGER PRIMARY KEY, capability TEXT, sku TEXT, marketplace TEXT, status TEXT)",
    "CREATE TABLE jobs (id INTEGER PRIMARY KEY, kind TEXT, enqueued_at REAL, finished_at REAL)",
]
ROWS = [
    # Three packs on the card model (one cut: partial), one escalated to the larger tier, a cache hit.
    "INSERT INTO ai_usage_logs (model, path, outcome, input_tokens, output_tokens, cache_write_tokens,"
    " cost_usd) VALUES ('small', 'realtime', 'ok', 1000, 30000, 50, 0.01),"
    " ('small', 'realtime', 'ok', 1000, 30000, 0, 0.01), ('small', 'realtime', 'partial', 1000, 8000, 0,"
    " 0.005), ('large', 'realtime', 'ok', 500, 2000, 0, 0.02), ('small', 'cache', 'hit', 0, 0, 0, 0)",
    # p1 and p2 written on all four marketplaces, p3 rejected, p4 waiting for input.
    "INSERT INTO tasks (capability, sku, marketplace, status) VALUES"
    " ('cards', 'p1', 'wb', 'done'), ('cards', 'p1', 'ozon', 'done'), ('cards', 'p2', 'wb', 'done'),"
    " ('cards', 'p3', 'wb', 'failed'), ('cards', 'p4', 'wb', 'needs_input'), ('pricing', 'p1', 'wb', 'done')",
    "INSERT INTO jobs (kind, enqueued_at, finished_at) VALUES ('cards.generate', 1000, 1030),"
    " ('cards.generate', 1001, 1042), ('cards.push', 1043, 1050)",
]


def read(tmp_path: Path) -> dict[str, Any]:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    async def body() -> dict[str, Any]:
        engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'llm.db'}")
        try:
            async with engine.begin() as conn:
                for statement in SCHEMA + ROWS:
                    await conn.execute(text(statement))
            async with engine.connect() as conn:
                return await ledger_figures(conn, started_epoch=990.0)
        finally:
            await engine.dispose()

    return asyncio.run(body())


def test_a_cards_pass_is_measured_from_the_ledger_and_the_tasks(tmp_path: Path) -> None:
    run = read(tmp_path)
    s = run["stats"]
    assert (s["calls"], s["input_tokens"], s["output_tokens"], s["cache_write_tokens"]) == (
        4,
        3500,
        70000,
        50,
    )
    assert Decimal(s["cost_usd"]) == Decimal("0.045")
    assert s["escalations"] == 1 and Decimal(s["escalation_usd"]) == Decimal("0.02")
    assert s["outcomes"] == {"ok": 3, "partial": 1, "hit": 1}
    # Per product (a card serves a product's listings), cards only.
    assert run["ok"] == 2 and run["failures"] == {"rejected": 1, "needs input": 1}
    assert run["wall_s"] == 42.0  # the card jobs' queueing to the last one's end; the push is not the LLM's


def test_the_section_shows_the_sandboxs_own_count(tmp_path: Path) -> None:
    run = read(tmp_path)
    run["stats"]["cut_calls"] = 1
    run["server"] = {"cut_calls": 1, "throttled": 3, "bad_answers": {"invalid_json": 2, "refusal": 0}}
    md = render_llm(
        [("real time (run -c cards)", False, run)],
        items=4,
        time_scale=0.1,
        limits={"rpm": 4000, "itpm": 4_000_000, "otpm": 800_000},
        batch_seconds=600,
        bad_answer_rate=0.05,
        command="aimanager bench llm",
        machine="test",
        public=True,
    )
    assert "| real time (run -c cards) | 2 / 4 (50.00%) | needs input 1, rejected 1 | 4 | 1 (25.0%) |" in md
    assert "real time (run -c cards): 1 cut, 3 throttled (429), 2 imperfect answers (invalid_json 2)" in md
    assert "`run -c cards --priority low` (the Batch API" in md
    assert "| run | cards written | rejected / needs input |" in md


@pytest.mark.long
def test_both_passes_run_through_public_commands_and_the_low_one_through_the_batch_api() -> None:
    from aimanager_lab.bench.llm import public_runs

    runs = asyncio.run(
        public_runs(
            20, time_scale=0.05, rpm=4000, itpm=4_000_000, otpm=800_000, bad_answer_rate=0.05,
            batch_seconds=60.0, concurrency=8, log=lambda _: None, timeout_s=400.0,
        )
    )  # fmt: skip
    (_, _, realtime), (_, batch, low) = runs
    assert batch and realtime["drained"] and low["drained"]
    for run in (realtime, low):
        assert run["ok"] >= 18 and run["stats"]["calls"] >= 1  # cards written, the LLM really called
        assert run["server"]["output_tokens"] >= run["stats"]["output_tokens"] > 0  # the sandbox saw them
    assert not realtime["server"]["batch_requests"] and low["server"]["batch_requests"]
    # The same cards at the Batch API's half price (give or take what the imperfect answers cost).
    per_card = [Decimal(r["stats"]["cost_usd"]) / r["ok"] for r in (realtime, low)]
    assert per_card[1] < per_card[0] * Decimal("0.8")
    # The same run again with nothing changed asks the model nothing (the cards are written already).
    rerun = realtime["rerun"]
    assert rerun["calls"] == 0 and Decimal(rerun["cost_usd"]) == 0 and rerun["hits"] == realtime["ok"]
