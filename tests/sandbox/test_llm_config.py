"""The LLM sandbox's settings: realistic defaults, the kind model, and the world process's flags."""

from __future__ import annotations

import pytest

from aimanager_sandbox.llm import PERFECT, SandboxConfig, perfect
from aimanager_sandbox.llm.config import BAD_RATE_FIELDS
from aimanager_sandbox.world import WorldOptions, parse_args


def test_defaults_are_an_imperfect_provider_and_perfect_zeroes_it() -> None:
    real = SandboxConfig()
    assert 0.01 <= real.bad_answer_rate() <= 0.06  # "a few per cent"
    assert real.overload_rate > 0 and real.rate_limit_rate > 0 and real.batch_expired_rate > 0
    assert real.batch_seconds is None and (real.batch_min_s, real.batch_max_s) == (300.0, 3600.0)
    kind = perfect(time_scale=0.5)
    assert kind.time_scale == 0.5 and kind.bad_answer_rate() == 0
    assert all(getattr(kind, name) == 0 for name in PERFECT)
    kind.set_bad_answer_rate(0.05)
    assert kind.bad_answer_rate() == pytest.approx(0.05)
    assert [getattr(kind, name) for name in BAD_RATE_FIELDS] == [pytest.approx(0.05 / 7)] * 7


@pytest.mark.parametrize(
    "options",
    [
        WorldOptions(),
        WorldOptions(time_scale=0.01, llm_error_rate=None, llm_bad_answer_rate=0.05, llm_batch_seconds=30.0),
        WorldOptions(llm_ttft_min_s=0.2, llm_ttft_max_s=0.4, llm_tps_min=50.0, llm_tps_max=60.0),
    ],
)
def test_world_options_travel_to_the_child_process_unchanged(options: WorldOptions) -> None:
    assert parse_args([*options.argv(), "--exit-with-parent"]) == (options, True)


def test_world_options_make_the_llm_config() -> None:
    config = WorldOptions(
        time_scale=0.01, llm_error_rate=0.1, llm_bad_answer_rate=0.0, llm_tps_min=10.0, llm_batch_seconds=5.0
    ).llm_config()
    assert (config.error_500_rate, config.overload_rate, config.rate_limit_rate) == (0.05, 0.05, 0.0)
    assert config.bad_answer_rate() == 0 and config.tps_min == 10.0 and config.batch_seconds == 5.0
    realistic = WorldOptions(llm_error_rate=None).llm_config()
    assert realistic.overload_rate == SandboxConfig().overload_rate
    assert realistic.bad_answer_rate() == SandboxConfig().bad_answer_rate()
