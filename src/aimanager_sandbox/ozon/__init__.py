"""Ozon Seller-API sandbox: product import tasks, prices, FBS stocks, stock/price reads, analytics.

Follows ``reference/marketplace-apis.md`` §4: ``Client-Id`` + ``Api-Key`` (state per Client-Id);
50 rps per Client-Id plus 80/min on ``/v2/products/stocks`` and 1/min on ``/v1/analytics/data``
(429 with an ``rpcStatus`` body); errors as ``{code, message, details}``; batch writes answer 200 with
per-item ``errors`` and ``updated:false``; import tasks go pending → imported | failed | skipped
(skipped when nothing changed) after ``task_delay``; a stock pair accepts one update per 30 s
(``TOO_MANY_REQUESTS``), a product's price 10 changes per hour; opaque string cursors.

Item error codes not given by the spec are marked [I] where used. Routes by API area in
``routes_products`` (import tasks), ``routes_prices``, ``routes_stocks`` and ``routes_analytics``; state
and rules in ``state``; operator seeding and read-back in ``seed`` and ``snapshot``. Python accessor
for tests: ``app.state.sandbox.account(client_id)`` → ``OzonAccount``.
"""

from __future__ import annotations

from fastapi import FastAPI, Request

from aimanager.domain.enums import Marketplace
from aimanager_sandbox.common.control import install_control
from aimanager_sandbox.common.gate import Hooks, install
from aimanager_sandbox.common.orders import install_orders
from aimanager_sandbox.common.sandbox import Sandbox, SandboxConfig
from aimanager_sandbox.ozon import (
    routes_analytics,
    routes_fbs,
    routes_finance,
    routes_media,
    routes_prices,
    routes_products,
    routes_push,
    routes_stocks,
)
from aimanager_sandbox.ozon.seed import seed_account
from aimanager_sandbox.ozon.snapshot import read_offers
from aimanager_sandbox.ozon.state import LIMITS, group_of, new_account, rpc_error


def account_of(request: Request) -> str | None:
    client_id, key = request.headers.get("client-id"), request.headers.get("api-key")
    if not client_id or not client_id.isdigit() or not request.app.state.sandbox.is_valid(key):
        return None
    return client_id


HOOKS = Hooks(
    account_of=account_of,
    group_of=group_of,
    unauthorized=lambda: rpc_error(403, 7, "Invalid Api-Key, please contact support"),
    rate_limited=lambda retry, spec, rem: rpc_error(429, 8, "You have reached request rate limit per second"),
    server_error=lambda status: rpc_error(status, 13, "internal error"),
)


def create_app(config: SandboxConfig | None = None) -> FastAPI:
    """Build an Ozon sandbox app (state in ``app.state.sandbox``, one account per Client-Id)."""
    app = FastAPI(title="Ozon sandbox")
    install(app, Sandbox(config or SandboxConfig(), LIMITS, new_account), HOOKS)
    install_control(app, Marketplace.OZON, seed_account=seed_account, read_offers=read_offers)
    for router in (
        routes_products.router,
        routes_prices.router,
        routes_stocks.router,
        routes_analytics.router,
        routes_finance.router,
    ):
        app.include_router(router)
    # FBS orders: buyers at a configurable rate, postings (``common.orders``, ``routes_fbs``).
    install_orders(app, routes_fbs.OzonShelf())
    routes_push.install(app)  # push notifications of new and cancelled postings to a seller's URL
    app.include_router(routes_fbs.router)
    routes_media.install(app)  # pictures/import, pictures/info, /_sandbox/media
    return app
