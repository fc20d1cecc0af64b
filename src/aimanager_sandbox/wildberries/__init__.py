"""Wildberries seller-API sandbox: content cards, prices & discounts, FBS stocks, finance, tariffs.

One app serves the paths of every WB host the connector uses (they do not collide). Behaviour follows
``reference/marketplace-apis.md`` §3: raw ``Authorization`` token; per-account token buckets per
method group with ``X-Ratelimit-*`` headers and 429; a stock/warehouse 409 is billed as 10 requests;
card uploads are validated *later* (title ≤ 60, vendorCode ≤ 72, known subject, unused vendorCode)
with failures in ``/content/v2/cards/error/list``; price uploads get an id that moves buffer → history
with per-item errors (unknown nmID, quarantine when the price falls 3×), repeat uploads answer 208
``alreadyExists``
and uploads equal to the prices in force 400 "already set"; stock PUT answers 204, silently ignores
items with unknown field names and refuses unknown sizes with a 409 list. Every answer has the shape
of WB's published OpenAPI (``tests/specs`` checks it; ``docs/marketplace-specs.md`` lists the sources).

Routes by API area in ``routes_content`` (cards), ``routes_prices``, ``routes_stocks`` and
``routes_finance`` (sales report, tariffs); state and rules in ``state``; operator seeding and read-back
in ``seed`` and ``snapshot``. Python accessors for tests: ``app.state.sandbox.account(token)`` →
``WbAccount``.
"""

from __future__ import annotations

import math

from fastapi import FastAPI, Request, Response

from aimanager.domain.enums import Marketplace
from aimanager_sandbox.common.control import install_control
from aimanager_sandbox.common.gate import Hooks, install
from aimanager_sandbox.common.orders import install_orders
from aimanager_sandbox.common.sandbox import Limit, Sandbox, SandboxConfig
from aimanager_sandbox.wildberries import (
    routes_content,
    routes_fbs,
    routes_finance,
    routes_media,
    routes_price_reads,
    routes_prices,
    routes_stocks,
)
from aimanager_sandbox.wildberries.seed import seed_account
from aimanager_sandbox.wildberries.snapshot import read_offers
from aimanager_sandbox.wildberries.state import LIMITS, generic_error, group_of, new_account


def token_of(request: Request) -> str | None:
    token = request.headers.get("authorization")
    return token if request.app.state.sandbox.is_valid(token) else None


def error_cost(status: int, group: str | None) -> int:
    """WB bills a 409 of the Marketplace API's stock and warehouse methods as 10 requests; other
    refusals cost what any request costs."""
    return 10 if status == 409 and group == "marketplace" else 1


def rate_limited(retry: float, spec: Limit | None, remaining: float) -> Response:
    headers = {
        "X-Ratelimit-Retry": str(max(1, math.ceil(retry))),
        "X-Ratelimit-Reset": str(max(1, math.ceil(retry))),
        "X-Ratelimit-Limit": str(int(spec.limit)) if spec else "0",
        "X-Ratelimit-Remaining": "0",
    }
    return generic_error(429, "too many requests", "Limited by global limiter", headers)


HOOKS = Hooks(
    account_of=token_of,
    group_of=group_of,
    unauthorized=lambda: generic_error(401, "unauthorized", "token is missing, invalid or expired"),
    rate_limited=rate_limited,
    server_error=lambda status: generic_error(status, "internal server error", "sandbox fault"),
    error_cost=error_cost,
    success_headers=lambda spec, remaining: {"X-Ratelimit-Remaining": str(max(0, math.floor(remaining)))},
)


def create_app(config: SandboxConfig | None = None) -> FastAPI:
    """Build a WB sandbox app (state lives in ``app.state.sandbox``)."""
    app = FastAPI(title="Wildberries sandbox")
    install(app, Sandbox(config or SandboxConfig(), LIMITS, new_account), HOOKS)
    install_control(app, Marketplace.WILDBERRIES, seed_account=seed_account, read_offers=read_offers)
    for router in (routes_content.router, routes_prices.router, routes_stocks.router, routes_finance.router):
        app.include_router(router)
    app.include_router(routes_price_reads.router)  # the goods list with prices (price read-back)
    # FBS orders: buyers at a configurable rate, assembly tasks (``common.orders``, ``routes_fbs``).
    install_orders(app, routes_fbs.WbShelf())
    app.include_router(routes_fbs.router)
    routes_media.install(app)  # photos: media/save, media/file, /_sandbox/media
    return app
