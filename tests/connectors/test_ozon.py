"""Ozon connector against the Ozon sandbox over loopback HTTP."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import httpx
import pytest

from aimanager.connectors.base import CardPush, PriceUpdate, StockUpdate, TaskState
from aimanager.connectors.ozon import OzonConnector
from aimanager.connectors.registry import make_connector, parse_account
from aimanager_sandbox import ozon
from tests.connectors.conftest import Running, settings, start

_ids = itertools.count(10_000)


@pytest.fixture
def oz() -> Iterator[Running]:
    yield from start(ozon.create_app, history_offers=2100)


@pytest.fixture
def client_id() -> str:
    return str(next(_ids))


def connect(oz: Running, client_id: str, **extra: object) -> OzonConnector:
    creds = {"client_id": client_id, "api_key": f"key-{client_id}-0123456789"}
    conn = make_connector(parse_account("ozon", creds, settings(**extra)), oz.url)
    assert isinstance(conn, OzonConnector)
    return conn


def card(offer: str, **overrides: object) -> CardPush:
    fields: dict[str, object] = {
        "offer_id": offer,
        "category_id": "17028922",
        "type_id": "91565",
        "title": f"Кружка {offer}",
        "description": "Керамика",
        "price": Decimal(900),
        "length_mm": 100,
        "width_mm": 90,
        "height_mm": 110,
        "weight_g": 350,
    }
    return CardPush(**(fields | overrides))  # type: ignore[arg-type]


async def test_bulk_writes_split_at_documented_sizes(oz: Running, client_id: str) -> None:
    conn = connect(oz, client_id)
    offers = [f"SEED-{i:03d}" for i in range(1, 2101)]
    try:
        prices = await conn.update_prices([PriceUpdate(offer_id=o, price=Decimal(700)) for o in offers])
        stocks = await conn.update_stocks([StockUpdate(offer_id=o, quantity=4) for o in offers])
        cards = await conn.push_cards([card(f"NEW-{i}") for i in range(250)])
    finally:
        await conn.aclose()
    sb = oz.sandbox
    assert sb.count(path="/v1/product/import/prices") == 3 and len(prices.accepted) == 2100
    assert sb.count(path="/v2/products/stocks") == 21 and len(stocks.accepted) == 2100
    assert sb.count(path="/v3/product/import") == 3 and len(cards.tasks) == 3
    assert sb.account(client_id).stocks[("SEED-2100", 22001)] == 4
    assert sb.rejections() == 0  # 21 stock calls against 80/min (burst 10) without a single 429


async def test_stock_pair_cooldown_is_respected(oz: Running, client_id: str) -> None:
    conn = connect(oz, client_id, warehouse_id="22002")
    try:
        first = await conn.update_stocks([StockUpdate(offer_id="SEED-001", quantity=1)])
        second = await conn.update_stocks([StockUpdate(offer_id="SEED-001", quantity=2)])
        unknown = await conn.update_stocks([StockUpdate(offer_id="NOPE", quantity=2, warehouse_id="1")])
    finally:
        await conn.aclose()
    assert first.ok and second.ok  # the client waited out the 30 s pair window
    assert oz.sandbox.account(client_id).stocks[("SEED-001", 22002)] == 2
    assert unknown.failed[0].code == "offer_id_not_found"
    assert oz.sandbox.rejections() == 0


async def test_import_task_success_and_partial_failure(oz: Running, client_id: str) -> None:
    conn = connect(oz, client_id)
    try:
        report = await conn.push_cards(
            [card("M-1"), card("M-2", weight_g=None), card("M-3", title="я" * 501), card("M-4")], wait=True
        )
        again = await conn.push_cards([card("M-1")])
        status = await conn.wait_task(again.tasks[0])
    finally:
        await conn.aclose()
    assert sorted(report.accepted) == ["M-1", "M-4"]
    assert {(e.offer_id, e.code) for e in report.failed} == {
        ("M-2", "dimensions_invalid"),
        ("M-3", "invalid_name"),
    }
    assert status.state is TaskState.DONE and status.accepted == ["M-1"]  # unchanged → "skipped"
    assert oz.sandbox.account(client_id).products["M-4"]["name"] == "Кружка M-4"


async def test_prices_idempotent_and_per_product_quota(oz: Running, client_id: str) -> None:
    conn = connect(oz, client_id)
    acc = oz.sandbox.account(client_id)
    update = [PriceUpdate(offer_id="SEED-001", price=Decimal(950), old_price=Decimal(1100))]
    try:
        first = await conn.update_prices(update)
        changes = acc.price_changes
        second = await conn.update_prices(update)
        repeat_changes = acc.price_changes
        bad_gap = await conn.update_prices(
            [PriceUpdate(offer_id="SEED-002", price=Decimal(990), old_price=Decimal(1000))]
        )
        reports = [
            await conn.update_prices([PriceUpdate(offer_id="SEED-003", price=Decimal(600 + n))])
            for n in range(11)
        ]
    finally:
        await conn.aclose()
    assert first.ok and second.ok and repeat_changes == changes
    assert acc.products["SEED-001"]["price"] == Decimal(950)
    assert bad_gap.failed[0].code == "INVALID_PRICE"
    assert all(r.ok for r in reports[:10]) and reports[10].failed[0].code == "price_quota"
    assert oz.sandbox.count(path="/v1/product/import/prices") == 13  # the 11th never left the client


async def test_reads_paginate(oz: Running, client_id: str) -> None:
    conn = connect(oz, client_id, page_size=300)
    try:
        stocks = await conn.read_stocks()
        orders = await conn.read_orders(date(2026, 10, 1), date(2026, 10, 31))
        fees = await conn.read_fees(["SEED-001", "SEED-002"])
    finally:
        await conn.aclose()
    assert len(stocks) == 2100
    acc = oz.sandbox.account(client_id)
    window = [h for h in acc.history if date(2026, 10, 1) <= h.day <= date(2026, 10, 31) and not h.returned]
    assert sum(o.quantity for o in orders) == sum(h.quantity for h in window)
    assert oz.sandbox.count(path="/v1/analytics/data") == math.ceil((len(orders) + 1) / 300)
    assert all(o.fees_estimated and o.commission > 0 for o in orders)
    assert {f.commission_pct for f in fees} == {Decimal("12")}
    assert oz.sandbox.rejections() == 0


async def test_injected_faults_are_retried(oz: Running, client_id: str) -> None:
    oz.sandbox.config.faults.next_429 = 2
    oz.sandbox.config.faults.next_errors = 1
    conn = connect(oz, client_id)
    try:
        levels = await conn.read_stocks(["SEED-001"])
    finally:
        await conn.aclose()
    assert levels[0].quantity == 10
    assert [r.status for r in oz.sandbox.requests] == [429, 429, 503, 200]


async def test_sandbox_auth_and_limits(client_id: str) -> None:
    for running in start(ozon.create_app, time_scale=1.0, valid_tokens={"good-key"}):
        async with httpx.AsyncClient(base_url=running.url) as raw:
            denied = await raw.post(
                "/v4/product/info/stocks", headers={"Client-Id": client_id, "Api-Key": "bad"}
            )
            assert denied.status_code == 403 and denied.json()["code"] == 7
            headers = {"Client-Id": client_id, "Api-Key": "good-key"}
            body = {
                "date_from": "2026-10-01",
                "date_to": "2026-10-02",
                "dimension": ["sku", "day"],
                "limit": 10,
            }
            assert (await raw.post("/v1/analytics/data", headers=headers, json=body)).status_code == 200
            limited = await raw.post("/v1/analytics/data", headers=headers, json=body)
            assert limited.status_code == 429 and limited.json()["code"] == 8
            too_many = await raw.post("/v2/products/stocks", headers=headers, json={"stocks": [{}] * 101})
            assert too_many.status_code == 400 and "details" in too_many.json()
