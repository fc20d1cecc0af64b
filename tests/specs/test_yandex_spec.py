"""Yandex Market: every exchange the connector has with the sandbox, held to YM's OpenAPI.

Driven like the WB and Ozon tests (everything the connector does, recorded, each request and answer
validated); the schemas are ``ym_spec``'s, transcribed from the official spec (no registry package
carries a current one — see that module). Report files live on a storage host outside the API and
are not part of the spec, so their downloads are left out of the check.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest

from aimanager.connectors.base import CardPush, PriceUpdate, StockUpdate
from aimanager.connectors.yandex import connector as ym_connector
from aimanager.connectors.yandex import order_history as ym_order_history
from aimanager.connectors.yandex import reports as ym_reports
from aimanager.connectors.yandex.config import YandexCredentials, YandexSettings
from aimanager.connectors.yandex.connector import YandexMarketConnector
from aimanager.connectors.yandex.limits import REPORT_KINDS
from aimanager_sandbox import yandex
from tests.connectors.conftest import Running, settings, start
from tests.specs import ym_spec
from tests.specs.schema import Exchange, Recorder, check, connector_paths, problems, uncovered

BUSINESS, CAMPAIGN = 111, 222
ORDERS = ("POST", "/v1/businesses/{businessId}/orders")


@pytest.fixture
def ym() -> Iterator[Running]:
    yield from start(
        yandex.create_app, history_offers=4, extra={"business_id": BUSINESS, "campaign_id": CAMPAIGN}
    )


def connect(ym: Running, token: str, recorder: Recorder) -> YandexMarketConnector:
    return YandexMarketConnector(
        YandexCredentials(api_key=token),
        YandexSettings(**settings(business_id=BUSINESS, campaign_id=CAMPAIGN)),
        base_url=ym.url,
        transport=recorder,
    )


def card(offer: str, description: str = "Хлопок") -> CardPush:
    return CardPush(
        offer_id=offer,
        category_id="91491",
        title=f"Футболка {offer}",
        description=description,
        title_uz=f"Futbolka {offer}",
        description_uz="Paxta",
        brand="Sandbox",
        images=["https://img.example/1.jpg"],
        price=Decimal(150_000),
        length_mm=300,
        width_mm=200,
        height_mm=50,
        weight_g=250,
    )


def api_only(e: Exchange) -> bool:
    return e.path.startswith("/_sandbox/")


async def test_every_route_the_connector_calls_matches_the_published_spec(ym: Running, token: str) -> None:
    recorder = Recorder()
    conn = connect(ym, token, recorder)
    try:
        pushed = await conn.push_cards([card("NEW-1"), card("NEW-2", description="Скидка!")], wait=True)
        await conn.update_prices(
            [PriceUpdate(offer_id="YM-000", price=Decimal(95_000), old_price=Decimal(100_000))]
        )
        await conn.update_stocks([StockUpdate(offer_id="YM-001", quantity=6)])
        await conn.read_stocks()
        orders = await conn.read_orders(date(2026, 10, 1), date(2026, 10, 31))
        for kind in REPORT_KINDS:
            await conn.read_report(kind, date(2026, 10, 1), date(2026, 10, 31))
    finally:
        await conn.aclose()
    verdict = check(recorder.exchanges, ym_spec.routes(), skip=api_only)
    assert verdict.failures == [], "\n".join(verdict.failures)
    assert (
        uncovered(
            connector_paths(ym_connector, ym_reports, ym_order_history),
            [e for e in recorder.exchanges if not api_only(e)],
        )
        == set()
    )
    assert len(verdict.routes) == 11, sorted(verdict.routes)
    assert [e.offer_id for e in pushed.failed] == ["NEW-2"] and orders


async def test_error_answers_match_the_published_spec(ym: Running, token: str) -> None:
    recorder = Recorder()
    async with httpx.AsyncClient(base_url=ym.url, headers={"Api-Key": token}, transport=recorder) as client:
        assert (
            await client.post(f"/v2/businesses/{BUSINESS}/offer-prices/updates", json={"offers": []})
        ).status_code == 400
        assert (await client.post("/v2/businesses/999/offer-cards", json={})).status_code == 403
        assert (await client.get("/v2/reports/info/nope")).status_code == 404
        body = {"offers": [{"offerId": "GONE", "price": {"value": 10, "currencyId": "UZS"}}]}
        assert (
            await client.post(f"/v2/businesses/{BUSINESS}/offer-prices/updates", json=body)
        ).status_code == 400
        ym.sandbox.config.faults.next_429 = 1
        assert (await client.post(f"/v2/businesses/{BUSINESS}/offer-cards", json={})).status_code == 420
    async with httpx.AsyncClient(base_url=ym.url, transport=recorder) as anonymous:
        assert (await anonymous.post(f"/v2/businesses/{BUSINESS}/offer-cards", json={})).status_code == 401
    verdict = check(recorder.exchanges, ym_spec.routes(), requests=False)
    assert verdict.failures == [], "\n".join(verdict.failures)


@pytest.mark.parametrize(
    "period",
    [
        {"dateFrom": "2026-10-01", "dateTo": "2026-10-31"},
        {"dateTimeFrom": "2026-10-01T00:00:00Z", "dateTimeTo": "2026-10-31T23:59:59Z"},
        {"monthOfYear": {"year": 2026, "month": 10}},
        {"bankOrderId": 123456, "bankOrderDateTime": "2026-10-15T10:00:00Z"},
    ],
    ids=["dates", "date-times", "month", "payment-order"],
)
async def test_the_netting_report_takes_every_published_period_form(
    ym: Running, token: str, period: dict[str, Any]
) -> None:
    recorder = Recorder()
    body = {"businessId": BUSINESS, **period}
    async with httpx.AsyncClient(base_url=ym.url, headers={"Api-Key": token}, transport=recorder) as client:
        answer = await client.post(
            "/v2/reports/united-netting/generate", params={"format": "JSON"}, json=body
        )
    assert answer.status_code == 200, answer.text
    verdict = check(recorder.exchanges, ym_spec.routes())
    assert verdict.failures == [], "\n".join(verdict.failures)


def test_an_order_without_delivery_details_fails_the_check() -> None:
    schema = ym_spec.routes()[ORDERS].responses["200"]()
    assert schema is not None
    order = {
        "orderId": 1,
        "campaignId": CAMPAIGN,
        "status": "DELIVERED",
        "substatus": "DELIVERY_SERVICE_DELIVERED",
        "creationDate": "2026-10-01T09:00:00+00:00",
        "paymentType": "PREPAID",
        "paymentMethod": "YANDEX",
        "fake": False,
        "items": [{"id": 1, "offerId": "A", "offerName": "A", "count": 1}],
        "delivery": {"type": "DELIVERY"},
    }
    found = problems(schema, {"orders": [order]})
    assert any("serviceName" in p for p in found), found


async def test_sales_with_charged_fees_come_from_the_order_stats_as_the_spec_says(
    ym: Running, token: str
) -> None:
    """YM's commissions and delivery charges (``stats/orders``), not zeros: every exchange valid, the
    fees the sandbox charged are the fees read, a returned order's revenue nets to zero."""
    from aimanager.connectors.base import SaleKind
    from aimanager.connectors.yandex import stats as ym_stats

    recorder = Recorder()
    conn = connect(ym, token, recorder)
    orders = ym.sandbox.account(token).orders
    days = sorted(str(o["creationDate"])[:10] for o in orders)
    try:
        lines = await conn.read_sales(date.fromisoformat(days[0]), date.fromisoformat(days[-1]))
    finally:
        await conn.aclose()
    verdict = check(recorder.exchanges, ym_spec.routes(), skip=api_only)
    assert verdict.failures == [], "\n".join(verdict.failures)
    assert ("POST", "/v2/campaigns/{campaignId}/stats/orders") in verdict.routes
    assert uncovered(connector_paths(ym_stats), recorder.exchanges) == set()
    assert len(orders) > ym_stats.STATS_PAGE_LIMIT or len(recorder.exchanges) == 1
    sales = [x for x in lines if x.kind is SaleKind.SALE]
    returns = [x for x in lines if x.kind is SaleKind.RETURN]
    returned = [o for o in orders if o["status"] == "RETURNED"]
    assert len(sales) == len(orders) and len(returns) == len(returned)
    fees = sum(o["_fee"] for o in orders if o["status"] != "RETURNED")
    assert sum(x.commission for x in lines) == fees > 0
    assert sum(x.logistics for x in lines) == sum(o["_delivery"] for o in orders) > 0
    revenue = sum(i["prices"]["payment"]["value"] * i["count"] for o in orders for i in o["items"])
    assert sum(x.revenue for x in sales) == revenue
    assert sum(x.revenue for x in returns) == sum(
        i["prices"]["payment"]["value"] * i["count"] for o in returned for i in o["items"]
    )
