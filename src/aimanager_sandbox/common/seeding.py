"""Seed OUR catalog into a marketplace sandbox account: live cards and a sales history over our offers.

The sandboxes open every account with synthetic products (``SEED-001``, ``UZ-0001``, ``YM-000``) and a
history over them. The end-to-end demo and its tests need the opposite: our SKUs as the account's
catalogue (so price and stock writes for them succeed, Uzum above all, where products exist only
through the cabinet) and orders/sales/finance lines over *our* offer ids, ending today (UTC), so
analytics over the last 30 days has something to read. ``seed_catalog`` does that in place, in each
sandbox's own wire format, and returns the connector settings that go with the seeded account::

    settings = seed_catalog(Marketplace.UZUM, app, token, offers, existing_cards=True, shop_id=4242)
    conn = make_connector(Marketplace.UZUM, {"token": token}, {"time_scale": 0.01, **settings}, base_url=url)

Connector settings returned (merge them into the connector's settings):

* WB ``{"warehouse_id": "1001"}`` — where the seeded FBS stock lies (the first seller warehouse);
* Ozon ``{"warehouse_id": "22001"}`` — the same; ``token`` is the account's **Client-Id** (digits);
* YM ``{"business_id", "campaign_id", "currency": "UZS"}`` — both ids are required by the connector;
* Uzum ``{"shop_id"}`` — required by the connector.

Fixed ids may be asked for with ``shop_id=`` (Uzum), ``business_id=``/``campaign_id=`` (YM); without
them the account keeps the ids it was opened with (deterministic per seed and token, or set through
``SandboxConfig.extra`` as each sandbox documents).

What seeding replaces: the account's synthetic catalogue (cards, prices, stocks) and its whole
order/sales/finance history; requests, limits and async tasks already started are left alone.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from fastapi import FastAPI

from aimanager.domain.categories import category_for
from aimanager.domain.enums import Marketplace
from aimanager_sandbox.marketplaces.common import HistoryRow, Sandbox, seeded_history


@dataclass(frozen=True)
class SeedOffer:
    """One of our offers as the sandbox should know it."""

    offer_id: (
        str  # the seller's article (our SKU): WB vendorCode, Ozon offer_id, YM offerId, Uzum sellerItemCode
    )
    title: str
    category: str  # our category name (see aimanager.domain.categories)
    price: Decimal  # UZS
    barcode: str | None = None
    stock: int = 0


# Per our category: (Uzum commission %, YM commission %, logistics per unit in UZS). WB and Ozon
# commissions come from their sandboxes' own tariff tables (SUBJECTS, CATEGORIES).
FEES: dict[str, tuple[int, int, int]] = {
    "Электрочайники": (12, 10, 12_000),
    "Кружки": (10, 12, 7_000),
    "Футболки": (8, 15, 6_000),
    "Шампуни": (10, 12, 6_500),
    "Смартфоны": (5, 6, 9_000),
    "Рюкзаки": (15, 14, 10_000),
    "Сковороды": (12, 10, 11_000),
    "Конструкторы": (15, 13, 9_000),
}
DEFAULT_FEES = (12, 12, 8_000)
_UZUM_CATEGORY_DEFAULT = "Прочее"


def seed_catalog(
    marketplace: Marketplace | str,
    app: FastAPI,
    token: str,
    offers: Sequence[SeedOffer],
    *,
    existing_cards: bool,
    history_days: int = 60,
    orders_per_day: int = 20,
    seed: int = 7,
    today: date | None = None,
    shop_id: int | None = None,
    business_id: int | None = None,
    campaign_id: int | None = None,
) -> dict[str, Any]:
    """Make ``offers`` part of the seller account ``token`` in that sandbox and give it their history.

    ``existing_cards=True`` (always so for Uzum, where products are created in the cabinet from our
    XLSX export): the products exist as live cards with marketplace ids (WB nmID/chrtID, Ozon
    product_id/sku, YM offer mapping with status ``HAS_CARD_CAN_UPDATE``, Uzum productId/skuId +
    barcode), their price and ``stock`` at the first warehouse, so price and stock updates succeed and
    a card push is an *update*. ``existing_cards=False``: the catalogue is left empty for the
    connector's card push to create.

    Either way the account's order/sales/finance history is replaced by a deterministic one over
    ``offers`` (``orders_per_day`` ± 2 lines a day for ``history_days`` days ending ``today``, default
    today's UTC date; ~5 % returns), with per-category commission and logistics. Ozon analytics report
    a line only once its offer has a product (after the push when ``existing_cards=False``).

    ``token`` is the account key: WB/Uzum token, Ozon Client-Id, YM Api-Key. Unknown categories (not
    in ``aimanager.domain.categories``) raise ``ValueError`` for WB/Ozon/YM. Returns the connector
    settings for the account (see the module docstring).
    """
    mp = Marketplace(marketplace)
    if len({o.offer_id for o in offers}) != len(offers):
        raise ValueError("offer ids must be unique")
    sb: Sandbox = app.state.sandbox
    acc = sb.account(token)
    rng = random.Random(f"{seed}:{mp.value}:{token}")
    end = today or datetime.now(UTC).date()
    history: list[HistoryRow] = []
    if offers and history_days > 0:
        history = seeded_history(
            rng,
            [(o.offer_id, o.price) for o in offers],
            end=end,
            days=history_days,
            per_day=orders_per_day,
        )
    seeder = {
        Marketplace.WILDBERRIES: _seed_wb,
        Marketplace.OZON: _seed_ozon,
        Marketplace.YANDEX: _seed_ym,
        Marketplace.UZUM: _seed_uzum,
    }[mp]
    ids = {"shop_id": shop_id, "business_id": business_id, "campaign_id": campaign_id}
    with sb.lock:
        return seeder(acc, list(offers), existing_cards, history, {k: v for k, v in ids.items() if v})


def _ref(offer: SeedOffer, mp: Marketplace) -> Any:
    ref = category_for(offer.category, mp)
    if ref is None:
        raise ValueError(f"{offer.offer_id}: category {offer.category!r} has no {mp.value} mapping")
    return ref


def _fees(offer: SeedOffer) -> tuple[int, int, int]:
    return FEES.get(offer.category, DEFAULT_FEES)


def _with_fees(
    history: list[HistoryRow], commission: dict[str, Decimal], logistics: dict[str, Decimal]
) -> list[HistoryRow]:
    """History rows with each offer's commission % and per-unit logistics."""
    return [
        replace(h, commission_pct=commission[h.offer_id], logistics=logistics[h.offer_id]) for h in history
    ]


def _logistics(offers: list[SeedOffer]) -> dict[str, Decimal]:
    return {o.offer_id: Decimal(_fees(o)[2]) for o in offers}


def ean13(text: str) -> str:
    """A deterministic valid EAN-13 (prefix 478, Uzbekistan) for an offer that has no barcode."""
    digits = str(int(hashlib.sha256(text.encode()).hexdigest(), 16))[:9]
    body = "478" + digits
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def _stamp(days_ago: int) -> str:
    return (datetime.now(UTC) - timedelta(days=days_ago)).isoformat()


# --- Wildberries ------------------------------------------------------------------------------------
def _seed_wb(
    acc: Any, offers: list[SeedOffer], existing: bool, history: list[HistoryRow], ids: dict[str, int]
) -> dict[str, Any]:
    from aimanager_sandbox.marketplaces.wildberries.state import SUBJECTS, WAREHOUSES, new_card

    warehouse = WAREHOUSES[0]["id"]
    subjects = {o.offer_id: int(_ref(o, Marketplace.WILDBERRIES).category_id) for o in offers}
    unknown = sorted({s for s in subjects.values() if s not in SUBJECTS})
    if unknown:
        raise ValueError(f"WB sandbox has no subject(s) {unknown}")
    acc.cards.clear()
    acc.prices.clear()
    acc.stocks.clear()
    if existing:
        for o in offers:
            sizes = [{"techSize": "0", "skus": [o.barcode] if o.barcode else []}]
            card = new_card(
                acc, subjects[o.offer_id], {"vendorCode": o.offer_id, "title": o.title[:60], "sizes": sizes}
            )
            card["createdAt"] = card["updatedAt"] = _stamp(days_ago=30)
            acc.cards[o.offer_id] = card
            acc.prices[card["nmID"]] = (int(o.price), 0)
            acc.stocks[(warehouse, card["sizes"][0]["chrtID"])] = o.stock
    commission = {o: Decimal(SUBJECTS[s][1]) for o, s in subjects.items()}
    acc.history = _with_fees(history, commission, _logistics(offers))
    return {"warehouse_id": str(warehouse)}


# --- Ozon -------------------------------------------------------------------------------------------
def _seed_ozon(
    acc: Any, offers: list[SeedOffer], existing: bool, history: list[HistoryRow], ids: dict[str, int]
) -> dict[str, Any]:
    from aimanager_sandbox.marketplaces.ozon.state import CATEGORIES, WAREHOUSES

    warehouse = WAREHOUSES[0]["warehouse_id"]
    cats: dict[str, tuple[int, int]] = {}
    for o in offers:
        ref = _ref(o, Marketplace.OZON)
        cat, type_id = int(ref.category_id), int(ref.type_id or 0)
        if cat not in CATEGORIES or type_id not in CATEGORIES[cat][0]:
            raise ValueError(f"Ozon sandbox has no category {cat}/{type_id}")
        cats[o.offer_id] = (cat, type_id)
    acc.products.clear()
    acc.stocks.clear()
    acc.stock_sent.clear()
    acc.price_events.clear()
    if existing:
        for o in offers:
            pid = acc.new_id()
            acc.products[o.offer_id] = {
                "offer_id": o.offer_id,
                "product_id": pid,
                "sku": pid + 1_000_000,
                "name": o.title,
                "description_category_id": cats[o.offer_id][0],
                "type_id": cats[o.offer_id][1],
                "price": o.price,
                "old_price": Decimal(0),
                "min_price": Decimal(0),
                "currency_code": "UZS",
                "data": {},  # any import of this offer is an update ("imported", same product_id)
            }
            acc.stocks[(o.offer_id, warehouse)] = o.stock
    commission = {o: Decimal(CATEGORIES[c][1]) for o, (c, _) in cats.items()}
    acc.history = _with_fees(history, commission, _logistics(offers))
    return {"warehouse_id": str(warehouse)}


# --- Yandex Market ----------------------------------------------------------------------------------
def _seed_ym(
    acc: Any, offers: list[SeedOffer], existing: bool, history: list[HistoryRow], ids: dict[str, int]
) -> dict[str, Any]:
    acc.business_id = ids.get("business_id", acc.business_id)
    acc.campaign_id = ids.get("campaign_id", acc.campaign_id)
    categories = {o.offer_id: int(_ref(o, Marketplace.YANDEX).category_id) for o in offers}
    acc.offers.clear()
    acc.prices.clear()
    acc.stocks.clear()
    if existing:
        for o in offers:
            acc.offers[o.offer_id] = {
                "ru": {
                    "offerId": o.offer_id,
                    "name": o.title,
                    "marketCategoryId": categories[o.offer_id],
                    "description": o.title,
                    "vendor": "Sandbox",
                    "pictures": [f"https://img.example/{o.offer_id}/1.jpg"],
                    **({"barcodes": [o.barcode]} if o.barcode else {}),
                },
                "uz": {},
                "created": True,
                "ready_at": 0.0,
            }
            acc.prices[o.offer_id] = {"value": int(o.price), "currencyId": "UZS", "discountBase": None}
            acc.stocks[o.offer_id] = {"count": o.stock, "updatedAt": _stamp(days_ago=1)}
    by_id = {o.offer_id: o for o in offers}
    acc.orders = []
    for h in history:
        pct = Decimal(_fees(by_id[h.offer_id])[1])
        created = datetime.combine(h.day, time(9 + h.seq % 12), tzinfo=UTC)
        acc.orders.append(
            {
                "orderId": 70_000_000 + h.seq,
                "campaignId": acc.campaign_id,
                "programType": "FBS",
                "status": "RETURNED" if h.returned else "DELIVERED",
                "substatus": "DELIVERY_SERVICE_DELIVERED",
                "creationDate": created.isoformat(),
                "paymentType": "PREPAID",
                "paymentMethod": "YANDEX",
                "fake": False,
                "delivery": {"type": "DELIVERY"},
                "items": [
                    {
                        "id": h.seq,
                        "offerId": h.offer_id,
                        "offerName": by_id[h.offer_id].title,
                        "count": h.quantity,
                        "prices": {"payment": {"value": int(h.unit_price), "currencyId": "UZS"}},
                    }
                ],
                # Kept out of the orders answer; the united-* reports carry them.
                "_fee": int(h.unit_price * h.quantity * pct / 100),
                "_delivery": _fees(by_id[h.offer_id])[2] * h.quantity,
            }
        )
    return {"business_id": acc.business_id, "campaign_id": acc.campaign_id, "currency": "UZS"}


# --- Uzum -------------------------------------------------------------------------------------------
def _seed_uzum(
    acc: Any, offers: list[SeedOffer], existing: bool, history: list[HistoryRow], ids: dict[str, int]
) -> dict[str, Any]:
    # Uzum has no card API: products always exist (created in the cabinet from our export).
    acc.shop_id = ids.get("shop_id", acc.shop_id)
    acc.products.clear()
    acc.stocks.clear()
    acc.finance = []
    index: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
    by_id = {o.offer_id: o for o in offers}
    for i, o in enumerate(offers):
        ref = category_for(o.category, Marketplace.UZUM)
        commission = _fees(o)[0]
        barcode = o.barcode or ean13(o.offer_id)
        sku: dict[str, Any] = {
            "skuId": 700_001 + i,
            "skuTitle": o.title,
            "skuFullTitle": o.title,
            "barcode": barcode,
            "article": o.offer_id,
            "sellerItemCode": o.offer_id,
            "ikpu": "1234567890123456",
            "price": int(o.price),
            "fullPrice": int(o.price),
            "commission": commission,
            "quantityActive": o.stock,
            "quantityFbs": o.stock,
        }
        product: dict[str, Any] = {
            "productId": 200_001 + i,
            "title": o.title,
            "category": ref.category_id if ref else _UZUM_CATEGORY_DEFAULT,
            "status": {"value": "IN_STOCK" if o.stock else "OUT_OF_STOCK"},
            "moderationStatus": {"value": "MODERATED"},
            "commission": commission,
            "skuList": [sku],
        }
        acc.products[product["productId"]] = product
        acc.stocks[barcode] = o.stock
        index[o.offer_id] = (product, sku)
    for h in history:
        product, sku = index[h.offer_id]
        price = int(h.unit_price)
        commission = int(price * h.quantity * sku["commission"] / 100)
        delivery = _fees(by_id[h.offer_id])[2] * h.quantity
        acc.finance.append(
            {
                "id": 9_000_000 + h.seq,
                "status": "CANCELED" if h.returned else "TO_WITHDRAW",
                "date": int(datetime.combine(h.day, time(10 + h.seq % 10), tzinfo=UTC).timestamp() * 1000),
                "orderId": 5_000_000 + h.seq,
                "productId": product["productId"],
                "productTitle": product["title"],
                "skuTitle": sku["skuTitle"],
                "shopId": acc.shop_id,
                "sellPrice": price,
                "amount": h.quantity,
                "amountReturns": h.quantity if h.returned else 0,
                "commission": commission,
                "sellerProfit": price * h.quantity - commission - delivery,
                "purchasePrice": None,
                "logisticDeliveryFee": delivery,
                "withdrawnProfit": 0,
                "cancelled": h.quantity if h.returned else 0,
                "returnCause": None,
                "dateIssued": None,
            }
        )
    return {"shop_id": acc.shop_id}
