"""What a Wildberries sandbox account holds per offer (see ``common.snapshot`` for the contract).

Offers are the account's *created* cards (``vendorCode``); ``title`` is the card's ``title``;
``title_uz`` is ``None`` (WB keeps no Uzbek title). ``price`` is the **selling price after discount**:
``price × (100 − discount) / 100`` of the ``(price, discount)`` WB keeps for the card's ``nmID`` (exact
``Decimal``, not rounded). The connector sends ``price`` rounded to whole UZS with discount 0 when an
update has no ``old_price`` (then this equals the update's ``price`` rounded half-up to an integer), and
``old_price`` as WB's price with a whole-percent discount otherwise (then it equals the update's
``price`` only up to that percent rounding). ``stock`` is the sum over WB warehouses and over the card's
sizes (chrtIDs) of the FBS amounts; ``None`` when no amount was ever put for any of them.
"""

from __future__ import annotations

from decimal import Decimal

from aimanager_sandbox.common.snapshot import OfferState
from aimanager_sandbox.wildberries.state import WbAccount


def read_offers(acc: WbAccount) -> dict[str, OfferState]:
    out: dict[str, OfferState] = {}
    for code, card in acc.cards.items():
        chrt_ids = {s["chrtID"] for s in card["sizes"]}
        amounts = [amount for (_, chrt), amount in acc.stocks.items() if chrt in chrt_ids]
        price: Decimal | None = None
        if (stored := acc.prices.get(card["nmID"])) is not None:
            base, discount = stored
            price = Decimal(base) * (100 - Decimal(discount)) / 100
        out[code] = OfferState(
            offer_id=code,
            title=card.get("title"),
            title_uz=None,
            price=price,
            stock=sum(amounts) if amounts else None,
        )
    return out
