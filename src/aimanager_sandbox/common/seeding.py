"""Seed OUR catalog into a marketplace sandbox account: live cards and a sales history over our offers.

The sandboxes open every account with synthetic products (``SEED-001``, ``UZ-0001``, ``YM-000``) and a
history over them. The end-to-end demo and its tests need the opposite: our SKUs as the account's
catalogue (so price and stock writes for them succeed, Uzum above all, where products exist only
through the cabinet) and orders/sales/finance lines over *our* offer ids, ending today (UTC), so
analytics over the last 30 days has something to read. ``seed_catalog`` does that in place, in each
sandbox's own wire format, and returns the connector settings that go with the seeded account::

    settings = seed_catalog(Marketplace.UZUM, app, token, offers, existing_cards=True, shop_id=4242)
    account = parse_account(Marketplace.UZUM, {"token": token}, {"time_scale": 0.01, **settings})
    conn = make_connector(account, base_url=url)

Connector settings returned (merge them into the connector's settings):

* WB ``{"warehouse_id": "1001"}`` — where the seeded FBS stock lies (the first seller warehouse);
* Ozon ``{"warehouse_id": "22001", "currency_code": …}`` — the same, and the cabinet currency the
  operator states (``currency=``, default UZS: unconfirmed for Ozon, see ``ozon.seed``); ``token`` is
  the account's **Client-Id** (digits);
* YM ``{"business_id", "campaign_id", "currency": "UZS"}`` — both ids are required by the connector;
* Uzum ``{"shop_id"}`` — required by the connector.

Fixed ids may be asked for with ``shop_id=`` (Uzum), ``business_id=``/``campaign_id=`` (YM); without
them the account keeps the ids it was opened with (deterministic per seed and token, or set through
``SandboxConfig.extra`` as each sandbox documents).

What seeding replaces: the account's synthetic catalogue (cards, prices, stocks) and its whole
order/sales/finance history; requests, limits and async tasks already started are left alone.

This module holds what every marketplace shares (the offer, the fee table, the history); each
marketplace's ``seed.py`` writes the account in its own format (``seed_account``), and its
``create_app`` hands that function to ``control.install_control``, which puts it on ``app.state``.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from fastapi import FastAPI

from aimanager.domain.categories import category_for
from aimanager.domain.enums import Marketplace
from aimanager_sandbox.common.history import HistoryRow, seeded_history
from aimanager_sandbox.common.sandbox import Sandbox


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

AccountSeeder = Callable[[Any, list[SeedOffer], bool, list[HistoryRow], dict[str, Any]], dict[str, Any]]
"""A marketplace's ``seed_account(acc, offers, existing_cards, history, ids)``: called under the
sandbox lock; returns the connector settings for the account."""


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
    currency: str | None = None,
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
    if mp != app.state.marketplace:
        raise ValueError(f"this is the {app.state.marketplace.value} sandbox, not {mp.value}")
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
    seeder: AccountSeeder = app.state.seed_account
    ids: dict[str, Any] = {
        "shop_id": shop_id,
        "business_id": business_id,
        "campaign_id": campaign_id,
        "currency": currency,
    }
    with sb.lock:
        return seeder(acc, list(offers), existing_cards, history, {k: v for k, v in ids.items() if v})


def category_ref(offer: SeedOffer, mp: Marketplace) -> Any:
    ref = category_for(offer.category, mp)
    if ref is None:
        raise ValueError(f"{offer.offer_id}: category {offer.category!r} has no {mp.value} mapping")
    return ref


def fees_of(offer: SeedOffer) -> tuple[int, int, int]:
    return FEES.get(offer.category, DEFAULT_FEES)


def with_fees(
    history: list[HistoryRow], commission: dict[str, Decimal], logistics: dict[str, Decimal]
) -> list[HistoryRow]:
    """History rows with each offer's commission % and per-unit logistics."""
    return [
        replace(h, commission_pct=commission[h.offer_id], logistics=logistics[h.offer_id]) for h in history
    ]


def logistics_of(offers: list[SeedOffer]) -> dict[str, Decimal]:
    return {o.offer_id: Decimal(fees_of(o)[2]) for o in offers}


def ean13(text: str) -> str:
    """A deterministic valid EAN-13 (prefix 478, Uzbekistan) for an offer that has no barcode."""
    digits = str(int(hashlib.sha256(text.encode()).hexdigest(), 16))[:9]
    body = "478" + digits
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def stamp(days_ago: int) -> str:
    return (datetime.now(UTC) - timedelta(days=days_ago)).isoformat()
