"""Gateway configuration: one frozen object, built from settings or by hand in tests and benchmarks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from aimanager.errors import ConfigError
from aimanager.llm.buckets import Limits

PROVIDERS = ("offline", "anthropic", "openai")


@dataclass(frozen=True, slots=True)
class GatewayConfig:
    """Everything the gateway needs to know; defaults are the production defaults."""

    provider: str = "offline"
    # Other providers to fall back to (each needs a key or a base URL).
    fallback_providers: tuple[str, ...] = ()
    anthropic_api_key: str | None = None
    anthropic_base_url: str | None = None
    openai_api_key: str | None = None
    openai_base_url: str | None = None
    routes_file: str | None = None
    task_overrides: dict[str, str] = field(default_factory=dict)  # task kind → tier
    # Starting max_tokens per packed item for every task (None: the routes file's value, which fits one
    # realistic ru+uz card). Only the start: once the provider's usage is seen, the budget follows the
    # observed output per item (``budget.OutputBudgets``), up when answers are cut, down when they are small.
    max_output_tokens_per_item: int | None = None
    # The most output one call may ask for, per model id ("*": any other model) — the model's max output.
    max_output_tokens_per_call: dict[str, int] = field(
        default_factory=lambda: {"*": 32_000, "claude-haiku-5-5": 64_000, "claude-sonnet-5-5": 64_000}
    )
    tier_overrides: dict[str, list[str]] = field(default_factory=dict)  # tier → ["provider:model"]
    cache_store: Literal["sql", "redis", "none"] = "sql"
    cache_ttl_days: float | None = 90.0
    redis_url: str | None = None
    redis_prefix: str = "aimanager:llm:"
    limiter_store: Literal["memory", "redis"] | None = None  # None: redis when redis_url is set
    limits: dict[str, Limits] = field(default_factory=dict)  # "provider:model" or "*" → seed limits
    limiter_burst_seconds: float = 1.0
    concurrency_initial: int = 16
    concurrency_max: int = 1024
    pack_size: int = 20
    pack_window_s: float = 0.05
    batch_enabled: bool = False
    batch_window_s: float = 1.0
    batch_max_requests: int = 10_000
    # A batch is polled at ``batch_poll_share`` of its age, between ``batch_poll_min_s`` and
    # ``batch_poll_s``: whatever its turnaround (a minute or a day), its end is seen within ~5 % of it,
    # at a few dozen polls an hour — a fixed period is either slow for short batches or chatty for long.
    batch_poll_s: float = 30.0
    batch_poll_min_s: float = 1.0
    batch_poll_share: float = 0.05
    batch_timeout_s: float = 24 * 3600.0
    # How long a caller waits for its batched items before getting "pending" back: under the job
    # timeout, so the job snoozes and looks again instead of being cut off and retried. (Tried at 10 s
    # so slots go back sooner: the next looks then raced the first for the same packs and re-sent part
    # of them in real time, billing those cards twice.)
    batch_wait_s: float = 600.0
    max_retries: int = 4
    retry_base_delay_s: float = 0.5
    max_retry_after_s: float = 60.0
    request_timeout_s: float = 600.0
    cooldown_s: float = 30.0
    # A fallback model may cost at most this many times the route's first model (per input and output
    # token); a dearer one is never used because of an outage (None: any price). Escalation to the
    # large tier for a card that failed its checks is not a fallback and is not limited by this.
    max_fallback_price_ratio: float | None = 3.0
    max_description_chars: int = 4000
    budget_refresh_s: float = 30.0

    def __post_init__(self) -> None:
        for name in (self.provider, *self.fallback_providers):
            if name not in PROVIDERS:
                raise ConfigError(f"unknown LLM provider {name!r}; expected one of {', '.join(PROVIDERS)}")
        if self.pack_size < 1:
            raise ConfigError("pack_size must be at least 1")
        if self.max_output_tokens_per_item is not None and self.max_output_tokens_per_item < 1:
            raise ConfigError("max_output_tokens_per_item must be at least 1")

    @property
    def providers(self) -> tuple[str, ...]:
        """Configured providers in preference order."""
        return tuple(dict.fromkeys((self.provider, *self.fallback_providers)))

    @classmethod
    def from_settings(cls, settings: Any, **overrides: Any) -> GatewayConfig:
        """Build from ``aimanager.settings.Settings`` (``AIMANAGER_*``); keyword overrides win."""

        def secret(value: Any) -> str | None:
            return value.get_secret_value() if value is not None else None

        fallbacks = []
        if settings.llm_provider != "anthropic" and settings.anthropic_api_key is not None:
            fallbacks.append("anthropic")
        if settings.llm_provider != "openai" and (settings.openai_api_key or settings.openai_base_url):
            fallbacks.append("openai")
        values: dict[str, Any] = {
            "provider": settings.llm_provider,
            "fallback_providers": tuple(fallbacks) if settings.llm_provider != "offline" else (),
            "anthropic_api_key": secret(settings.anthropic_api_key),
            "anthropic_base_url": settings.anthropic_base_url,
            "openai_api_key": secret(settings.openai_api_key),
            "openai_base_url": settings.openai_base_url,
            "redis_url": settings.redis_url,
            "routes_file": getattr(settings, "llm_routes_file", None),
            "cache_store": getattr(settings, "llm_cache_store", None)
            or ("redis" if settings.redis_url else "sql"),
            "pack_size": getattr(settings, "llm_pack_size", 20),
            "pack_window_s": getattr(settings, "llm_pack_window_ms", 50) / 1000.0,
            "batch_enabled": getattr(settings, "llm_batch_enabled", False),
        }
        values.update(overrides)
        return cls(**values)
