"""FBS order feeds: each connector's ``read_order_lines`` against its sandbox, held to the published spec.

Orders are placed through each sandbox's order desk (the buyers), moved through their lifecycle, then
read by the connector through a recording transport: every exchange is validated against the schema
the vendor publishes (WB, Ozon, YM; Uzum publishes none outside its cabinet), and the lines must come
back with the status words that map to the right pool state.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from aimanager.connectors.base import ConfirmsOrders
from aimanager.connectors.ozon.config import OzonCredentials, OzonSettings
from aimanager.connectors.ozon.connector import OzonConnector
from aimanager.connectors.registry import parse_account
from aimanager.connectors.uzum.connector import UzumConnector
from aimanager.connectors.wildberries.config import WildberriesCredentials, WildberriesSettings
from aimanager.connectors.wildberries.connector import WildberriesConnector
from aimanager.connectors.yandex.config import YandexCredentials, YandexSettings
from aimanager.connectors.yandex.connector import YandexMarketConnector
from aimanager.domain.enums import Marketplace
from aimanager.domain.orders import OrderState
from aimanager_sandbox import ozon, uzum, wildberries, yandex
from aimanager_sandbox.common.orders import OrderDesk
from tests.connectors.conftest import SCALE, Running, settings, start
from tests.specs import ozon_spec, wb_spec, ym_spec
from tests.specs.schema import Recorder, check

BUSINESS, CAMPAIGN, SHOP = 111, 222, 4242
SINCE = timedelta(hours=1)


def desk(running: Running) -> OrderDesk:
    return running.app.state.orders  # type: ignore[no-any-return]


def three_orders(running: Running, token: str, offers: list[str]) -> list[int]:
    """One order left open, one shipped, one cancelled; returns their ids."""
    d = desk(running)
    ids = []
    for offer in offers[:3]:
        order = d.place(token, offer, 1)
        assert order is not None, f"{offer} shows no stock"
        ids.append(order.id)
    d.settle(token, ids[1], "shipped")
    d.settle(token, ids[2], "cancelled")
    return ids


def states(lines: list, ids: list[int]) -> list[OrderState]:  # type: ignore[type-arg]
    by_id = {line.order_id.split("-")[0]: line.state for line in lines}
    return [by_id[str(i)] for i in ids]


@pytest.fixture
def wb() -> Iterator[Running]:
    yield from start(wildberries.create_app, history_offers=4)


@pytest.fixture
def oz() -> Iterator[Running]:
    yield from start(ozon.create_app, history_offers=4)


@pytest.fixture
def ym() -> Iterator[Running]:
    yield from start(
        yandex.create_app, history_offers=4, extra={"business_id": BUSINESS, "campaign_id": CAMPAIGN}
    )


@pytest.fixture
def uz() -> Iterator[Running]:
    yield from start(uzum.create_app, history_offers=4, extra={"shop_id": SHOP, "products": 5})


EXPECTED = [OrderState.RESERVED, OrderState.SHIPPED, OrderState.RELEASED]


async def test_wildberries_assembly_tasks(wb: Running, token: str) -> None:
    recorder = Recorder()
    conn = WildberriesConnector(
        WildberriesCredentials(token=token),
        WildberriesSettings(**settings()),
        base_url=wb.url,
        transport=recorder,
    )
    try:
        await conn.read_stocks(["SEED-001"])  # opens the account
        ids = three_orders(wb, token, ["SEED-001", "SEED-002", "SEED-003"])
        lines = await conn.read_order_lines(datetime.now(UTC) - SINCE)
    finally:
        await conn.aclose()
    assert states(lines, ids) == EXPECTED
    assert {line.offer_id for line in lines} == {"SEED-001", "SEED-002", "SEED-003"}
    assert all(line.quantity == 1 for line in lines)
    verdict = check(recorder.exchanges, wb_spec.routes())
    assert verdict.failures == [], "\n".join(verdict.failures)
    assert {("GET", "/api/v3/orders"), ("POST", "/api/v3/orders/status")} <= set(verdict.routes)


async def test_ozon_postings(oz: Running) -> None:
    recorder = Recorder()
    client_id = "77001"
    conn = OzonConnector(
        OzonCredentials(client_id=client_id, api_key=f"key-{client_id}-0123456789"),
        OzonSettings(**settings()),
        base_url=oz.url,
        transport=recorder,
    )
    try:
        await conn.read_stocks(["OZ-001"])
        offers = sorted(o for o, _ in oz.sandbox.account(client_id).stocks)
        ids = three_orders(oz, client_id, offers)
        lines = await conn.read_order_lines(datetime.now(UTC) - SINCE)
    finally:
        await conn.aclose()
    assert states(lines, ids) == EXPECTED
    verdict = check(recorder.exchanges, ozon_spec.routes())
    assert verdict.failures == [], "\n".join(verdict.failures)
    assert ("POST", "/v4/posting/fbs/list") in verdict.routes


async def test_yandex_business_orders(ym: Running, token: str) -> None:
    recorder = Recorder()
    conn = YandexMarketConnector(
        YandexCredentials(api_key=token),
        YandexSettings(**settings(business_id=BUSINESS, campaign_id=CAMPAIGN)),
        base_url=ym.url,
        transport=recorder,
    )
    try:
        acc = ym.sandbox.account(token)
        for offer in ("YM-000", "YM-001", "YM-002"):
            acc.stocks[offer] = {"count": 5}
        ids = three_orders(ym, token, ["YM-000", "YM-001", "YM-002"])
        lines = await conn.read_order_lines(datetime.now(UTC) - SINCE)
    finally:
        await conn.aclose()
    assert states(lines, ids) == EXPECTED
    verdict = check(recorder.exchanges, ym_spec.routes())
    assert verdict.failures == [], "\n".join(verdict.failures)


async def test_uzum_orders_and_confirmation(uz: Running, token: str) -> None:
    account = parse_account(
        Marketplace.UZUM, {"token": token}, {"shop_id": SHOP, "time_scale": SCALE, "timeout": 5.0}
    )
    conn = UzumConnector(account.credentials, account.settings, base_url=uz.url)  # type: ignore[arg-type]
    try:
        shop = uz.sandbox.account(token)
        skus = sorted(
            (s["sellerItemCode"], s["barcode"]) for p in shop.products.values() for s in p["skuList"]
        )
        for _, barcode in skus[:4]:
            shop.stocks[barcode] = 5
        offers = [code for code, _ in skus[:4]]
        ids = three_orders(uz, token, offers)
        extra = desk(uz).place(token, offers[3], 1)
        assert extra is not None
        lines = await conn.read_order_lines(datetime.now(UTC) - SINCE)
        assert states(lines, ids) == EXPECTED
        assert isinstance(conn, ConfirmsOrders)
        report = await conn.confirm_orders([str(extra.id), str(ids[2])])
        assert report.accepted == [str(extra.id)]
        assert [e.offer_id for e in report.failed] == [str(ids[2])]  # a cancelled order is refused
        after = {
            line.order_id: line.status for line in await conn.read_order_lines(datetime.now(UTC) - SINCE)
        }
    finally:
        await conn.aclose()
    assert after[str(extra.id)] == "PACKING"
    # An unconfirmed order is cancelled by the marketplace at its shipping time; a confirmed one ships.
    assert desk(uz).needs_confirm
