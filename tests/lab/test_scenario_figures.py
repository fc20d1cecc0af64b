"""The arithmetic behind the published scenario figures: bounds, sampling, the original design's time."""

from __future__ import annotations

from decimal import Decimal

import pytest

from aimanager_lab.bench.figures import RunFigures, limit_bound, longest_call_s, render


def test_the_llm_bound_is_the_binding_limit_and_a_pack_lasts_its_output() -> None:
    ours = RunFigures("AI Manager", llm_calls=500, input_tokens=2_000_000, output_tokens=16_000_000)
    bound = limit_bound(ours, partners=1, skus=10, rpm=4000, itpm=4_000_000, otpm=800_000)
    assert bound["llm_s"] == pytest.approx(60.0 * 16_000_000 / 800_000)  # OTPM binds: 20 minutes
    assert bound["total_s"] == pytest.approx(bound["llm_s"] + bound["market_s"])
    # 10,000 cards of 1,600 tokens: a 20-card pack writes 32,000 at 150 tokens/s after 0.75 s.
    assert longest_call_s(ours, cards=10_000) == pytest.approx(0.75 + 32_000 / 150)


def test_a_sampled_original_design_is_extrapolated_and_its_time_explained() -> None:
    ours = RunFigures(
        "AI Manager", wall_s=100.0, tasks=1000, succeeded=1000, llm_calls=10, cost_usd=Decimal("1")
    )
    base = RunFigures(
        "original design",
        wall_s=50.0,
        tasks=100,
        succeeded=100,
        llm_calls=100,
        cost_usd=Decimal("0.5"),
        sample_factor=10.0,
        phase_s={"llm": 300.0, "marketplace": 100.0},
    )
    bound = {"llm_s": 50.0, "market_s": 10.0, "total_s": 80.0}
    md = render(ours, base, bound, command="c", machine="m", time_scale=1.0, partners=10, skus=10)
    assert "| wall time (s) | 100.0 | 500.0 |" in md and "| speed-up | 5.0× | 1× |" in md
    assert "1,000 (measured on 100 tasks = 1/10 of the partners, totals ×10)" in md
    assert "$5.00" in md  # its cost, extrapolated
    assert "75% waited on LLM calls" in md and "25% on marketplace calls" in md
    assert "one pack's duration 20.0 s" in md and "1.25× the bound" in md
