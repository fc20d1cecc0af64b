"""Uzum Market seller OpenAPI sandbox, on ``common``'s machinery.

Speaks what ``connectors.uzum`` uses: ``GET /v1/shops``, products (``GET /v1/product/shop/{shopId}``,
``page``/``size``), prices (``POST /v1/product/{shopId}/sendPriceData``), FBS stocks
(``POST /v2/fbs/sku/stocks``, ``GET /v2`` and paged ``GET /v3/fbs/sku/stocks``) and finance orders
(``GET /v1/finance/orders``). Raw
``Authorization: <token>`` (a ``Bearer`` prefix is refused here, the canonical form is raw), the three
envelope styles, integer UZS (a fractional price is a 400), epoch-millisecond timestamps (``dateFrom``/
``dateTo`` accepted in seconds or milliseconds), and a 403 ``fbs-2-seller-access-denied`` for tokens
listed in ``config.extra["no_sku_read"]``.

Uzum publishes no rate limits (gap G-1): the sandbox enforces ``config.extra["limits"]`` (default: the
connector's assumed 3 reads/s and 4 writes/s) and answers 429 with **no** retry headers, as observed.
No product-create endpoint exists — cards are exported by the connector.

Routes by API area in ``routes_catalog`` (shops, products, prices), ``routes_stocks`` and
``routes_finance``; state and wire helpers in ``state``; operator seeding and read-back in ``seed`` and
``snapshot``. Python accessor for tests: ``app.state.sandbox.account(token)`` → ``UzumShop``.
"""

from __future__ import annotations

from fastapi import FastAPI, Request

from aimanager.domain.enums import Marketplace
from aimanager_sandbox.common.control import install_control
from aimanager_sandbox.common.gate import Hooks, install
from aimanager_sandbox.common.orders import install_orders
from aimanager_sandbox.common.sandbox import Limit, Sandbox, SandboxConfig
from aimanager_sandbox.uzum import routes_catalog, routes_fbs, routes_finance, routes_media, routes_stocks
from aimanager_sandbox.uzum.seed import seed_account
from aimanager_sandbox.uzum.snapshot import read_offers
from aimanager_sandbox.uzum.state import DEFAULT_LIMITS, group_of, new_shop, refuse


def token_of(request: Request) -> str | None:
    token = request.headers.get("authorization")
    if token is None or token.lower().startswith("bearer ") or not request.app.state.sandbox.is_valid(token):
        return None
    return token


HOOKS = Hooks(
    account_of=token_of,
    group_of=group_of,
    unauthorized=lambda: refuse(401, "unauthorized", "Full authentication is required"),
    rate_limited=lambda retry, spec, remaining: refuse(429, "too-many-requests", "Too many requests"),
    server_error=lambda status: refuse(status, "internal-error", "Internal server error"),
)


def create_app(config: SandboxConfig | None = None) -> FastAPI:
    """Build an Uzum sandbox app (state in ``app.state.sandbox``; accounts are ``UzumShop``)."""
    cfg = config or SandboxConfig()
    limits = {
        k: Limit(*v) if isinstance(v, tuple) else v
        for k, v in cfg.extra.get("limits", DEFAULT_LIMITS).items()
    }
    app = FastAPI(title="Uzum Market seller OpenAPI sandbox")
    install(app, Sandbox(cfg, limits, new_shop), HOOKS)
    install_control(app, Marketplace.UZUM, seed_account=seed_account, read_offers=read_offers)
    for router in (routes_catalog.router, routes_stocks.router, routes_finance.router):
        app.include_router(router)
    # FBS orders the seller must confirm (``common.orders``, ``routes_fbs``).
    install_orders(app, routes_fbs.UzumShelf(), needs_confirm=True)
    app.include_router(routes_fbs.router)
    routes_media.install(app)  # the cabinet's XLSX photo upload, /_sandbox/media
    return app
