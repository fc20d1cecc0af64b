"""The arithmetic behind the published LLM figures."""

from __future__ import annotations

from decimal import Decimal

import pytest

from aimanager_lab.bench.llm_report import bound_s, call_s, limit_bound_s, per_40k_listings, render_llm

LIMITS = {"rpm": 4000, "itpm": 4_000_000, "otpm": 800_000}


def stats(**over: object) -> dict[str, object]:
    base: dict[str, object] = {
        "calls": 100,
        "input_tokens": 400_000,
        "cache_write_tokens": 0,
        "output_tokens": 1_600_000,
        "cut_calls": 1,
        "escalations": 2,
        "escalation_usd": "0.05",
        "cost_usd": "1.00",
    }
    base.update(over)
    return base


def test_the_binding_limit_and_one_call_make_the_bound() -> None:
    # 1.6M output tokens at 800k/min = 2 minutes; × time scale 0.1 = 12 s.
    assert limit_bound_s(stats(), LIMITS, 0.1) == (pytest.approx(12.0), "OTPM")
    # 16,000 tokens a call: 0.75 s + 16,000 / 150 tokens/s, × 0.1.
    assert call_s(16_000, 0.1) == pytest.approx((0.75 + 16_000 / 150) * 0.1)
    # 1,000 cards of 1,600 tokens: a 20-card pack writes 32,000.
    total, which = bound_s(stats(), LIMITS, 0.1, cards=1_000)
    assert which == "OTPM" and total == pytest.approx(12.0 + call_s(32_000, 0.1))
    assert limit_bound_s(stats(calls=20_000), LIMITS, 1.0)[1] == "RPM"


def test_cost_per_40000_listings_counts_one_card_per_four_listings() -> None:
    # $1 for 1,000 cards = $0.001 a card; 40,000 listings = 10,000 cards = $10.
    assert per_40k_listings(Decimal("1.00"), 1_000) == Decimal("10.00")
    assert per_40k_listings(Decimal("0"), 0) == Decimal("0")


def test_the_section_shows_the_figures_it_computed() -> None:
    run = {"wall_s": 30.0, "ok": 995, "failures": {"answer": 5}, "stats": stats(), "rerun": {}}
    md = render_llm(
        [("real time", False, run)],
        items=1_000,
        time_scale=0.1,
        limits=LIMITS,
        batch_seconds=600,
        bad_answer_rate=0.05,
        command="aimanager bench llm",
        machine="test",
    )
    assert "995 / 1,000 (99.50%)" in md and "answer 5" in md and "$10.00" in md and "0.9× below" in md
    assert "1 (1.0%)" in md  # the share of calls cut by max_tokens
