"""Yandex Market Partner API limits (the spec's ``none`` tier) and bulk sizes, from the reference §5.

YM quotas are per resource and per minute/hour, some counted in *items* (offers per minute), on top
of a global cap of **2 parallel requests per login**. Over quota the API answers **HTTP 420** with
``X-RateLimit-Resource-Until`` (RFC 822); the connector treats 420 like 429. A per-minute quota can be
spent at once, so each bucket's burst is the whole quota.
"""

from __future__ import annotations

from aimanager.connectors.ratelimit import BulkProfile, LimitSpec
from aimanager.connectors.yandex.models import (
    OFFER_MAPPINGS_PER_CALL,
    OFFER_PRICES_PER_CALL,
    STOCKS_PER_CALL,
)

BASE_URL = "https://api.partner.market.yandex.ru"
MAX_PARALLEL = 2  # per login; a third concurrent request is answered 420
RATE_LIMIT_STATUSES = (420, 429)

LIMITS: dict[str, LimitSpec] = {
    "offer-mappings-update": LimitSpec(5000, 60, burst=5000, unit="items"),
    "offer-mappings-read": LimitSpec(100, 60, burst=100),
    "offer-cards-read": LimitSpec(100, 60, burst=100),
    "offer-prices-update": LimitSpec(10000, 60, burst=10000, unit="items"),
    "offer-prices-read": LimitSpec(10000, 60, burst=10000, unit="items"),  # prices read-back
    "stocks-update": LimitSpec(100000, 60, burst=100000, unit="items"),
    "stocks-read": LimitSpec(100000, 60, burst=100000, unit="items"),
    "orders-read": LimitSpec(10000, 3600, burst=10000),
    "stats-orders": LimitSpec(10000, 3600, burst=10000),  # reference §5: 10000/h
    "reports-info": LimitSpec(100, 60, burst=100),
}

# Reports this connector generates: most allow one generation per 2 minutes, each type its own quota.
REPORT_KINDS = ("united-orders", "united-netting", "united-marketplace-services", "stocks-on-warehouses")
for _kind in REPORT_KINDS:
    LIMITS[f"report:{_kind}"] = LimitSpec(1, 120, burst=1)

BULK_PROFILE = BulkProfile(
    marketplace="Yandex Market (Go)",
    price_batch=OFFER_PRICES_PER_CALL,
    price_limits=(LIMITS["offer-prices-update"],),
    stock_batch=STOCKS_PER_CALL,
    stock_limits=(LIMITS["stocks-update"],),
    notes=(
        f"prices: ≤{OFFER_PRICES_PER_CALL} offers/call, 10,000 offers/min; stocks: ≤{STOCKS_PER_CALL} "
        f"SKUs/call, 100,000 SKUs/min; ≤{MAX_PARALLEL} parallel requests per login; cards "
        f"≤{OFFER_MAPPINGS_PER_CALL}/call ×2 (ru, then uz)"
    ),
)
