"""Uzum Market connector against its sandbox over loopback HTTP (no mocks), and the XLSX card export."""

from __future__ import annotations

import io
import logging
import zipfile
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from aimanager.connectors.base import CardChannel, CardPush, PriceUpdate, SaleKind, StockUpdate
from aimanager.connectors.errors import AuthError
from aimanager.connectors.registry import make_connector, parse_account
from aimanager.connectors.uzum.connector import UzumConnector
from aimanager.connectors.uzum.money import NonIntegerPrice, PriceRounding, to_uzs
from aimanager.domain.enums import Marketplace
from aimanager_sandbox.common.sandbox import FaultConfig, SandboxConfig
from aimanager_sandbox.common.serving import BackgroundServer
from aimanager_sandbox.uzum import create_app
from aimanager_sandbox.uzum.state import UzumShop

TOKEN = "uzum-secret-token-51e0b2"
NO_READ = "uzum-token-without-sku-read"
SHOP = 4242
SCALE = 0.002


@pytest.fixture
def sandbox() -> Iterator[tuple[Any, str]]:
    config = SandboxConfig(
        time_scale=SCALE,
        extra={"shops": {TOKEN: SHOP, NO_READ: SHOP}, "no_sku_read": {NO_READ}},
        faults=FaultConfig(hang_seconds=0.6),
    )
    app = create_app(config)
    with BackgroundServer(app) as server:
        yield app, server.base_url


def connector(base_url: str, token: str = TOKEN, **settings: Any) -> UzumConnector:
    account = parse_account(
        Marketplace.UZUM,
        {"token": token},
        # Generous by default (a spurious timeout on a loaded machine would resend and skew the
        # request counts); the fault test sets a short one for its injected hang.
        {"shop_id": SHOP, "time_scale": SCALE, "timeout": 5.0, **settings},
    )
    conn = make_connector(account, base_url=base_url)
    assert isinstance(conn, UzumConnector)
    return conn


def shop(app: Any) -> UzumShop:
    found: UzumShop = app.state.sandbox.account(TOKEN)
    return found


def card(i: int, category: str = "Чайники", **fields: Any) -> CardPush:
    values: dict[str, Any] = {
        "offer_id": f"UZ-{i:04d}",
        "category_id": category,
        "title": f"Чайник электрический Tefal KO{i} 1,7 л",
        "description": f"Чайник {i} быстро кипятит воду. Корпус из стали. Автоотключение.",
        "title_uz": f"Tefal KO{i} elektr choynagi 1,7 l",
        "description_uz": f"Choynak {i} suvni tez qaynatadi. Po'lat korpus.",
        "brand": "Tefal",
        "price": Decimal(250000),
        "old_price": Decimal(300000),
        "images": [f"https://img.example/{i}.jpg"],
        "weight_g": 1200,
        "length_mm": 220,
        "width_mm": 160,
        "height_mm": 250,
        "attributes": {"Цвет": "белый", "Материал": "сталь"},
        "extra": {"ikpu": "1234567890123456"},
    }
    values.update(fields)
    return CardPush(**values)


def read_rows(content: bytes) -> list[dict[str, Any]]:
    book = openpyxl.load_workbook(io.BytesIO(content))
    keys = [row[0] for row in book["Колонки"].iter_rows(min_row=2, values_only=True)]
    return [
        dict(zip(keys, row, strict=False)) for row in book["Товары"].iter_rows(min_row=2, values_only=True)
    ]


async def test_card_export_holds_ru_and_uz(sandbox: tuple[Any, str], tmp_path: Path) -> None:
    app, url = sandbox
    conn = connector(url, export_dir=str(tmp_path))
    cards = [card(i) for i in range(40)]
    cards[3] = card(3, extra={})  # no IKPU: left out, reported
    cards[4] = card(4, price=Decimal("249999.50"))  # non-integer UZS: left out, reported
    try:
        assert conn.capabilities.cards is CardChannel.EXPORT
        report = await conn.push_cards(cards)
        mixed = await conn.push_cards([card(100), card(101, category="Утюги")])
    finally:
        await conn.aclose()
    assert report.requests == 0 and app.state.sandbox.count() == 0  # an export, not an API call
    assert {e.offer_id: e.code for e in report.failed} == {
        "UZ-0003": "EXPORT_IKPU",
        "UZ-0004": "EXPORT_SELL_PRICE",
    }
    assert report.export_path is not None and report.export_path.suffix == ".xlsx"
    rows = read_rows(report.export_path.read_bytes())
    by_sku = {r["seller_item_code"]: r for r in rows}
    assert len(rows) == 38 == len(report.accepted)
    for c in cards:
        if c.offer_id in {"UZ-0003", "UZ-0004"}:
            continue
        row = by_sku[c.offer_id]
        assert (row["name_ru"], row["name_uz"]) == (c.title, c.title_uz)
        assert (row["description_ru"], row["description_uz"]) == (c.description, c.description_uz)
        assert row["short_ru"] and row["short_uz"] and row["ikpu"] == "1234567890123456"
        assert (row["sell_price"], row["full_price"]) == (250000, 300000)
        assert row["filter:Материал"] == "сталь" and row["colour"] == "белый"
    assert mixed.export_path is not None and mixed.export_path.suffix == ".zip"
    with zipfile.ZipFile(mixed.export_path) as archive:
        names = sorted(archive.namelist())
        assert len(names) == 2  # the cabinet takes one category per file
        skus = sorted(r["seller_item_code"] for n in names for r in read_rows(archive.read(n)))
    assert skus == ["UZ-0100", "UZ-0101"]


def test_integer_uzs_policy() -> None:
    assert to_uzs(Decimal("1000.00")) == 1000
    with pytest.raises(NonIntegerPrice):
        to_uzs(Decimal("999.5"))
    assert to_uzs(Decimal("999.5"), rounding=PriceRounding.ROUND) == 1000


async def test_prices_one_call_per_product_and_idempotent(sandbox: tuple[Any, str]) -> None:
    app, url = sandbox
    conn = connector(url)
    codes = [s["sellerItemCode"] for p in list(shop(app).products.values())[:30] for s in p["skuList"]]
    prices = [PriceUpdate(offer_id=c, price=Decimal(90000), old_price=Decimal(100000)) for c in codes]
    try:
        first = await conn.update_prices(prices)
        changes = shop(app).price_changes
        second = await conn.update_prices(prices)
        odd = await conn.update_prices(
            [
                PriceUpdate(offer_id=codes[0], price=Decimal("90000.4")),
                PriceUpdate(offer_id="NOPE", price=Decimal(1)),
            ]
        )
    finally:
        await conn.aclose()
    sb = app.state.sandbox
    assert len(codes) == 33  # every 10th product has two sizes: 30 products, 33 SKUs
    assert first.requests == second.requests == 30 and len(first.accepted) == 33
    assert changes == 33 and shop(app).price_changes == 33  # the resend changed nothing
    assert {e.code for e in odd.failed} == {"NON_INTEGER_UZS", "UNKNOWN_SKU"} and odd.requests == 0
    # Catalogue read once (150 products = 2 pages), and re-read once when the unknown code showed up.
    assert sb.count(path=f"/v1/product/shop/{SHOP}") == 4
    assert sb.rejections() == 0


async def test_stocks_split_at_100_and_read_pages(sandbox: tuple[Any, str]) -> None:
    app, url = sandbox
    conn = connector(url)
    codes = [s["sellerItemCode"] for p in shop(app).products.values() for s in p["skuList"]]
    try:
        report = await conn.update_stocks([StockUpdate(offer_id=c, quantity=n) for n, c in enumerate(codes)])
        levels = await conn.read_stocks()
        fees = await conn.read_fees(codes[:3])
    finally:
        await conn.aclose()
    sb = app.state.sandbox
    assert len(codes) == 165  # 150 products, every 10th with two sizes
    assert report.requests == 2 and len(report.accepted) == 165 and not report.failed  # 100 + 65
    assert sb.count(path="/v2/fbs/sku/stocks") == 2
    assert sb.count(path="/v3/fbs/sku/stocks") == 2  # pages of 100
    assert {lv.offer_id: lv.quantity for lv in levels} == {c: n for n, c in enumerate(codes)}
    assert all(f.commission_pct > 0 and f.currency == "UZS" for f in fees)
    assert sb.rejections() == 0


async def test_finance_orders_paginate(sandbox: tuple[Any, str]) -> None:
    app, url = sandbox
    conn = connector(url)
    try:
        records = await conn.read_orders(date(2026, 9, 2), date(2026, 10, 31))
    finally:
        await conn.aclose()
    seeded = shop(app).finance
    assert len(records) == len(seeded) > 300
    assert app.state.sandbox.count(path="/v1/finance/orders") >= 4
    assert all(r.offer_id.startswith("UZ-") and r.date.tzinfo is not None for r in records)
    assert any(r.kind is SaleKind.RETURN for r in records)
    assert sum(r.commission for r in records) == sum(Decimal(f["commission"]) for f in seeded)


async def test_faults_retried_and_access_denied(sandbox: tuple[Any, str]) -> None:
    app, url = sandbox
    faults = app.state.sandbox.config.faults
    conn = connector(url, timeout=0.3)  # the injected hang must time out quickly
    denied = connector(url, token=NO_READ)
    code = next(iter(shop(app).products.values()))["skuList"][0]["sellerItemCode"]
    try:
        faults.next_errors = 2
        a = await conn.update_prices([PriceUpdate(offer_id=code, price=Decimal(1000))])
        faults.next_429 = 3
        b = await conn.update_stocks([StockUpdate(offer_id=code, quantity=5)])
        faults.next_hangs = 1
        c = await conn.read_stocks([code])
        with pytest.raises(AuthError) as caught:
            await denied.read_stocks()
    finally:
        await conn.aclose()
        await denied.aclose()
    assert a.accepted == [code] and b.accepted == [code] and c[0].quantity == 5
    assert caught.value.status == 403 and caught.value.code == "fbs-2-seller-access-denied"


async def test_credentials_never_leak(
    sandbox: tuple[Any, str], caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    from aimanager.logs import configure

    configure("DEBUG")
    caplog.set_level(logging.DEBUG)
    app, url = sandbox
    bad = connector(url, token="Bearer " + TOKEN)
    good = connector(url)
    try:
        with pytest.raises(AuthError) as caught:
            await bad.read_stocks()
        app.state.sandbox.config.faults.next_errors = 1
        await good.read_stocks()
    finally:
        await bad.aclose()
        await good.aclose()
    captured = capsys.readouterr()
    texts = [
        str(caught.value),
        repr(caught.value),
        str(caught.value.body),
        repr(bad),
        repr(good),
        caplog.text,
        captured.err,
        captured.out,
    ]
    assert all(TOKEN not in t for t in texts)
