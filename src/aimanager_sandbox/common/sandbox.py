"""Shared machinery of the marketplace sandboxes: accounts, limits, faults, tasks, history, request log.

A marketplace sandbox is a FastAPI app built by ``create_app(config)`` that owns one ``Sandbox``
(``app.state.sandbox``). ``install(app, sandbox, hooks)`` adds the middleware that, for every API
request: authenticates (the marketplace's own 401 shape), injects configured faults (5xx, hangs,
429 bursts), enforces the per-account method-group token buckets with the marketplace's status code
and headers, bills a refused request (WB: a 4xx costs 10) and records the request.

Time: every duration in a config is in *marketplace seconds*; ``time_scale`` wall seconds pass per
marketplace second (tests use ~0.01, so a "6 s" window is 60 ms). The connectors take the same
``time_scale`` so both sides count the same limits.

This module deliberately shares no code with ``aimanager.connectors``: the limiter that enforces must
not be the limiter under test.

Tests read state back through Python (``app.state.sandbox``: ``.account(token)``, ``.requests``,
``.count()``, ``.rejections()``) or over HTTP at ``GET /_sandbox/stats``; accounts are seeded and read
back over HTTP at ``POST /_sandbox/seed`` and ``GET /_sandbox/snapshot`` (``control``).
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from aimanager.domain.enums import Marketplace


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


@dataclass
class Hooks:
    """What a marketplace plugs into ``install``."""

    account_of: Callable[[Request], str | None]  # None → unauthorized
    group_of: Callable[[str, str], str | tuple[str, ...] | None]  # (method, path) → limit group(s)
    unauthorized: Callable[[], Response]
    rate_limited: Callable[[float, Limit | None, float], Response]  # (retry_after, limit, remaining)
    server_error: Callable[[int], Response]
    error_cost: int = 1  # tokens a 4xx answer costs in total
    success_headers: Callable[[Limit, float], dict[str, str]] | None = None


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


def install(app: FastAPI, sandbox: Sandbox, hooks: Hooks, *, marketplace: Marketplace | None = None) -> None:
    """Attach ``sandbox`` to ``app`` and add the auth/fault/limit/log middleware and ``/_sandbox/stats``;
    with ``marketplace``, also ``/_sandbox/seed`` and ``/_sandbox/snapshot`` (see ``control``)."""
    app.state.sandbox = sandbox
    if marketplace is not None:
        from aimanager_sandbox.marketplaces.control import install_control

        install_control(app, marketplace)

    @app.get("/_sandbox/stats", include_in_schema=False)
    async def stats() -> dict[str, Any]:
        by_path: dict[str, int] = {}
        for r in sandbox.requests:
            by_path[r.path] = by_path.get(r.path, 0) + 1
        return {"requests": len(sandbox.requests), "rejections": sandbox.rejections(), "by_path": by_path}

    @app.middleware("http")
    async def _gate(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        path = request.url.path
        if path.startswith("/_sandbox"):
            return await call_next(request)
        method = request.method
        account = hooks.account_of(request)
        found = hooks.group_of(method, path)
        groups: tuple[str, ...] = (found,) if isinstance(found, str) else (found or ())
        group = groups[0] if groups else None

        def record(status: int, *, rejected: bool = False, faulted: bool = False) -> None:
            with sandbox.lock:
                sandbox.requests.append(
                    RequestRecord(sandbox.now(), account, method, path, group, status, rejected, faulted)
                )

        if account is None:
            record(401)
            return hooks.unauthorized()
        fault = sandbox.pick_fault(path)
        if fault == "error":
            record(sandbox.config.faults.error_status, faulted=True)
            return hooks.server_error(sandbox.config.faults.error_status)
        if fault == "429":
            record(429, rejected=True, faulted=True)
            spec = sandbox.limits.get(group) if group else None
            return hooks.rate_limited(1.0, spec, 0.0)
        if fault == "hang":
            # The client times out; we then answer normally, like a server that did the work late.
            await asyncio.sleep(sandbox.config.faults.hang_seconds)
        remaining = 0.0
        if groups and sandbox.config.enforce_limits:
            with sandbox.lock:
                ok, remaining, retry, decided = sandbox.limiter.take(account, groups)
            if not ok:
                record(429, rejected=True)
                return hooks.rate_limited(retry, sandbox.limits[decided], remaining)
        response = await call_next(request)
        status = response.status_code
        if groups and 400 <= status < 500 and hooks.error_cost > 1:
            with sandbox.lock:
                for g in groups:
                    sandbox.limiter.charge(account, g, hooks.error_cost - 1)
        if group is not None and status < 400 and hooks.success_headers is not None:
            response.headers.update(hooks.success_headers(sandbox.limits[group], remaining))
        record(status)
        return response


def json_error(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> JSONResponse:
    """A JSON error answer."""
    return JSONResponse(status_code=status, content=body, headers=headers)


@dataclass(frozen=True)
class HistoryRow:
    """One seeded sale: a unit price, quantity and the marketplace's cut."""

    day: date
    seq: int
    offer_id: str
    quantity: int
    unit_price: Decimal
    commission_pct: Decimal
    logistics: Decimal
    returned: bool


def seeded_history(
    rng: random.Random,
    offers: list[tuple[str, Decimal]],
    *,
    end: date,
    days: int,
    per_day: int,
    commission_pct: Decimal = Decimal("15"),
    logistics: Decimal = Decimal("60"),
) -> list[HistoryRow]:
    """Deterministic order/sales history for ``offers`` (offer id, list price) over ``days`` days."""
    rows: list[HistoryRow] = []
    seq = 0
    for d in range(days):
        day = end - timedelta(days=days - 1 - d)
        for _ in range(rng.randint(max(0, per_day - 2), per_day + 2)):
            offer_id, price = offers[rng.randrange(len(offers))]
            seq += 1
            rows.append(
                HistoryRow(
                    day=day,
                    seq=seq,
                    offer_id=offer_id,
                    quantity=rng.randint(1, 3),
                    unit_price=(price * Decimal(rng.randint(85, 100)) / 100).quantize(Decimal("1")),
                    commission_pct=commission_pct,
                    logistics=logistics,
                    returned=rng.random() < 0.05,
                )
            )
    return rows
