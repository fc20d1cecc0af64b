"""The LLM sandbox's configuration and mutable state: limits, latency, injected faults, request log.

Time scaling: with ``time_scale = s`` the sandbox behaves like a provider whose every duration is
multiplied by ``s`` — latency 2-5 s becomes 2s-5s seconds and a limit of 4,000 RPM becomes
4,000 / s requests per real minute. Headers report the real-time limits, so a client needs no knowledge
of the scale: it simply sees a faster provider.
"""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class SandboxConfig:
    """Knobs of the sandbox. Limits are per (sandbox) minute and per model, like Anthropic's."""

    time_scale: float = 1.0
    latency_min_s: float = 2.0
    latency_max_s: float = 5.0
    rpm: int | None = 4000
    itpm: int | None = 4_000_000
    otpm: int | None = 800_000
    # Bucket capacity as seconds of refill. Anthropic refills continuously and punishes bursts with its
    # acceleration limit; a small bucket (10 % of a minute) models that and makes the client limiter work.
    burst_seconds: float = 6.0
    # Like Anthropic: OTPM is charged with max_tokens when a request starts and corrected at the end.
    otpm_reserve_max_tokens: bool = True
    error_500_rate: float = 0.0
    overload_rate: float = 0.0
    seed: int = 7
    batch_seconds: float = 30.0  # processing time of a whole batch (sandbox seconds)
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


@dataclass(slots=True)
class Fault:
    """One scripted answer: ``rate_limit`` | ``spend_cap`` | ``overloaded`` | ``server_error``."""

    kind: str
    model: str | None = None  # only requests for this model consume it
    retry_after_s: float = 0.05  # real seconds, for rate_limit


class Bucket:
    """A continuous-refill token bucket (may go negative after a correction, like the real ones)."""

    def __init__(self, rate_per_s: float, capacity: float) -> None:
        self.rate = rate_per_s
        self.capacity = capacity
        self.level = capacity
        self.stamp = time.monotonic()

    def refill(self, now: float) -> None:
        self.level = min(self.capacity, self.level + (now - self.stamp) * self.rate)
        self.stamp = now

    def wait_for(self, amount: float, now: float) -> float:
        """Seconds until ``amount`` is available (0 if it is now)."""
        self.refill(now)
        need = min(amount, self.capacity) - self.level
        return 0.0 if need <= 0 else need / self.rate


@dataclass(slots=True)
class LoggedRequest:
    at: float  # time.monotonic()
    route: str
    model: str | None
    status: int


class SandboxState:
    """Everything the routes share. Thread-safe enough for a server thread plus a test thread."""

    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.config = config or SandboxConfig()
        self.rng = random.Random(self.config.seed)
        self.lock = threading.Lock()
        self.log: list[LoggedRequest] = []
        self.faults: deque[Fault] = deque()
        self.buckets: dict[tuple[str, str], Bucket] = {}
        self.prefix_cache: dict[str, float] = {}
        self.batches: dict[str, dict[str, Any]] = {}
        self.files: dict[str, bytes] = {}
        self.throttled_by: dict[str, int] = {}  # limit name → 429s it caused
        self._ids = 0

    # -- bookkeeping -----------------------------------------------------------------------------------
    def next_id(self, prefix: str) -> str:
        with self.lock:
            self._ids += 1
            return f"{prefix}{self._ids:08d}"

    def record(self, route: str, model: str | None, status: int) -> None:
        self.log.append(LoggedRequest(time.monotonic(), route, model, status))

    def find_batch(self, route: str, batch_id: str) -> dict[str, Any] | None:
        """The batch ``batch_id`` of either wire format (None if unknown); the lookup is logged on
        ``route`` as 200 or 404."""
        batch = self.batches.get(batch_id)
        self.record(route, None, 200 if batch else 404)
        return batch

    def count(self, route: str | None = None) -> int:
        """Requests received (optionally on one route, e.g. ``"messages"``)."""
        return sum(1 for r in self.log if route is None or r.route == route)

    def script(self, *faults: Fault) -> None:
        """Queue faults; each matching request consumes one."""
        self.faults.extend(faults)

    def take_fault(self, model: str | None) -> Fault | None:
        with self.lock:
            for fault in list(self.faults):
                if fault.model is None or fault.model == model:
                    self.faults.remove(fault)
                    return fault
        return None

    def latency(self) -> float:
        cfg = self.config
        return cfg.scaled(self.rng.uniform(cfg.latency_min_s, cfg.latency_max_s))

    # -- limits ----------------------------------------------------------------------------------------
    def bucket(self, model: str, kind: str) -> Bucket | None:
        per_minute = {"rpm": self.config.rpm, "itpm": self.config.itpm, "otpm": self.config.otpm}[kind]
        if not per_minute:
            return None
        key = (model, kind)
        if key not in self.buckets:
            rate = self.config.per_second(per_minute)
            self.buckets[key] = Bucket(rate, rate * self.config.scaled(self.config.burst_seconds))
        return self.buckets[key]

    def admit(self, model: str, input_tokens: int, output_reserve: int) -> tuple[float, str]:
        """Take the request's share of every bucket, or return ``(retry_after_s, which)`` without taking."""
        now = time.monotonic()
        with self.lock:
            wanted = {"rpm": 1.0, "itpm": float(input_tokens), "otpm": float(output_reserve)}
            waits = []
            for kind, amount in wanted.items():
                bucket = self.bucket(model, kind)
                if bucket is not None:
                    waits.append((bucket.wait_for(amount, now), kind))
            worst = max(waits, default=(0.0, ""))
            if worst[0] > 0:
                return worst
            for kind, amount in wanted.items():
                bucket = self.bucket(model, kind)
                if bucket is not None:
                    bucket.level -= amount
            return 0.0, ""

    def settle_output(self, model: str, reserved: int, actual: int) -> None:
        """Correct the output bucket once the real output size is known."""
        bucket = self.bucket(model, "otpm")
        if bucket is not None:
            with self.lock:
                bucket.level += reserved - actual

    def limit_headers(self, model: str, prefix: str) -> dict[str, str]:
        """``anthropic-ratelimit-*`` (prefix ``anthropic-ratelimit-``) or ``x-ratelimit-*`` style values."""
        headers: dict[str, str] = {}
        now = time.monotonic()
        names = {"rpm": "requests", "itpm": "input-tokens", "otpm": "output-tokens"}
        for kind, name in names.items():
            bucket = self.bucket(model, kind)
            per_minute = {"rpm": self.config.rpm, "itpm": self.config.itpm, "otpm": self.config.otpm}[kind]
            if bucket is None or not per_minute:
                continue
            bucket.refill(now)
            headers[f"{prefix}{name}-limit"] = str(self.config.header_limit(per_minute))
            headers[f"{prefix}{name}-remaining"] = str(max(0, int(bucket.level)))
        return headers

    def prompt_cache(self, key: str) -> bool:
        """True if the prefix ``key`` is cached now (a read); records a write otherwise."""
        now = time.monotonic()
        with self.lock:
            hit = self.prefix_cache.get(key, 0.0) > now
            self.prefix_cache[key] = now + self.config.scaled(self.config.cache_ttl_s)
            return hit
