"""The LLM sandbox's mutable state: limits, latency, outages, scripted faults, counters, request log.

Time scaling: with ``time_scale = s`` the sandbox behaves like a provider whose every duration is
multiplied by ``s`` — a 1 s time to first token becomes ``s`` seconds, an outage of 30 s lasts 30·s
seconds and a limit of 4,000 RPM becomes 4,000 / s requests per real minute. Headers report the
real-time limits, so a client needs no knowledge of the scale: it simply sees a faster provider.
"""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from aimanager_sandbox.llm.config import BAD_KINDS, SandboxConfig

__all__ = ["Bucket", "Fault", "LoggedRequest", "Outage", "SandboxConfig", "SandboxState"]


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


@dataclass(frozen=True, slots=True)
class Outage:
    """The provider answers ``status`` to every call (for ``model``, or all) until ``until``."""

    until: float  # time.monotonic()
    status: int
    model: str | None


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
        seed = self.config.seed
        # One stream of dice per concern, so e.g. a latency draw never shifts which answer goes bad.
        self.rng = random.Random(seed)  # transport faults
        self.answer_rng = random.Random(seed + 1)  # imperfect answers, batch outcomes
        self.latency_rng = random.Random(seed + 2)
        self.lock = threading.Lock()
        self.log: list[LoggedRequest] = []
        self.faults: deque[Fault] = deque()
        self.buckets: dict[tuple[str, str], Bucket] = {}
        self.prefix_cache: dict[str, float] = {}
        self.batches: dict[str, dict[str, Any]] = {}
        self.files: dict[str, bytes] = {}
        self.throttled_by: dict[str, int] = {}  # limit name → 429s it caused
        self.outages: list[Outage] = []
        self.output_tokens = 0
        self.cut_calls = 0
        self.bad_answers: dict[str, int] = dict.fromkeys(BAD_KINDS, 0)
        self.injected: dict[str, int] = {}  # fault kind → calls answered with it
        self.outage_errors = 0
        self.batch_outcomes: dict[str, int] = {}  # expired / errored / succeeded batch requests
        self._ids = 0

    # -- bookkeeping -----------------------------------------------------------------------------------
    def next_id(self, prefix: str) -> str:
        with self.lock:
            self._ids += 1
            return f"{prefix}{self._ids:08d}"

    def record(self, route: str, model: str | None, status: int) -> None:
        with self.lock:
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

    def bump(self, counter: dict[str, int], key: str, n: int = 1) -> None:
        with self.lock:
            counter[key] = counter.get(key, 0) + n

    def latency(self, output_tokens: int) -> float:
        """Real seconds one call takes: time to first token + output at the call's throughput, both
        drawn per call (a provider's speed varies with its load)."""
        cfg, rng = self.config, self.latency_rng
        ttft = rng.uniform(cfg.ttft_min_s, cfg.ttft_max_s)
        tps = max(1e-6, rng.uniform(cfg.tps_min, cfg.tps_max))
        return cfg.scaled(ttft + output_tokens / tps)

    def batch_duration(self) -> float:
        """Real seconds until a new batch ends: ``batch_seconds`` if set, else 5-60 sandbox minutes."""
        cfg = self.config
        if cfg.batch_seconds is not None:
            return cfg.scaled(cfg.batch_seconds)
        return cfg.scaled(self.answer_rng.uniform(cfg.batch_min_s, cfg.batch_max_s))

    def answered(self, output_tokens: int, was_cut: bool) -> None:
        """Count one answer (real time or batch) that was sent."""
        with self.lock:
            self.output_tokens += output_tokens
            self.cut_calls += int(was_cut)

    # -- outages ---------------------------------------------------------------------------------------
    def outage(self, seconds: float, status: int = 529, model: str | None = None) -> None:
        """From now on, for ``seconds`` sandbox seconds (× time_scale), every call (to ``model``, or to
        any model) is answered ``status``: 529 overloaded, 500 or 503."""
        with self.lock:
            self.outages.append(Outage(time.monotonic() + self.config.scaled(seconds), status, model))

    def outage_status(self, model: str) -> int | None:
        """The status an outage answers for ``model`` now, or None."""
        now = time.monotonic()
        with self.lock:
            self.outages = [o for o in self.outages if o.until > now]
            for outage in self.outages:
                if outage.model is None or outage.model == model:
                    return outage.status
        return None

    def outage_left_s(self) -> float:
        """Real seconds until the last running outage ends (0 when none runs)."""
        now = time.monotonic()
        return max((o.until - now for o in self.outages), default=0.0) if self.outages else 0.0

    def stats(self) -> dict[str, Any]:
        """What ``GET /_sandbox/stats`` reports."""
        by_route: dict[str, int] = {}
        for entry in self.log:
            by_route[entry.route] = by_route.get(entry.route, 0) + 1
        return {
            "requests": len(self.log),
            "by_route": by_route,
            "throttled": sum(1 for r in self.log if r.status == 429),
            "throttled_by": dict(self.throttled_by),
            "output_tokens": self.output_tokens,
            "cut_calls": self.cut_calls,
            "bad_answers": dict(self.bad_answers),
            "injected_faults": dict(self.injected),
            "outage_errors": self.outage_errors,
            "outage_left_s": round(max(0.0, self.outage_left_s()), 3),
            "batch_requests": dict(self.batch_outcomes),
        }

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
