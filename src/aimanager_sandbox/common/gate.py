"""The gate in front of every marketplace sandbox's routes: auth, faults, rate limits, request log.

``install(app, sandbox, hooks)`` adds the middleware that, for every API request: authenticates (the
marketplace's own 401 shape), injects configured faults (5xx, hangs, 429 bursts), enforces the
per-account method-group token buckets with the marketplace's status code and headers, bills a refused
request where the marketplace does (WB: a stock 409 costs 10) and records the request. ``Hooks`` is
what a marketplace plugs in: how to find the account, which limit group a path is in, and its error
answers. Paths under ``/_sandbox`` (the
operator's endpoints) pass the gate untouched and unlogged.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request, Response

from aimanager_sandbox.common.sandbox import Limit, RequestRecord, Sandbox


@dataclass
class Hooks:
    """What a marketplace plugs into ``install``."""

    account_of: Callable[[Request], str | None]  # None → unauthorized
    group_of: Callable[[str, str], str | tuple[str, ...] | None]  # (method, path) → limit group(s)
    unauthorized: Callable[[], Response]
    rate_limited: Callable[[float, Limit | None, float], Response]  # (retry_after, limit, remaining)
    server_error: Callable[[int], Response]
    # Tokens a 4xx answer costs in total: a number, or (status, limit group) → number where the
    # marketplace bills only some refusals (WB: a 409 of the stock and warehouse methods costs 10).
    error_cost: int | Callable[[int, str | None], int] = 1
    success_headers: Callable[[Limit, float], dict[str, str]] | None = None


def install(app: FastAPI, sandbox: Sandbox, hooks: Hooks) -> None:
    """Attach ``sandbox`` and ``hooks`` to ``app`` (``app.state``) and add the gate middleware and
    ``/_sandbox/stats``."""
    app.state.sandbox = sandbox
    app.state.hooks = hooks
    app.add_api_route("/_sandbox/stats", stats, methods=["GET"], include_in_schema=False)
    app.middleware("http")(gate)


async def stats(request: Request) -> dict[str, Any]:
    """``GET /_sandbox/stats``: how many requests per path, and how many the limiter refused."""
    sandbox: Sandbox = request.app.state.sandbox
    by_path: dict[str, int] = {}
    for r in sandbox.requests:
        by_path[r.path] = by_path.get(r.path, 0) + 1
    return {"requests": len(sandbox.requests), "rejections": sandbox.rejections(), "by_path": by_path}


async def gate(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    """The middleware: every API request passes auth, faults and limits here and is recorded."""
    path = request.url.path
    if path.startswith("/_sandbox"):
        return await call_next(request)
    sandbox: Sandbox = request.app.state.sandbox
    hooks: Hooks = request.app.state.hooks
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
    cost = hooks.error_cost(status, group) if callable(hooks.error_cost) else hooks.error_cost
    if groups and 400 <= status < 500 and cost > 1:
        with sandbox.lock:
            for g in groups:
                sandbox.limiter.charge(account, g, cost - 1)
    if group is not None and status < 400 and hooks.success_headers is not None:
        response.headers.update(hooks.success_headers(sandbox.limits[group], remaining))
    record(status)
    return response
