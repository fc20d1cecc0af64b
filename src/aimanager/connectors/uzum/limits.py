"""Uzum Market seller OpenAPI: base URL, conservative limits and bulk sizes (reference §2, gap G-1).

Uzum publishes **no** rate limits or bulk sizes. The figures below follow the community's working code
([U]: stock pushes of 100 SKUs, 4 parallel requests with 500 ms between waves, ~350 ms between reads) and
are deliberately conservative; a 429 is retried with backoff (Uzum sends no retry header).
"""

from __future__ import annotations

from aimanager.connectors.ratelimit import BulkProfile, LimitSpec
from aimanager.connectors.uzum.models import STOCKS_PER_CALL

BASE_URL = "https://api-seller.uzum.uz/api/seller-openapi"
MAX_PARALLEL = 4

LIMITS: dict[str, LimitSpec] = {
    "read": LimitSpec(3, 1, burst=3),  # ~one read per 350 ms
    "write": LimitSpec(4, 1, burst=4),  # 4 parallel writes per 500 ms wave, halved for safety
}

# sendPriceData carries one product per call; with one SKU per product that is one call per SKU.
PRICE_SKUS_PER_CALL = 1

BULK_PROFILE = BulkProfile(
    marketplace="Uzum Market",
    price_batch=PRICE_SKUS_PER_CALL,
    price_limits=(LIMITS["write"],),
    stock_batch=STOCKS_PER_CALL,
    stock_limits=(LIMITS["write"],),
    notes=(
        "no published limits: assumed 4 writes/s; prices: one product per sendPriceData call (+1 catalogue "
        "page read per 100 SKUs to map seller codes to productId/skuId); stocks: 100 SKUs per call"
    ),
)
