"""The LLM sandbox's knobs: realistic by default, ``KIND`` / ``perfect()`` for tests that need a kind model.

Defaults follow what a real provider does to a client: real BPE token counts, latency of
time-to-first-token plus output at 100-200 tokens/s, a few per cent of imperfect answers, occasional
429/500/529, Batch API turnaround of 5-60 minutes with some expired and errored requests. Every duration
is in *sandbox* seconds and multiplied by ``time_scale`` (see ``state``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Imperfect answers. Per item: a card of a pack goes wrong on its own; per call: the whole answer does.
ITEM_BAD_KINDS = ("missing_item", "uz_cyrillic", "invented_number", "empty_uz")
CALL_BAD_KINDS = ("invalid_json", "refusal", "chatter")
BAD_KINDS = CALL_BAD_KINDS + ITEM_BAD_KINDS
BAD_RATE_FIELDS = tuple(f"{kind}_rate" for kind in BAD_KINDS)
# Transport faults answered instead of a message (429 with retry-after, 500, 529 / OpenAI 503).
FAULT_RATE_FIELDS = ("rate_limit_rate", "error_500_rate", "overload_rate")
BATCH_RATE_FIELDS = ("batch_expired_rate", "batch_errored_rate")

# Everything a "kind" model needs zeroed: no bad answers, no injected faults, no lost batch requests.
PERFECT: dict[str, float] = dict.fromkeys(BAD_RATE_FIELDS + FAULT_RATE_FIELDS + BATCH_RATE_FIELDS, 0.0)


@dataclass(slots=True)
class SandboxConfig:
    """Knobs of the sandbox. Limits are per (sandbox) minute and per model, like Anthropic's."""

    time_scale: float = 1.0
    # Latency = time to first token + output tokens / throughput, both drawn per call.
    ttft_min_s: float = 0.5
    ttft_max_s: float = 1.0
    tps_min: float = 100.0
    tps_max: float = 200.0
    rpm: int | None = 4000
    itpm: int | None = 4_000_000
    otpm: int | None = 800_000
    # Bucket capacity as seconds of refill. Anthropic refills continuously and punishes bursts with its
    # acceleration limit; a small bucket (10 % of a minute) models that and makes the client limiter work.
    burst_seconds: float = 6.0
    # Like Anthropic: OTPM is charged with max_tokens when a request starts and corrected at the end.
    otpm_reserve_max_tokens: bool = True
    # Transport faults at a rate (per call).
    rate_limit_rate: float = 0.005
    error_500_rate: float = 0.002
    overload_rate: float = 0.005
    rate_limit_retry_after_s: tuple[float, float] = (2.0, 10.0)  # sandbox seconds, drawn per 429
    # Imperfect answers (see ``imperfect``): a few per cent in total.
    invalid_json_rate: float = 0.005
    refusal_rate: float = 0.002
    chatter_rate: float = 0.01
    missing_item_rate: float = 0.005
    uz_cyrillic_rate: float = 0.005
    invented_number_rate: float = 0.005
    empty_uz_rate: float = 0.005
    # Like some proxies in front of a provider: error bodies repeat the request headers (API key too).
    echo_headers_in_errors: bool = False
    seed: int = 7
    # Batch turnaround: a fixed ``batch_seconds`` (tests) or uniform in [batch_min_s, batch_max_s].
    batch_seconds: float | None = None
    batch_min_s: float = 300.0
    batch_max_s: float = 3600.0
    batch_expired_rate: float = 0.005
    batch_errored_rate: float = 0.005
    min_cache_tokens: int = 512  # Haiku 5.5's minimum cacheable prefix
    cache_ttl_s: float = 300.0
    # Fault knobs for tests.
    overloaded_models: set[str] = field(default_factory=set)
    bad_skus: set[str] = field(default_factory=set)  # weak models write invalid cards for these
    weak_models: set[str] = field(default_factory=lambda: {"claude-haiku-5-5", "gpt-5.6-luna"})
    batch_error_skus: set[str] = field(default_factory=set)  # batch requests with these sku error
    gullible: bool = False  # obey "ignore previous instructions" found in product text

    def scaled(self, seconds: float) -> float:
        return seconds * self.time_scale

    def per_second(self, per_minute: int) -> float:
        """Real-time refill rate of a per-minute limit."""
        return per_minute / (60.0 * self.time_scale)

    def header_limit(self, per_minute: int) -> int:
        """The limit as a real-time per-minute figure, as the headers report it."""
        return int(per_minute / self.time_scale)

    def bad_answer_rate(self) -> float:
        """The configured bad-answer rates added up (per-call and per-item kinds alike)."""
        return sum(float(getattr(self, name)) for name in BAD_RATE_FIELDS)

    def set_bad_answer_rate(self, total: float) -> None:
        """Spread ``total`` evenly over every bad-answer kind (``0`` makes the model perfect)."""
        for name in BAD_RATE_FIELDS:
            setattr(self, name, total / len(BAD_RATE_FIELDS))

    def update(self, values: dict[str, Any]) -> list[str]:
        """Set the known fields of ``values`` (sets from lists, tuples from lists); returns unknown keys."""
        unknown = []
        for key, value in values.items():
            if key not in self.__dataclass_fields__:
                unknown.append(key)
                continue
            current = getattr(self, key)
            if isinstance(current, set):
                value = set(value)
            elif isinstance(current, tuple):
                value = tuple(value)
            setattr(self, key, value)
        return unknown


def perfect(**overrides: Any) -> SandboxConfig:
    """A kind model: real counting and latency, but no bad answers, faults or lost batch requests."""
    return SandboxConfig(**{**PERFECT, **overrides})
