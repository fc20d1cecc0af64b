"""Yandex Market connector against its sandbox over loopback HTTP (no mocks)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from aimanager.connectors.base import CardPush, PriceUpdate, StockUpdate, TaskState
from aimanager.connectors.errors import AuthError
from aimanager.connectors.registry import make_connector, parse_account
from aimanager.connectors.yandex.connector import YandexMarketConnector
from aimanager.domain.enums import Marketplace
from aimanager_sandbox.common.sandbox import FaultConfig, SandboxConfig
from aimanager_sandbox.common.serving import BackgroundServer
from aimanager_sandbox.yandex import create_app
from aimanager_sandbox.yandex.state import YmAccount, rejections, seed_offers

TOKEN = "ym-secret-token-7f3a9c"
BUSINESS, CAMPAIGN = 111, 222
SCALE = 0.002  # 1 marketplace second = 2 ms


@pytest.fixture
def sandbox() -> Iterator[tuple[Any, str]]:
    config = SandboxConfig(
        time_scale=SCALE,
        task_delay=3.0,
        extra={"accounts": {TOKEN: (BUSINESS, CAMPAIGN)}},
        faults=FaultConfig(hang_seconds=0.6),
    )
    app = create_app(config)
    with BackgroundServer(app) as server:
        yield app, server.base_url


def connector(base_url: str, token: str = TOKEN, **settings: Any) -> YandexMarketConnector:
    account = parse_account(
        Marketplace.YANDEX,
        {"api_key": token},
        {
            "business_id": BUSINESS,
            "campaign_id": CAMPAIGN,
            "time_scale": SCALE,
            "poll_interval": 1.0,
            # Generous: a 100-card batch takes the sandbox a few hundred ms on a loaded 2-core machine,
            # and a spurious timeout would resend it. The hang test sets its own short timeout.
            "timeout": 5.0,
            **settings,
        },
    )
    conn = make_connector(account, base_url=base_url)
    assert isinstance(conn, YandexMarketConnector)
    return conn


def account(app: Any) -> YmAccount:
    acc: YmAccount = app.state.sandbox.account(TOKEN)
    return acc


def card(i: int, **fields: Any) -> CardPush:
    values: dict[str, Any] = {
        "offer_id": f"SKU-{i:04d}",
        "category_id": "91491",
        "title": f"Чайник Tefal KO{i} 1,7 л",
        "description": "Стальной корпус, 2200 Вт.",
        "title_uz": f"Tefal KO{i} choynagi 1,7 l",
        "description_uz": "Po'lat korpus, 2200 Vt.",
        "brand": "Tefal",
        "images": [f"https://img.example/{i}.jpg"],
        "price": Decimal(250000),
        "extra": {"ikpu": "12345678901234567"},
    }
    values.update(fields)
    return CardPush(**values)


async def test_cards_ru_then_uz_split_at_100_and_partial_failure(sandbox: tuple[Any, str]) -> None:
    app, url = sandbox
    conn = connector(url)
    cards = [card(i) for i in range(230)]
    cards[5] = card(5, description="Суперцена, скидка 50%!")  # fails the (async) card check
    cards[150] = card(150, category_id="404")  # unknown category: rejects its whole batch at once
    try:
        report = await conn.push_cards(cards, wait=True)
    finally:
        await conn.aclose()
    sb = app.state.sandbox
    path = f"/v2/businesses/{BUSINESS}/offer-mappings/update"
    # 3 RU batches (100, 100, 30) + 1 resend of the rejected batch + 3 UZ batches.
    assert sb.count(path=path) == 7
    assert {e.offer_id: e.code for e in report.failed} == {
        "SKU-0150": "UNKNOWN_CATEGORY",
        "SKU-0005": "NO_CARD_ERRORS",
    }
    assert len(report.accepted) == 228
    stored = account(app).offers
    assert stored["SKU-0007"]["ru"]["name"].startswith("Чайник") and stored["SKU-0007"]["uz"][
        "name"
    ].startswith("Tefal")
    assert "SKU-0150" not in stored
    assert account(app).max_inflight <= 2 and rejections(app) == 0


async def test_prices_split_idempotent_and_two_parallel(sandbox: tuple[Any, str]) -> None:
    app, url = sandbox
    conn = connector(url)
    prices = [
        PriceUpdate(offer_id=f"SKU-{i:04d}", price=Decimal(100000 + i), old_price=Decimal(150000))
        for i in range(1200)
    ]
    stocks = [StockUpdate(offer_id=f"SKU-{i:04d}", quantity=i % 7) for i in range(4500)]
    seed_offers(app, TOKEN, [p.offer_id for p in prices])
    try:
        first, _stock_report, _ = await asyncio.gather(
            conn.update_prices(prices),
            conn.update_stocks(stocks),
            conn.read_orders(date(2026, 10, 1), date(2026, 10, 31)),
        )
        changes = account(app).price_changes
        second = await conn.update_prices(prices)
        bad = await conn.update_prices([PriceUpdate(offer_id="X", price=Decimal("10.5"))])
        unknown = await conn.update_prices([PriceUpdate(offer_id="NOPE", price=Decimal(10)), prices[0]])
    finally:
        await conn.aclose()
    sb = app.state.sandbox
    assert first.requests == 3 and second.requests == 3 and len(first.accepted) == 1200
    assert changes == 1200 and account(app).price_changes == 1200  # the resend changed nothing
    assert bad.failed[0].code == "NON_INTEGER_UZS" and bad.requests == 0
    assert [e.code for e in unknown.failed] == ["OFFER_NOT_FOUND"] and unknown.accepted == ["SKU-0000"]
    assert sb.count(path=f"/v2/campaigns/{CAMPAIGN}/offers/stocks") == 3  # 2000 + 2000 + 500
    assert account(app).max_inflight == 2  # the gather did run two at once, never three
    assert account(app).parallel_rejections == 0 and rejections(app) == 0


async def test_stock_read_and_orders_paginate(sandbox: tuple[Any, str]) -> None:
    app, url = sandbox
    conn = connector(url)
    try:
        await conn.update_stocks([StockUpdate(offer_id=f"S-{i:03d}", quantity=i) for i in range(250)])
        levels = await conn.read_stocks()
        orders = await conn.read_orders(date(2026, 9, 2), date(2026, 10, 31))
    finally:
        await conn.aclose()
    sb = app.state.sandbox
    assert {lv.offer_id: lv.quantity for lv in levels} == {f"S-{i:03d}": i for i in range(250)}
    assert sb.count(path=f"/v2/campaigns/{CAMPAIGN}/offers/stocks") == 1 + 3  # one write, three pages
    seeded = [o for o in account(app).orders if o["creationDate"][:10] >= "2026-09-02"]
    assert len(orders) == len(seeded) > 100
    assert sb.count(path=f"/v1/businesses/{BUSINESS}/orders") >= 4  # two 30-day windows, several pages
    assert all(r.date.tzinfo is not None and r.revenue > 0 for r in orders)
    assert rejections(app) == 0


async def test_report_success_and_failure(sandbox: tuple[Any, str]) -> None:
    app, url = sandbox
    conn = connector(url)
    try:
        task = await conn.start_report("united-orders", date(2026, 10, 1), date(2026, 10, 31))
        done = await conn.wait_task(task)
        content = await conn.download_report(task)
        too_large = await conn.start_report("united-netting", date(2026, 1, 1), date(2026, 10, 31))
        failed = await conn.wait_task(too_large)
    finally:
        await conn.aclose()
    assert done.state is TaskState.DONE and content["rows"] and content["rows"][0]["offerId"]
    assert failed.state is TaskState.FAILED and failed.failed[0].code == "TOO_LARGE"
    reports = account(app).reports
    assert not any(r.get("leaked_key") for r in reports.values())  # the file link got no Api-Key
    # Each report's status was asked for until it was final (how many times depends on the machine's
    # speed against the sandbox's generation delay, so only the lower bound is fixed).
    assert app.state.sandbox.count(path="/v2/reports/info/") >= 2
    assert rejections(app) == 0


async def test_faults_are_retried(sandbox: tuple[Any, str]) -> None:
    app, url = sandbox
    faults = app.state.sandbox.config.faults
    seed_offers(app, TOKEN, ["A", "B"])
    conn = connector(url, timeout=0.3)  # the injected hang must time out quickly
    try:
        faults.next_errors = 2
        ok = await conn.update_prices([PriceUpdate(offer_id="A", price=Decimal(1000))])
        faults.next_429 = 3  # a burst of 420s with X-RateLimit-Resource-Until
        ok2 = await conn.update_prices([PriceUpdate(offer_id="B", price=Decimal(1000))])
        faults.next_hangs = 1  # the client times out and sends again
        ok3 = await conn.update_stocks([StockUpdate(offer_id="C", quantity=1)])
    finally:
        await conn.aclose()
    assert ok.accepted == ["A"] and ok2.accepted == ["B"] and ok3.accepted == ["C"]
    assert account(app).prices["B"]["value"] == 1000 and account(app).stocks["C"]["count"] == 1


async def test_credentials_never_leak(
    sandbox: tuple[Any, str], caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    from aimanager.logs import configure

    configure("DEBUG")
    caplog.set_level(logging.DEBUG)
    app, url = sandbox
    seed_offers(app, TOKEN, ["A"])
    bad = connector(url, token="Bearer " + TOKEN)
    good = connector(url)
    try:
        with pytest.raises(AuthError) as caught:
            await bad.update_prices([PriceUpdate(offer_id="A", price=Decimal(1000))])
        await good.update_prices([PriceUpdate(offer_id="A", price=Decimal(1000))])
    finally:
        await bad.aclose()
        await good.aclose()
    captured = capsys.readouterr()
    texts = [
        str(caught.value),
        repr(caught.value),
        repr(bad),
        repr(good),
        str(caught.value.body),
        caplog.text,
        captured.err,
        captured.out,
    ]
    assert caught.value.status == 401
    assert all(TOKEN not in t for t in texts)
