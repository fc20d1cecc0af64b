"""Reading back the prices a Wildberries account holds (``POST /api/v2/list/goods/filter``).

The Prices API lists goods by WB article (``nmList``, ≤1,000 a call, in the Prices group's 10 requests
/ 6 s); each good has per-size ``price`` (before discount) and ``discountedPrice`` — the selling price,
which is what ``PriceUpdate.price`` sets (``wire.price_item``: price with discount 0, or ``old_price``
with a whole-percent discount). Offers with no card (no ``nmID``) and goods WB does not list are left
out of the answer: "no price there". The GET form of the same path pages the whole catalogue; by
article is one call for the offers asked about.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

from aimanager.connectors.base import batches

if TYPE_CHECKING:
    from aimanager.connectors.wildberries.connector import WildberriesConnector

GOODS_PER_READ = 1000


async def read_prices(conn: WildberriesConnector, offer_ids: Sequence[str]) -> dict[str, Decimal]:
    """The selling price WB shows per ``offer_id`` (vendorCode), for those it has a card and a price."""
    ids = await conn._resolve(list(offer_ids))
    by_nm = {ref["nmID"]: offer for offer, ref in ids.items()}
    out: dict[str, Decimal] = {}
    for batch in batches(list(by_nm), GOODS_PER_READ):
        answer = await conn.http.json(
            "POST", "/api/v2/list/goods/filter", group="prices", host="prices", json={"nmList": batch}
        )
        for item in ((answer or {}).get("data") or {}).get("listGoods") or []:
            offer = by_nm.get(item.get("nmID"))
            sizes = item.get("sizes") or []
            if offer is None or not sizes or sizes[0].get("discountedPrice") is None:
                continue
            # One size per card here (the connector pushes one price per nmID): its selling price.
            out[offer] = Decimal(str(sizes[0]["discountedPrice"]))
    return out
