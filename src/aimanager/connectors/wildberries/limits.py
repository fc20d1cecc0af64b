"""Wildberries hosts, method groups, limits (Personal token) and bulk sizes, from the reference §3.

Every figure here is documented ([C] in ``reference/marketplace-apis.md``); the connector and the
BENCHMARKS table both read them from this module.
"""

from __future__ import annotations

from aimanager.connectors.ratelimit import BulkProfile, LimitSpec

HOSTS = {
    "content": "https://content-api.wildberries.ru",
    "prices": "https://discounts-prices-api.wildberries.ru",
    "marketplace": "https://marketplace-api.wildberries.ru",
    "statistics": "https://statistics-api.wildberries.ru",
    "finance": "https://finance-api.wildberries.ru",
    "common": "https://common-api.wildberries.ru",
}

# Method groups → token bucket. cards/upload, cards/update and cards/error/list share the 10/min
# group (the spec contradicts itself on error/list; the stricter reading is used).
LIMITS: dict[str, LimitSpec] = {
    "content_write": LimitSpec(10, 60, burst=5),
    "content_read": LimitSpec(100, 60, burst=5),
    "prices": LimitSpec(10, 6, burst=5),
    "marketplace": LimitSpec(300, 60, burst=20),
    "finance": LimitSpec(1, 60, burst=1),
    "tariffs": LimitSpec(1, 60, burst=2),
}


def error_cost(status: int, group: str) -> int:
    """What a refused request costs: WB bills a 409 of the Marketplace API's stock and warehouse
    methods as 10 requests; other refusals cost one, like any request."""
    return 10 if status == 409 and group == "marketplace" else 1


CARDS_PER_UPLOAD = 100
CARDS_PAGE = 100
PRICES_PER_UPLOAD = 1000
PRICES_HISTORY_PAGE = 1000
STOCKS_PER_CALL = 1000
MAX_STOCK_AMOUNT = 100_000
TITLE_MAX = 60
VENDOR_CODE_MAX = 72
REPORT_PAGE = 100_000

BULK_PROFILE = BulkProfile(
    marketplace="Wildberries",
    price_batch=PRICES_PER_UPLOAD,
    price_limits=(LIMITS["prices"],),
    price_follow_calls=1,
    stock_batch=STOCKS_PER_CALL,
    stock_limits=(LIMITS["marketplace"],),
    notes=(
        "prices: 10 req/6 s burst 5 (+1 status check per upload); "
        "stocks: 300/min burst 20; one seller warehouse assumed"
    ),
)
