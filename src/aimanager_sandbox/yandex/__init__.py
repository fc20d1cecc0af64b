"""Yandex Market Partner API sandbox (Market Yandex Go flavour), on ``common``'s machinery.

Speaks what ``connectors.yandex`` uses: offer-mappings/update (ru/uz, whole-batch rejection), offer-cards
(card checks finishing after ``task_delay``), business offer prices, campaign stocks (write + paged read),
business orders (page tokens, 30-day window) and reports (generate → info → JSON file that expires after
60 minutes). ``Api-Key`` auth (a ``Bearer`` prefix is refused), ``{status, result}`` envelopes, and the
limits: request- and item-counted quotas answered **420** with ``X-RateLimit-Resource-*`` headers, and
at most **2 parallel requests per login** (the sandbox records the highest concurrency it saw).

Sandbox rules that the real API does not document (marked [I] in the docs): a report over more than
92 days fails with ``TOO_LARGE``; descriptions with a forbidden word fail the card check; category 404 is
unknown. ``X-RateLimit-Resource-Until`` is written in *marketplace* time (now + wait in marketplace
seconds), so a scaled client waits the scaled amount.

Routes by API area in ``routes_cards``, ``routes_prices``, ``routes_stocks``, ``routes_orders`` and
``routes_reports``; state, wire helpers and quotas in ``state``; operator seeding and read-back in
``seed`` and ``snapshot``. Python accessors for tests: ``app.state.sandbox.account(api_key)`` →
``YmAccount``; ``state.seed_offers`` and ``state.rejections``.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request, Response

from aimanager.domain.enums import Marketplace
from aimanager_sandbox.common.control import install_control
from aimanager_sandbox.common.gate import Hooks, install
from aimanager_sandbox.common.orders import install_orders
from aimanager_sandbox.common.sandbox import Limit, RequestRecord, Sandbox, SandboxConfig
from aimanager_sandbox.yandex import (
    routes_cards,
    routes_fbs,
    routes_media,
    routes_notify,
    routes_orders,
    routes_price_reads,
    routes_prices,
    routes_reports,
    routes_stats,
    routes_stocks,
)
from aimanager_sandbox.yandex.seed import seed_account
from aimanager_sandbox.yandex.snapshot import read_offers
from aimanager_sandbox.yandex.state import (
    LIMITS,
    MAX_PARALLEL,
    YmAccount,
    group_of,
    limit_headers,
    new_account,
    ym_error,
)


def token_of(request: Request) -> str | None:
    token = request.headers.get("api-key")
    if token is None or token.lower().startswith("bearer ") or not request.app.state.sandbox.is_valid(token):
        return None
    return token


def rate_limited(retry: float, spec: Limit | None, remaining: float) -> Response:
    return ym_error(420, "LIMIT_EXCEEDED", "Too many requests", limit_headers(spec, remaining, retry))


HOOKS = Hooks(
    account_of=token_of,
    group_of=group_of,
    unauthorized=lambda: ym_error(401, "UNAUTHORIZED", "Api-Key is missing or invalid"),
    rate_limited=rate_limited,
    server_error=lambda status: ym_error(status, "INTERNAL_ERROR", "Internal server error"),
    success_headers=lambda spec, remaining: limit_headers(spec, remaining, spec.period),
)


async def parallel_gate(request: Request, call_next: Any) -> Response:
    """At most ``MAX_PARALLEL`` requests in flight per login, else 420 (recorded as a rejection)."""
    # Outermost layer: the login's concurrency is counted before auth, limits and faults.
    sb: Sandbox = request.app.state.sandbox
    token = request.headers.get("api-key")
    if request.url.path.startswith(("/_sandbox",)) or not sb.is_valid(token):
        return await call_next(request)  # type: ignore[no-any-return]
    acc: YmAccount = sb.account(token)  # type: ignore[arg-type]
    with sb.lock:
        acc.inflight += 1
        acc.max_inflight = max(acc.max_inflight, acc.inflight)
        over = acc.inflight > MAX_PARALLEL
        if over:
            acc.parallel_rejections += 1
            sb.requests.append(
                RequestRecord(sb.now(), token, request.method, request.url.path, None, 420, True, False)
            )
    try:
        if over:
            return ym_error(420, "LIMIT_EXCEEDED", f"Hit rate limit of {MAX_PARALLEL} parallel requests")
        return await call_next(request)  # type: ignore[no-any-return]
    finally:
        with sb.lock:
            acc.inflight -= 1


def create_app(config: SandboxConfig | None = None) -> FastAPI:
    """Build a YM sandbox app (state in ``app.state.sandbox``; accounts are ``YmAccount``)."""
    app = FastAPI(title="Yandex Market Partner API sandbox")
    install(app, Sandbox(config or SandboxConfig(), LIMITS, new_account), HOOKS)
    install_control(app, Marketplace.YANDEX, seed_account=seed_account, read_offers=read_offers)
    # FBS orders: buyers at a configurable rate, answered by the business orders route (``routes_fbs``).
    install_orders(app, routes_fbs.YmShelf())
    routes_notify.install(app)  # API notifications of new and cancelled orders to a seller's URL
    app.middleware("http")(parallel_gate)  # added last: the outermost middleware
    for router in (
        routes_cards.router,
        routes_stats.router,
        routes_prices.router,
        routes_price_reads.router,  # the business prices read (price read-back)
        routes_stocks.router,
        routes_orders.router,
        routes_reports.router,
    ):
        app.include_router(router)
    routes_media.install(app)  # pictures of offer-mappings/update, /_sandbox/media
    return app
