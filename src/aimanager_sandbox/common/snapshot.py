"""What a marketplace sandbox account holds per offer, keyed by the seller's article (our offer id).

Tests compare the database with the marketplace through ``snapshot``: one ``OfferState`` per offer of
the account, read straight from the sandbox state (``app.state.sandbox``) under its lock. Reading is
side-effect free: no account is opened (an account no request or seeding has touched yet gives
``{}``) and no async job is advanced, so the snapshot shows what the sandbox has *applied* so far —
a WB card upload or price upload, or a YM card check, still waiting for its ``task_delay`` (and not
yet polled by anyone) is not in it. Push with ``wait=True`` (the connector polls until the task is
finished) before comparing.

Per marketplace (``token`` is the account key, as for ``seed_catalog``: WB/Uzum token, Ozon
Client-Id, YM Api-Key):

* **Wildberries** — offers are the account's *created* cards (``vendorCode``); ``title`` is the card's
  ``title``; ``title_uz`` is ``None`` (WB keeps no Uzbek title). ``price`` is the **selling price after
  discount**: ``price × (100 − discount) / 100`` of the ``(price, discount)`` WB keeps for the card's
  ``nmID`` (exact ``Decimal``, not rounded). The connector sends ``price`` rounded to whole UZS with
  discount 0 when an update has no ``old_price`` (then this equals the update's ``price`` rounded
  half-up to an integer), and ``old_price`` as WB's price with a whole-percent discount otherwise (then
  it equals the update's ``price`` only up to that percent rounding). ``stock`` is the sum over WB
  warehouses and over the card's sizes (chrtIDs) of the FBS amounts; ``None`` when no amount was ever
  put for any of them.
* **Ozon** — offers are the account's products (``offer_id``) plus any offer with a stock row;
  ``title`` is the product ``name``; ``title_uz`` ``None``; ``price`` is the product's ``price`` (the
  selling price; ``old_price`` is the struck-through one and not reported); ``stock`` is the sum of
  ``present`` over warehouses, ``None`` without a stock row.
* **Yandex Market** — offers are the union of the catalogue (offer mappings), prices and stocks, all by
  ``offerId``; ``title`` is the RU ``name`` as pushed (also while the card check is still running, since
  the mapping is stored at once), ``title_uz`` the UZ ``name`` when one was pushed with ``language=UZ``;
  ``price`` is the business price ``value`` (the selling price; ``discountBase`` is the old price);
  ``stock`` is the campaign's ``count`` for the offer.
* **Uzum** — offers are the shop's SKUs by ``sellerItemCode``; ``title`` is the product's ``title``
  (the card; a SKU's ``skuTitle`` adds its size); ``title_uz`` ``None`` — the Uzum sandbox keeps no
  Uzbek title (cards are created in the cabinet from our XLSX export, which the sandbox never sees);
  ``price`` is the SKU's ``price`` (= ``sellPrice``, the selling price; ``fullPrice`` is the
  struck-through one); ``stock`` is the FBS amount stored by barcode, ``None`` if never set.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from fastapi import FastAPI

from aimanager.domain.enums import Marketplace
from aimanager_sandbox.marketplaces.common import Sandbox


@dataclass(frozen=True)
class OfferState:
    """One offer as the sandbox account holds it (see the module docstring for each marketplace)."""

    offer_id: str  # seller article: WB vendorCode, Ozon offer_id, YM offerId, Uzum sellerItemCode
    title: str | None  # current card title (Russian); None if no card
    title_uz: str | None  # Uzbek title where the sandbox keeps one (YM UZ content), else None
    price: Decimal | None  # current selling price (WB: after discount); None if never set
    stock: int | None  # seller-warehouse stock summed over warehouses; None if never set


def snapshot(marketplace: Marketplace | str, app: FastAPI, token: str) -> dict[str, OfferState]:
    """Everything the sandbox account holds per offer: what a test compares with the database.

    ``token`` is the account key (WB/Uzum token, Ozon Client-Id, YM Api-Key). An account that was never
    opened gives ``{}``. Reads under ``sandbox.lock`` and changes nothing.
    """
    mp = Marketplace(marketplace)
    sb: Sandbox = app.state.sandbox
    if not sb.has_account(token):
        return {}
    acc = sb.account(token)  # takes the lock itself (not re-entrant): outside ``with sb.lock``
    reader = {
        Marketplace.WILDBERRIES: _wildberries,
        Marketplace.OZON: _ozon,
        Marketplace.YANDEX: _yandex,
        Marketplace.UZUM: _uzum,
    }[mp]
    with sb.lock:
        return reader(acc)


def _decimal(value: Any) -> Decimal | None:
    if value is None:
        return None
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _wildberries(acc: Any) -> dict[str, OfferState]:
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


def _ozon(acc: Any) -> dict[str, OfferState]:
    stocks: dict[str, int] = {}
    for (offer, _), present in acc.stocks.items():
        stocks[offer] = stocks.get(offer, 0) + int(present)
    out: dict[str, OfferState] = {}
    for offer in sorted(set(acc.products) | set(stocks)):
        product = acc.products.get(offer)
        out[offer] = OfferState(
            offer_id=offer,
            title=product["name"] if product else None,
            title_uz=None,
            price=_decimal(product["price"]) if product else None,
            stock=stocks.get(offer),
        )
    return out


def _yandex(acc: Any) -> dict[str, OfferState]:
    out: dict[str, OfferState] = {}
    for offer in sorted(set(acc.offers) | set(acc.prices) | set(acc.stocks)):
        stored = acc.offers.get(offer) or {}
        price = acc.prices.get(offer)
        stock = acc.stocks.get(offer)
        out[offer] = OfferState(
            offer_id=offer,
            title=(stored.get("ru") or {}).get("name"),
            title_uz=(stored.get("uz") or {}).get("name"),
            price=_decimal(price.get("value")) if price else None,
            stock=int(stock["count"]) if stock and stock.get("count") is not None else None,
        )
    return out


def _uzum(acc: Any) -> dict[str, OfferState]:
    out: dict[str, OfferState] = {}
    for product in acc.products.values():
        for sku in product["skuList"]:
            code = sku.get("sellerItemCode")
            if not code:
                continue
            stock = acc.stocks.get(sku.get("barcode"))
            out[code] = OfferState(
                offer_id=code,
                title=product.get("title"),
                title_uz=None,
                price=_decimal(sku.get("price")),
                stock=int(stock) if stock is not None else None,
            )
    return out
