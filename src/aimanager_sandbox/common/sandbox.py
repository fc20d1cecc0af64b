"""The base of every marketplace sandbox: its config (limits, faults, clock), accounts and request log.

A marketplace sandbox is a FastAPI app built by ``create_app(config)`` that owns one ``Sandbox``
(``app.state.sandbox``); ``gate.install`` puts it in front of the marketplace's routes.

Time: every duration in a config is in *marketplace seconds*; ``time_scale`` wall seconds pass per
marketplace second (tests use ~0.01, so a "6 s" window is 60 ms). The connectors take the same
``time_scale`` so both sides count the same limits.

This package deliberately shares no code with ``aimanager.connectors``: the limiter that enforces must
not be the limiter under test.

Tests read state back through Python (``app.state.sandbox``: ``.account(token)``, ``.requests``,
``.count()``, ``.rejections()``) or over HTTP at ``GET /_sandbox/stats``; accounts are seeded and read
back over HTTP at ``POST /_sandbox/seed`` and ``GET /_sandbox/snapshot`` (``control``).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any


@dataclass
class FaultConfig:
    """Faults to inject. Rates are probabilities per request (seeded, so runs repeat); the ``next_*``
    counters force the next N matching requests to fail (what tests use)."""

    error_rate: float = 0.0
    error_status: int = 503
    timeout_rate: float = 0.0
    hang_seconds: float = 2.0  # wall seconds a "timeout" request hangs before being answered
    next_errors: int = 0
    next_429: int = 0
    next_hangs: int = 0
    path_prefix: str = ""  # only paths starting with this are faulted ("" = all)


@dataclass(frozen=True)
class Limit:
    """Server-side bucket: ``limit`` per ``period`` marketplace seconds, capacity ``burst``."""

    limit: float
    period: float
    burst: int = 1


@dataclass
class SandboxConfig:
    """Knobs shared by every marketplace sandbox (``extra`` for marketplace-specific ones)."""

    time_scale: float = 1.0
    seed: int = 7
    task_delay: float = 3.0  # marketplace seconds until an async task finishes
    enforce_limits: bool = True
    faults: FaultConfig = field(default_factory=FaultConfig)
    valid_tokens: set[str] | None = None  # None: any non-empty token is an account
    history_end: date = date(2026, 10, 31)
    history_days: int = 60
    history_offers: int = 12
    history_orders_per_day: int = 6
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RequestRecord:
    """One API request as the sandbox saw it."""

    at: float
    account: str | None
    method: str
    path: str
    group: str | None
    status: int
    rejected: bool  # refused by the rate limiter (or a forced 429)
    faulted: bool


class ServerLimiter:
    """Exact token buckets keyed by (account, group)."""

    def __init__(self, limits: dict[str, Limit], now: Callable[[], float]) -> None:
        self.limits = limits
        self._now = now
        self._state: dict[tuple[str, str], tuple[float, float]] = {}

    def _tokens(self, key: tuple[str, str]) -> float:
        spec = self.limits[key[1]]
        now = self._now()
        tokens, stamp = self._state.get(key, (float(spec.burst), now))
        tokens = min(float(spec.burst), tokens + (now - stamp) * spec.limit / spec.period)
        self._state[key] = (tokens, now)
        return tokens

    def take(
        self, account: str, groups: tuple[str, ...], cost: float = 1.0
    ) -> tuple[bool, float, float, str]:
        """Spend ``cost`` from every group's bucket, or from none: return (ok, remaining, seconds until
        it would succeed, the group that decided)."""
        worst: tuple[float, float, str] = (0.0, float("inf"), groups[0])
        for group in groups:
            spec = self.limits[group]
            tokens = self._tokens((account, group))
            if tokens + 1e-9 < cost:
                wait = (cost - tokens) * spec.period / spec.limit
                if wait > worst[0]:
                    worst = (wait, tokens, group)
            elif worst[0] == 0.0 and tokens - cost < worst[1]:
                worst = (0.0, tokens - cost, group)
        if worst[0] > 0:
            return False, worst[1], worst[0], worst[2]
        for group in groups:
            key = (account, group)
            self._state[key] = (self._state[key][0] - cost, self._state[key][1])
        return True, worst[1], 0.0, worst[2]

    def charge(self, account: str, group: str, cost: float) -> None:
        """Bill extra tokens after the answer (the balance may go negative)."""
        key = (account, group)
        tokens = self._tokens(key)
        self._state[key] = (tokens - cost, self._state[key][1])


class Sandbox:
    """State and bookkeeping of one sandbox app (see the module docstring)."""

    def __init__(
        self, config: SandboxConfig, limits: dict[str, Limit], new_account: Callable[[Sandbox, str], Any]
    ) -> None:
        self.config = config
        self.limits = limits
        self.limiter = ServerLimiter(limits, self.now)
        self.requests: list[RequestRecord] = []
        self.lock = threading.Lock()
        self._accounts: dict[str, Any] = {}
        self._new_account = new_account
        self._rng = random.Random(config.seed)

    # --- time ----------------------------------------------------------------------------------
    def now(self) -> float:
        """Marketplace seconds on a monotonic clock."""
        return time.monotonic() / self.config.time_scale

    def ready_at(self, delay: float | None = None) -> float:
        """When a task started now finishes."""
        return self.now() + (self.config.task_delay if delay is None else delay)

    @staticmethod
    def utcnow() -> datetime:
        return datetime.now(UTC)

    # --- accounts ------------------------------------------------------------------------------
    def account(self, token: str) -> Any:
        """The per-token state (created, with seeded data, on first use)."""
        with self.lock:
            if token not in self._accounts:
                self._accounts[token] = self._new_account(self, token)
            return self._accounts[token]

    def has_account(self, token: str) -> bool:
        """Whether any request has opened the account ``token`` yet."""
        return token in self._accounts

    def is_valid(self, token: str | None) -> bool:
        if not token:
            return False
        return self.config.valid_tokens is None or token in self.config.valid_tokens

    # --- request log -----------------------------------------------------------------------------
    def count(self, *, account: str | None = None, group: str | None = None, path: str | None = None) -> int:
        """Requests recorded (rejected ones included) matching every given filter."""
        return sum(1 for r in self.requests if _match(r, account, group, path))

    def rejections(self, *, account: str | None = None, group: str | None = None) -> int:
        """Requests refused by the rate limiter (not counting forced 429 faults)."""
        return sum(
            1 for r in self.requests if r.rejected and not r.faulted and _match(r, account, group, None)
        )

    def reset_log(self) -> None:
        with self.lock:
            self.requests.clear()

    # --- faults ----------------------------------------------------------------------------------
    def pick_fault(self, path: str) -> str | None:
        """'error' | '429' | 'hang' | None for this request."""
        f = self.config.faults
        if f.path_prefix and not path.startswith(f.path_prefix):
            return None
        with self.lock:
            if f.next_429 > 0:
                f.next_429 -= 1
                return "429"
            if f.next_errors > 0:
                f.next_errors -= 1
                return "error"
            if f.next_hangs > 0:
                f.next_hangs -= 1
                return "hang"
            roll = self._rng.random()
        if roll < f.error_rate:
            return "error"
        if roll < f.error_rate + f.timeout_rate:
            return "hang"
        return None

    def history_rng(self, token: str) -> random.Random:
        """A deterministic RNG per (seed, account): seeded history repeats run after run."""
        return random.Random(f"{self.config.seed}:{token}")


def _match(r: RequestRecord, account: str | None, group: str | None, path: str | None) -> bool:
    return (
        (account is None or r.account == account)
        and (group is None or r.group == group)
        and (path is None or r.path.startswith(path))
    )
