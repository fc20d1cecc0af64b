"""Wildberries connector against the WB sandbox over loopback HTTP."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import httpx
import pytest

from aimanager.connectors.base import CardPush, PriceUpdate, StockUpdate, TaskState
from aimanager.connectors.registry import make_connector, parse_account
from aimanager.connectors.wildberries import WildberriesConnector
from aimanager_sandbox import wildberries
from tests.connectors.conftest import Running, settings, start


@pytest.fixture
def wb() -> Iterator[Running]:
    yield from start(wildberries.create_app, history_offers=2100)


def connect(wb: Running, token: str, **extra: object) -> WildberriesConnector:
    conn = make_connector(parse_account("wildberries", {"token": token}, settings(**extra)), wb.url)
    assert isinstance(conn, WildberriesConnector)
    return conn


def card(offer: str, subject: str = "105", title: str | None = None) -> CardPush:
    return CardPush(
        offer_id=offer, category_id=subject, title=title or f"Футболка {offer}", description="Хлопок"
    )


async def test_bulk_writes_split_at_documented_sizes(wb: Running, token: str) -> None:
    conn = connect(wb, token)
    offers = [f"SEED-{i:03d}" for i in range(1, 2101)]
    try:
        prices = await conn.update_prices([PriceUpdate(offer_id=o, price=Decimal(2000)) for o in offers])
        stocks = await conn.update_stocks([StockUpdate(offer_id=o, quantity=7) for o in offers])
        cards = await conn.push_cards([card(f"NEW-{i}") for i in range(250)])
    finally:
        await conn.aclose()
    sb = wb.sandbox
    assert sb.count(path="/api/v2/upload/task") == 3 and prices.requests == 3 and len(prices.accepted) == 2100
    assert sb.count(path="/api/v3/stocks/1001") == 3 and stocks.requests == 3 and len(stocks.accepted) == 2100
    assert sb.count(path="/content/v2/cards/upload") == 3 and len(cards.tasks) == 3
    assert sorted(len(u["items"]) for u in sb.account(token).uploads.values()) == [100, 1000, 1000]
    assert sb.account(token).stock_of("SEED-2100") == 7
    assert sb.rejections() == 0


async def test_rate_limits_never_exceeded(wb: Running, token: str) -> None:
    conn = connect(wb, token)
    try:  # 12 uploads against "10 per 6 s, burst 5": the client must pace them
        for step in range(12):
            await conn.update_prices([PriceUpdate(offer_id="SEED-001", price=Decimal(1500 + step))])
    finally:
        await conn.aclose()
    assert wb.sandbox.count(account=token, group="prices") == 12 + 1 - 1  # the catalogue read is content
    assert wb.sandbox.rejections() == 0


async def test_card_task_followed_to_partial_failure(wb: Running, token: str) -> None:
    conn = connect(wb, token)
    try:
        report = await conn.push_cards([card("C-1"), card("C-2", subject="999"), card("C-3")], wait=True)
        again = await conn.push_cards([card("C-1", title="Футболка хлопковая")], wait=True)
        long_title = await conn.push_cards([card("C-4", title="x" * 61)])
    finally:
        await conn.aclose()
    assert sorted(report.accepted) == ["C-1", "C-3"]
    assert [(e.offer_id, e.code) for e in report.failed] == [("C-2", "card_rejected")]
    assert "Неизвестный предмет" in report.failed[0].message
    assert again.ok and again.accepted == ["C-1"]  # an existing vendorCode goes through cards/update
    assert wb.sandbox.count(path="/content/v2/cards/update") == 1
    assert wb.sandbox.account(token).cards["C-1"]["title"] == "Футболка хлопковая"
    assert long_title.failed[0].code == "title_too_long" and not long_title.tasks
    assert wb.sandbox.rejections() == 0


async def test_price_task_success_quarantine_and_idempotency(wb: Running, token: str) -> None:
    conn = connect(wb, token)
    update = [
        PriceUpdate(offer_id=f"SEED-{i:03d}", price=Decimal(900), old_price=Decimal(1000)) for i in (1, 2)
    ]
    try:
        first = await conn.update_prices(update, wait=True)
        changes = wb.sandbox.account(token).price_changes
        second = await conn.update_prices(update, wait=True)
        changes_after_repeat = wb.sandbox.account(token).price_changes
        crash = await conn.update_prices(
            [
                PriceUpdate(offer_id="SEED-003", price=Decimal(100)),
                PriceUpdate(offer_id="SEED-004", price=Decimal(990)),
            ],
            wait=True,
        )
        status = await conn.wait_task(crash.tasks[0])
    finally:
        await conn.aclose()
    acc = wb.sandbox.account(token)
    assert first.ok and acc.price_of("SEED-001") == (1000, 10)
    assert second.task_ids == first.task_ids and changes_after_repeat == changes  # nothing changed twice
    assert status.state is TaskState.PARTIAL and crash.accepted == ["SEED-004"]
    assert crash.failed[0].offer_id == "SEED-003" and "quarantine" in crash.failed[0].message
    assert acc.price_of("SEED-004") == (990, 0)


async def test_reads_paginate(wb: Running, token: str) -> None:
    conn = connect(wb, token, report_page_size=50)
    try:
        orders = await conn.read_orders(date(2026, 10, 1), date(2026, 10, 31))
        stocks = await conn.read_stocks()
        fees = await conn.read_fees(["SEED-001"])
    finally:
        await conn.aclose()
    acc = wb.sandbox.account(token)
    expected = [h for h in acc.history if date(2026, 10, 1) <= h.day <= date(2026, 10, 31)]
    assert len(orders) == len(expected) > 150
    pages = wb.sandbox.count(path="/api/finance/v1/sales-reports/detailed")
    assert pages in (math.ceil(len(expected) / 50), math.ceil(len(expected) / 50) + 1)
    assert orders[0].date.tzinfo is not None and isinstance(orders[0].revenue, Decimal)
    assert any(o.kind == "return" for o in orders) and all(o.commission > 0 for o in orders)
    assert len(stocks) == 2100 and wb.sandbox.count(path="/content/v2/get/cards/list") >= 21
    assert fees[0].commission_pct == Decimal("23")
    assert wb.sandbox.rejections() == 0


@pytest.fixture
def wb_realtime() -> Iterator[Running]:
    """Real time scale: the billing assertions below must not race the bucket's refill."""
    yield from start(wildberries.create_app, time_scale=1.0)


async def test_sandbox_validates_like_wb(wb_realtime: Running, token: str) -> None:
    wb = wb_realtime
    async with httpx.AsyncClient(base_url=wb.url, headers={"Authorization": token}) as raw:
        acc = wb.sandbox.account(token)
        chrt = acc.cards["SEED-001"]["sizes"][0]["chrtID"]
        # Unknown field names: 204 and nothing changes.
        r = await raw.put("/api/v3/stocks/1001", json={"stocks": [{"sku": str(chrt), "amount": 55}]})
        assert r.status_code == 204 and acc.stock_of("SEED-001") == 10
        # A refused price upload costs one request, not ten: the "prices" bucket (burst 5) has room.
        bad = await raw.post("/api/v2/upload/task", json={"data": []})
        assert bad.status_code == 400 and bad.json()["error"] is True
        taken = await raw.post("/api/v2/upload/task", json={"data": [{"nmID": 1, "price": 5}]})
        assert taken.status_code == 200
        # A stock 409 is billed as 10 (the "marketplace" bucket holds 20): two of them empty it.
        for _ in range(2):
            refused = await raw.put("/api/v3/stocks/1001", json={"stocks": [{"chrtId": 1, "amount": 1}]})
            assert refused.status_code == 409
            assert refused.json() == [
                {
                    "code": "NotFound",
                    "message": "Размер товара не найден",
                    "data": [{"chrtId": 1, "amount": 1}],
                }
            ]
        limited = await raw.get("/api/v3/warehouses")
        assert limited.status_code == 429 and int(limited.headers["X-Ratelimit-Retry"]) >= 1
        assert limited.json()["status"] == 429 and "requestId" in limited.json()
        # Title over 60 characters: accepted, then reported in the error list.
        up = await raw.post(
            "/content/v2/cards/upload",
            json=[{"subjectID": 105, "variants": [{"vendorCode": "L", "title": "я" * 61}]}],
        )
        assert up.status_code == 200
        with wb.sandbox.lock:  # let the task's time come without waiting for it
            acc.pending_cards = [(0.0, b, items) for _, b, items in acc.pending_cards]
        errors = (await raw.post("/content/v2/cards/error/list", json={"cursor": {"limit": 10}})).json()
    assert "L" not in acc.cards
    item = errors["data"]["items"][0]
    assert item["vendorCodes"] == ["L"] and "60" in item["errors"]["L"][0]


@pytest.fixture
def wb_slow() -> Iterator[Running]:
    """A slower clock (0.5): concurrent senders must not be out-raced by loopback jitter."""
    yield from start(wildberries.create_app, time_scale=0.5)


async def test_concurrent_uploads_share_one_bucket(wb_slow: Running, token: str) -> None:
    import asyncio

    account = parse_account("wildberries", {"token": token}, {"time_scale": 0.5, "timeout": 5.0})
    conn = make_connector(account, wb_slow.url)
    other = make_connector(account, wb_slow.url)
    try:
        await conn.read_stocks(["SEED-001"])  # warm the catalogue so only price calls race
        await other.read_stocks(["SEED-001"])
        reports = await asyncio.gather(
            *(
                (conn if n % 2 else other).update_prices(
                    [PriceUpdate(offer_id="SEED-002", price=Decimal(3000 + n))]
                )
                for n in range(9)
            )
        )
    finally:
        await conn.aclose()
        await other.aclose()
    assert all(r.ok for r in reports)
    assert wb_slow.sandbox.count(path="/api/v2/upload/task") == 9
    assert wb_slow.sandbox.rejections() == 0  # two instances, one account, one budget
