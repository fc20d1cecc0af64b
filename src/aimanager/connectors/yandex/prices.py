"""Reading back the prices a Yandex Market business holds (``POST /v2/businesses/{businessId}/offer-prices``).

``getDefaultPrices`` answers the prices set for all stores — the ones ``offer-prices/updates`` sets —
for up to 200 ``offerIds`` a call, paged by ``page_token``; its quota counts offers (10,000 a minute,
the ``offer-prices-read`` bucket). ``price.value`` is the selling price (``discountBase`` is the
struck-through one). Offers with no price there are left out of the answer: "no price there".
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from aimanager.connectors.base import batches

if TYPE_CHECKING:
    from aimanager.connectors.yandex.connector import YandexMarketConnector

OFFER_IDS_PER_READ = 200  # GetDefaultPricesRequest.offerIds: maxItems 200


async def read_prices(conn: YandexMarketConnector, offer_ids: Sequence[str]) -> dict[str, Decimal]:
    """The selling price YM shows per ``offer_id`` (business-level), for the offers priced there."""
    out: dict[str, Decimal] = {}
    for batch in batches(list(dict.fromkeys(offer_ids)), OFFER_IDS_PER_READ):
        token: str | None = None
        while True:
            params: dict[str, Any] = {"limit": OFFER_IDS_PER_READ}
            if token:
                params["page_token"] = token
            answer = await conn.http.json(
                "POST",
                f"/v2/businesses/{conn.business_id}/offer-prices",
                group="offer-prices-read",
                params=params,
                json={"offerIds": list(batch)},
                cost=len(batch),
            )
            result = (answer or {}).get("result") or {}
            for offer in result.get("offers") or []:
                value = (offer.get("price") or {}).get("value")
                if value is not None:
                    out[str(offer["offerId"])] = Decimal(str(value))
            token = (result.get("paging") or {}).get("nextPageToken")
            if not token:
                break
    return out
