"""The arithmetic behind the published LLM figures."""

from __future__ import annotations

from decimal import Decimal

import pytest

from aimanager.llm.prices import default_prices
from aimanager_lab.bench.llm_report import (
    ORIGINAL_MODEL,
    ORIGINAL_OUTPUT_TOKENS,
    ORIGINAL_PER_40K,
    bound_s,
    call_s,
    limit_bound_s,
    original_per_40k,
    per_40k_listings,
    render_llm,
)

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
    seconds, which = limit_bound_s(stats(), LIMITS, 0.1)
    assert seconds == pytest.approx(12.0) and which == "OTPM"
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


def test_the_original_design_at_a_card_size_is_its_own_arithmetic() -> None:
    # At its own 350 output tokens the arithmetic is the design's $9.40, from the pinned price table.
    assert original_per_40k(ORIGINAL_OUTPUT_TOKENS) == ORIGINAL_PER_40K
    price = default_prices().price(ORIGINAL_MODEL).base
    assert (price.input, price.output) == (Decimal("0.10"), Decimal("0.50"))
    # 1,500 tokens a card: 24M in × $0.10/M + 40,000 × 1,500 out × $0.50/M = $2.40 + $30.00.
    assert original_per_40k(1_500) == Decimal("32.40")
    # The Batch API halves both.
    assert original_per_40k(1_500, batch=True) == Decimal("16.20")


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
    # 1.6M output tokens over 995 cards: 1,608 a card; at that size the original design pays
    # 40,000 × (600 × $0.10 + 1,608 × $0.50) / 1M = $34.56, 3.5× our $10.00.
    assert "$34.56 (3.5× below)" in md
