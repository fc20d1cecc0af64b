"""Ozon Seller API limits and bulk sizes, from the reference §4 ([C] unless marked [I])."""

from __future__ import annotations

from aimanager.connectors.ratelimit import BulkProfile, LimitSpec

BASE_URL = "https://api-seller.ozon.ru"

LIMITS: dict[str, LimitSpec] = {
    # 50 requests/s per Client-Id across all methods [C]; burst not documented, one second's worth [I].
    "global": LimitSpec(50, 1, burst=50),
    # /v2/products/stocks: 80 requests/min per seller [C]; burst not documented [I].
    "stocks": LimitSpec(80, 60, burst=10),
    # /v1/analytics/data: ≤ 1 request/min [C].
    "analytics": LimitSpec(1, 60, burst=1),
    # /v1/finance/accrual/*: no published quota [I]; kept modest (one call per day of a period).
    "finance": LimitSpec(10, 1, burst=10),
    # Everything else is bounded by the global limit only (product quotas are per item per day).
    "default": LimitSpec(50, 1, burst=50),
}

IMPORT_BATCH = 100  # /v3/product/import items
PRICES_BATCH = 1000  # /v1/product/import/prices
STOCKS_BATCH = 100  # /v2/products/stocks product–warehouse pairs
READ_PAGE = 1000  # cursor reads (v4 stocks, v5 prices) and analytics rows
STOCK_PAIR_PERIOD = 30.0  # one update per product–warehouse pair per 30 s
# A pair refused for pace anyway (updated by someone else in the window) is sent again after the
# window this many times before the refusal is reported as the item's failure.
STOCK_PACE_RESENDS = 2


def is_pace_refusal(code: str) -> bool:
    """A per-item refusal that says "too often" (``TOO_MANY_REQUESTS``): waiting cures it."""
    return code.upper() == "TOO_MANY_REQUESTS"


PRICE_CHANGES_PER_HOUR = 10  # per product
MAX_PRICE_WAIT = 120.0  # we wait out a stock cooldown, but never an hour for a price slot
WAREHOUSE_PAGE = 50  # /v2/warehouse/list
# ``currency_code`` values Ozon documents for a cabinet's prices. Anything else the account reports is
# taken as the account says, with a warning: it is not in the spec.
DOCUMENTED_CURRENCIES = frozenset({"RUB", "BYN", "KZT", "EUR", "USD", "CNY"})
NAME_MAX = 500
OFFER_ID_MAX = 50

BULK_PROFILE = BulkProfile(
    marketplace="Ozon",
    price_batch=PRICES_BATCH,
    price_limits=(LIMITS["global"],),
    stock_batch=STOCKS_BATCH,
    stock_limits=(LIMITS["stocks"], LIMITS["global"]),
    notes=(
        "prices: 50 rps per Client-Id, 10 changes/h per product; "
        "stocks: 80/min (burst 10 assumed), a pair once per 30 s"
    ),
)
