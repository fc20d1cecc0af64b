"""``snapshot``: what a sandbox account holds per offer after the real connector wrote to it.

Per marketplace: 5 of our offers seeded as live cards, new prices (one with an ``old_price``, so WB
stores a discount) and stocks pushed through the connector, and the snapshot gives back exactly the
pushed selling prices, stocks and the card titles. YM also gets a card push with an Uzbek title.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from aimanager.connectors.base import CardPush, PriceUpdate, StockUpdate
from aimanager.connectors.registry import make_connector, parse_account
from aimanager.domain.categories import category_for, known_categories
from aimanager.domain.enums import Marketplace
from aimanager_sandbox.common.seeding import SeedOffer, seed_catalog
from aimanager_sandbox.common.snapshot import OfferState, snapshot
from tests.sandbox.accounts import account, sample_offers
from tests.sandbox.conftest import SCALE

CATEGORIES = known_categories()


def offers() -> list[SeedOffer]:
    return sample_offers("INS", 5, "47800000000")


def price_updates(seeded: list[SeedOffer]) -> list[PriceUpdate]:
    updates = [PriceUpdate(offer_id=o.offer_id, price=o.price + 5_000) for o in seeded]
    # A discounted one: WB stores (100000, 15 %), the others the price itself as old/full price.
    updates[0] = PriceUpdate(offer_id=seeded[0].offer_id, price=Decimal(85_000), old_price=Decimal(100_000))
    return updates


def uz_cards(seeded: list[SeedOffer]) -> list[CardPush]:
    cards = []
    for o in seeded:
        ref = category_for(o.category, Marketplace.YANDEX)
        assert ref is not None
        cards.append(
            CardPush(
                offer_id=o.offer_id,
                category_id=ref.category_id,
                title=o.title,
                description=f"{o.title}. Надёжный товар.",
                title_uz=f"{o.offer_id} mahsulot",
                description_uz="Sifatli mahsulot.",
                brand="Sandbox",
                barcode=o.barcode,
                images=[f"https://img.example/{o.offer_id}/1.jpg"],
            )
        )
    return cards


async def drive(mp: Marketplace, app: Any, url: str, tmp: Path) -> None:
    key, credentials = account(mp)
    seeded = offers()
    assert snapshot(mp, app, key) == {}  # an account nobody opened yet
    extra = seed_catalog(mp, app, key, seeded, existing_cards=True, history_days=0)

    before = snapshot(mp, app, key)
    assert before == {o.offer_id: OfferState(o.offer_id, o.title, None, o.price, o.stock) for o in seeded}

    settings = {"time_scale": SCALE, "poll_interval": 1.0, "timeout": 5.0, **extra}
    if mp is Marketplace.UZUM:
        settings["export_dir"] = str(tmp)
    conn = make_connector(parse_account(mp, credentials, settings), base_url=url)
    prices = price_updates(seeded)
    stocks = {o.offer_id: 40 + i for i, o in enumerate(seeded)}
    try:
        if mp is Marketplace.YANDEX:
            pushed = await conn.push_cards(uz_cards(seeded), wait=True)
            assert pushed.failed == [], pushed.failed
        priced = await conn.update_prices(prices, wait=True)
        assert priced.failed == [], priced.failed
        stocked = await conn.update_stocks([StockUpdate(offer_id=o, quantity=q) for o, q in stocks.items()])
        assert stocked.failed == [], stocked.failed
    finally:
        await conn.aclose()

    after = snapshot(mp, app, key)
    assert set(after) == {o.offer_id for o in seeded}
    assert {o: s.price for o, s in after.items()} == {p.offer_id: p.price for p in prices}
    assert {o: s.stock for o, s in after.items()} == stocks
    assert {o: s.title for o, s in after.items()} == {o.offer_id: o.title for o in seeded}
    expected_uz = {o.offer_id: f"{o.offer_id} mahsulot" if mp is Marketplace.YANDEX else None for o in seeded}
    assert {o: s.title_uz for o, s in after.items()} == expected_uz
    assert all(isinstance(s.price, Decimal) for s in after.values())


@pytest.mark.parametrize("mp", list(Marketplace), ids=lambda mp: mp.value)
def test_snapshot_after_connector_writes(
    servers: dict[Marketplace, tuple[Any, str]], mp: Marketplace, tmp_path: Path
) -> None:
    app, url = servers[mp]
    asyncio.run(drive(mp, app, url, tmp_path))


def test_wb_price_is_after_discount(servers: dict[Marketplace, tuple[Any, str]]) -> None:
    """WB keeps (price, discount %) per nmID; the snapshot reports price × (100 − discount) / 100, and
    stock summed over warehouses."""
    app, _ = servers[Marketplace.WILDBERRIES]
    key, _ = account(Marketplace.WILDBERRIES)
    seed_catalog(Marketplace.WILDBERRIES, app, key, offers()[:1], existing_cards=True, history_days=0)
    sb = app.state.sandbox
    acc = sb.account(key)
    card = acc.cards["INS-0"]
    with sb.lock:
        acc.prices[card["nmID"]] = (99_999, 33)
        acc.stocks[(1002, card["sizes"][0]["chrtID"])] = 4
    state = snapshot(Marketplace.WILDBERRIES, app, key)["INS-0"]
    assert state.price == Decimal("66999.33")
    assert state.stock == 3 + 4
