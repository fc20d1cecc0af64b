"""Our catalog seeded into each marketplace sandbox and driven through the real connectors.

For every marketplace: 30 sample-catalog offers are seeded (as live cards or not), the connector pushes
their cards (WB/Ozon/YM through the API, Uzum as the XLSX export), updates prices and stocks for all 30
with no failed item, reads the stocks back equal, and reads orders for the last 30 days: lines for our
offer ids only, with money.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from aimanager.connectors.base import CardPush, PriceUpdate, StockUpdate
from aimanager.connectors.registry import make_connector, parse_account
from aimanager.domain.categories import category_for, known_categories
from aimanager.domain.enums import Marketplace
from aimanager_lab.sample_catalog import PREFIX, generate_catalog
from aimanager_sandbox.common.seeding import SeedOffer, seed_catalog
from aimanager_sandbox.ozon.state import import_errors
from aimanager_sandbox.wildberries.state import SUBJECTS
from tests.sandbox.accounts import account
from tests.sandbox.conftest import SCALE

ROWS = generate_catalog(partners=1, skus=30, seed=11)
OFFER_IDS = {r["sku"] for r in ROWS}


def offers(mp: Marketplace) -> list[SeedOffer]:
    return [
        SeedOffer(
            offer_id=r["sku"],
            title=r["name"],
            category=r["category"],
            price=Decimal(r[f"{PREFIX[mp]}_price"]),
            barcode=r["barcode"],
            stock=int(r["stock"]),
        )
        for r in ROWS
    ]


def card(mp: Marketplace, row: dict[str, str]) -> CardPush:
    ref = category_for(row["category"], mp)
    assert ref is not None
    attrs = dict(a.split("=", 1) for a in row["attributes"].split("; "))
    return CardPush(
        offer_id=row["sku"],
        category_id=ref.category_id,
        type_id=ref.type_id,
        title=row["name"][:60],
        description=f"{row['name']}. Надёжный товар для дома.",
        title_uz=f"{row['name'][:60]} (uz)",
        description_uz="Sifatli mahsulot.",
        brand=row["brand"],
        barcode=row["barcode"],
        price=Decimal(row[f"{PREFIX[mp]}_price"]),
        images=row["images"].split("; "),
        length_mm=int(attrs["Длина, мм"]),
        width_mm=int(attrs["Ширина, мм"]),
        height_mm=int(attrs["Высота, мм"]),
        weight_g=int(attrs["Вес, г"]),
        attributes={"Цвет": attrs["Цвет"]},
        extra={"ikpu": attrs["ИКПУ"][:16], "country": attrs["Страна производства"]},
    )


def new_price(price: Decimal) -> Decimal:
    return (price * Decimal("1.05") / 100).quantize(Decimal(1)) * 100


async def drive(mp: Marketplace, app: Any, url: str, *, existing: bool, tmp: Path) -> None:
    key, credentials = account(mp)
    seeded = offers(mp)
    ids: dict[str, Any] = {"shop_id": 4242} if mp is Marketplace.UZUM else {}
    if mp is Marketplace.YANDEX:
        ids = {"business_id": 111, "campaign_id": 222}
    extra = seed_catalog(mp, app, key, seeded, existing_cards=existing, **ids)
    for name, value in ids.items():
        assert extra[name] == value
    settings = {"time_scale": SCALE, "poll_interval": 1.0, "timeout": 5.0, **extra}
    if mp is Marketplace.UZUM:
        settings["export_dir"] = str(tmp)
    conn = make_connector(parse_account(mp, credentials, settings), base_url=url)
    sb = app.state.sandbox
    before = _ids(mp, app, key)
    try:
        pushed = await conn.push_cards([card(mp, r) for r in ROWS], wait=True)
        assert pushed.failed == [], pushed.failed[:3]
        assert set(pushed.accepted) == OFFER_IDS
        if mp is Marketplace.UZUM:
            assert pushed.export_path is not None and pushed.export_path.exists()
        if existing:  # an update of the live card: same marketplace ids, no new card
            assert _ids(mp, app, key) == before
        if mp is Marketplace.WILDBERRIES:
            updated = sb.count(account=key, path="/content/v2/cards/update")
            uploaded = sb.count(account=key, path="/content/v2/cards/upload")
            assert (updated, uploaded) == ((1, 0) if existing else (0, 1))
        if mp is Marketplace.YANDEX:
            offers_now = sb.account(key).offers
            for r in ROWS:
                assert offers_now[r["sku"]]["created"]
                assert offers_now[r["sku"]]["ru"]["name"] == r["name"][:60]

        prices = [PriceUpdate(offer_id=o.offer_id, price=new_price(o.price)) for o in seeded]
        priced = await conn.update_prices(prices, wait=True)
        assert priced.failed == [], priced.failed[:3]
        assert set(priced.accepted) == OFFER_IDS

        stocks = {o.offer_id: 5 + i for i, o in enumerate(seeded)}
        stocked = await conn.update_stocks([StockUpdate(offer_id=o, quantity=q) for o, q in stocks.items()])
        assert stocked.failed == [], stocked.failed[:3]
        levels = await conn.read_stocks(sorted(OFFER_IDS))
        assert {lv.offer_id: lv.quantity for lv in levels} == stocks

        today = datetime.now(UTC).date()
        lines = await conn.read_orders(today - timedelta(days=29), today)
        assert lines, "no sales over the last 30 days"
        assert {line.offer_id for line in lines} <= OFFER_IDS
        assert len({line.offer_id for line in lines}) >= 20  # 30 days × ~20 lines spread over 30 offers
        assert all(line.revenue > 0 for line in lines)
        if mp is Marketplace.YANDEX:  # YM orders carry no fees; the united-* reports do
            report = await conn.read_report("united-orders", today - timedelta(days=29), today)  # type: ignore[attr-defined]
            assert {row["offerId"] for row in report["rows"]} <= OFFER_IDS
            assert sum(row["marketplaceFee"] for row in report["rows"]) > 0
            assert sum(row["delivery"] for row in report["rows"]) > 0
        else:
            assert sum(line.commission for line in lines) > 0
            assert sum(line.logistics for line in lines) > 0
    finally:
        await conn.aclose()
    _check_state(mp, app, key, seeded, existing)


def _ids(mp: Marketplace, app: Any, key: str) -> dict[str, Any]:
    """The marketplace's own ids of each offer in the account."""
    acc = app.state.sandbox.account(key)
    if mp is Marketplace.WILDBERRIES:
        return {o: (c["nmID"], c["sizes"][0]["chrtID"]) for o, c in acc.cards.items()}
    if mp is Marketplace.OZON:
        return {o: (p["product_id"], p["sku"]) for o, p in acc.products.items()}
    if mp is Marketplace.YANDEX:
        return {o: c["created"] for o, c in acc.offers.items()}
    return {
        s["sellerItemCode"]: (p["productId"], s["skuId"]) for p in acc.products.values() for s in p["skuList"]
    }


def _check_state(mp: Marketplace, app: Any, key: str, seeded: list[SeedOffer], existing: bool) -> None:
    acc = app.state.sandbox.account(key)
    if mp is Marketplace.WILDBERRIES:
        assert set(acc.cards) == OFFER_IDS
        assert all(acc.price_of(o.offer_id) == (int(new_price(o.price)), 0) for o in seeded)
    elif mp is Marketplace.OZON:
        assert set(acc.products) == OFFER_IDS
        assert all(acc.products[o.offer_id]["price"] == new_price(o.price) for o in seeded)
    elif mp is Marketplace.YANDEX:
        assert set(acc.offers) == OFFER_IDS
        assert all(acc.prices[o.offer_id]["value"] == new_price(o.price) for o in seeded)
    else:
        prices = {s["sellerItemCode"]: s["price"] for p in acc.products.values() for s in p["skuList"]}
        assert prices == {o.offer_id: int(new_price(o.price)) for o in seeded}


@pytest.mark.parametrize("existing", [True, False], ids=["existing", "new"])
@pytest.mark.parametrize("mp", [Marketplace.WILDBERRIES, Marketplace.OZON, Marketplace.YANDEX])
def test_card_api_marketplaces(
    servers: dict[Marketplace, tuple[Any, str]], mp: Marketplace, existing: bool, tmp_path: Path
) -> None:
    app, url = servers[mp]
    asyncio.run(drive(mp, app, url, existing=existing, tmp=tmp_path))


def test_uzum(servers: dict[Marketplace, tuple[Any, str]], tmp_path: Path) -> None:
    app, url = servers[Marketplace.UZUM]
    asyncio.run(drive(Marketplace.UZUM, app, url, existing=True, tmp=tmp_path))


def test_seeded_cards_without_history(servers: dict[Marketplace, tuple[Any, str]]) -> None:
    """``history_days=0``: live cards with distinct ids, the synthetic catalogue and history gone."""
    for mp in (Marketplace.WILDBERRIES, Marketplace.OZON):
        app, _ = servers[mp]
        key, _ = account(mp)
        seed_catalog(mp, app, key, offers(mp), existing_cards=True, history_days=0)
        ids = _ids(mp, app, key)
        assert set(ids) == OFFER_IDS and len(set(ids.values())) == 30
        assert app.state.sandbox.account(key).history == []


def test_seeding_is_deterministic_and_ends_today(servers: dict[Marketplace, tuple[Any, str]]) -> None:
    app, _ = servers[Marketplace.WILDBERRIES]
    first, second = account(Marketplace.WILDBERRIES)[0], account(Marketplace.WILDBERRIES)[0]
    for key in (first, second):
        seed_catalog(Marketplace.WILDBERRIES, app, key, offers(Marketplace.WILDBERRIES), existing_cards=False)
    sb = app.state.sandbox
    a, b = sb.account(first).history, sb.account(second).history
    assert a and max(h.day for h in a) == datetime.now(UTC).date()
    assert min(h.day for h in a) == datetime.now(UTC).date() - timedelta(days=59)
    assert {h.offer_id for h in a} <= OFFER_IDS
    # Same seed, different token: different (but each deterministic) histories.
    seed_catalog(Marketplace.WILDBERRIES, app, first, offers(Marketplace.WILDBERRIES), existing_cards=False)
    assert sb.account(first).history == a
    assert a != b


def test_every_mapped_category_is_accepted() -> None:
    """Every WB subject and Ozon (category, type) in aimanager.domain.categories is a valid card."""
    for name in known_categories():
        wb = category_for(name, Marketplace.WILDBERRIES)
        ozon = category_for(name, Marketplace.OZON)
        assert wb is not None and int(wb.category_id) in SUBJECTS, name
        assert ozon is not None and ozon.type_id is not None
        item = {
            "offer_id": "X-1",
            "name": name,
            "description_category_id": int(ozon.category_id),
            "type_id": int(ozon.type_id),
            "price": "1000",
            **{d: 10 for d in ("depth", "width", "height", "weight")},
        }
        assert import_errors(item) == [], name
        assert category_for(name, Marketplace.YANDEX) is not None


def test_unknown_category_is_refused(servers: dict[Marketplace, tuple[Any, str]]) -> None:
    app, _ = servers[Marketplace.WILDBERRIES]
    bad = [SeedOffer("Z-1", "Нечто", "Неизвестное", Decimal(1000))]
    with pytest.raises(ValueError, match="Неизвестное"):
        seed_catalog(Marketplace.WILDBERRIES, app, "tok-bad", bad, existing_cards=True)
