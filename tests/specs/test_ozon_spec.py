"""Ozon: every exchange the connector has with the sandbox, held to Ozon's published Swagger.

Driven like the WB test: the connector does everything it does against the sandbox on loopback, a
recording transport keeps each request and answer, and ``ozon_spec`` (models generated from Ozon's
Swagger by ``ozon-sdk``) says what each must look like. Error answers (``rpcStatus``) are provoked
separately. The account's currency is read from the account and a price in another currency is refused
before anything is sent.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import httpx
import pytest

from aimanager.connectors.base import CardPush, PriceUpdate, StockUpdate
from aimanager.connectors.errors import CurrencyNotConfirmed
from aimanager.connectors.ozon import connector as ozon_connector
from aimanager.connectors.ozon.config import OzonCredentials, OzonSettings
from aimanager.connectors.ozon.connector import OzonConnector
from aimanager_sandbox import ozon
from tests.connectors.conftest import Running, settings, start
from tests.specs import ozon_spec
from tests.specs.schema import Recorder, check, connector_paths, problems, uncovered

_ids = itertools.count(40_000)
PRICES = ("POST", "/v5/product/info/prices")


@pytest.fixture
def oz() -> Iterator[Running]:
    yield from start(ozon.create_app, history_offers=4)


def connect(oz: Running, recorder: Recorder, client_id: str | None = None, **extra: object) -> OzonConnector:
    client_id = client_id or str(next(_ids))
    return OzonConnector(
        OzonCredentials(client_id=client_id, api_key=f"key-{client_id}-0123456789"),
        OzonSettings(**settings(**extra)),
        base_url=oz.url,
        transport=recorder,
    )


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


async def test_every_route_the_connector_calls_matches_the_published_spec(oz: Running) -> None:
    recorder = Recorder()
    conn = connect(oz, recorder)
    try:
        report = await conn.push_cards([card("NEW-1"), card("NEW-2", type_id="1")], wait=True)
        await conn.update_prices([PriceUpdate(offer_id="SEED-001", price=Decimal(990), currency="RUB")])
        await conn.update_stocks([StockUpdate(offer_id="SEED-002", quantity=4)])
        await conn.read_stocks()
        fees = await conn.read_fees(["SEED-001"])
        orders = await conn.read_orders(date(2026, 10, 1), date(2026, 10, 31))
    finally:
        await conn.aclose()
    verdict = check(recorder.exchanges, ozon_spec.routes())
    assert verdict.failures == [], "\n".join(verdict.failures)
    assert uncovered(connector_paths(ozon_connector), recorder.exchanges) == set()
    assert ("POST", "/v2/warehouse/list") in verdict.routes  # the cursor-paged list, not v1
    assert [e.offer_id for e in report.failed] == ["NEW-2"] and report.failed[0].message
    assert fees[0].currency == "RUB" and {o.currency for o in orders} == {"RUB"}


async def test_error_answers_match_the_published_spec(oz: Running) -> None:
    recorder = Recorder()
    client_id = str(next(_ids))
    headers = {"Client-Id": client_id, "Api-Key": "key-0123456789"}
    async with httpx.AsyncClient(base_url=oz.url, headers=headers, transport=recorder) as client:
        assert (await client.post("/v1/product/import/info", json={"task_id": 1})).status_code == 404
        assert (await client.post("/v2/products/stocks", json={"stocks": []})).status_code == 400
        oz.sandbox.config.faults.next_429 = 1
        assert (await client.post("/v2/warehouse/list", json={"limit": 10})).status_code == 429
    async with httpx.AsyncClient(base_url=oz.url, transport=recorder) as anonymous:
        assert (await anonymous.post("/v2/warehouse/list", json={"limit": 10})).status_code == 403
    verdict = check(recorder.exchanges, ozon_spec.routes(), requests=False)
    assert verdict.failures == [], "\n".join(verdict.failures)


async def test_the_account_currency_is_read_and_a_foreign_price_refused(oz: Running) -> None:
    recorder = Recorder()
    conn = connect(oz, recorder)
    try:
        assert await conn.account_currency() == "RUB"
        sent = len(recorder.exchanges)
        with pytest.raises(CurrencyNotConfirmed) as refused:
            await conn.update_prices(
                [PriceUpdate(offer_id="SEED-001", price=Decimal(99_000), currency="UZS")]
            )
    finally:
        await conn.aclose()
    assert len(recorder.exchanges) == sent  # nothing went out
    assert refused.value.currency == "UZS" and refused.value.confirmed == "RUB"


def test_v5_prices_are_numbers_in_the_spec() -> None:
    """The v4-style string price the sandbox used to send is refused by the v5 schema."""
    schema = ozon_spec.routes()[PRICES].responses["200"]()
    assert schema is not None
    item = {"offer_id": "A", "product_id": 1, "price": {"price": 990.0, "currency_code": "RUB"}}
    assert problems(schema, {"items": [item], "cursor": "", "total": 1}) == []
    bad = {**item, "price": {"price": "990", "currency_code": "RUB"}}
    assert problems(schema, {"items": [bad], "cursor": "", "total": 1}) != []


async def test_sales_come_from_the_daily_accruals_as_the_spec_says(oz: Running) -> None:
    """Ozon's sales with their real charges (``/v1/finance/accrual/by-day``, ``ozon-sdk`` beta models):
    every exchange valid, and the lines add up to the sandbox's history — commission and delivery
    charged, a return's commission refunded."""
    from aimanager.connectors.base import SaleKind
    from aimanager.connectors.ozon import finance as ozon_finance

    recorder = Recorder()
    client_id = str(next(_ids))
    conn = connect(oz, recorder, client_id)
    history = oz.sandbox.account(client_id).history
    days = sorted({h.day for h in history})
    try:
        lines = await conn.read_sales(days[0], days[-1])
    finally:
        await conn.aclose()
    verdict = check(recorder.exchanges, ozon_spec.routes())
    assert verdict.failures == [], "\n".join(verdict.failures)
    assert ("POST", "/v1/finance/accrual/by-day") in verdict.routes
    assert uncovered(connector_paths(ozon_finance), recorder.exchanges) == set()
    sold = sum(h.unit_price * h.quantity for h in history)
    back = sum(h.unit_price * h.quantity for h in history if h.returned)
    sales = [x for x in lines if x.kind is SaleKind.SALE]
    returns = [x for x in lines if x.kind is SaleKind.RETURN]
    assert sum(x.revenue for x in sales) == sold and sum(x.revenue for x in returns) == back
    assert sum(x.quantity for x in sales) == sum(h.quantity for h in history)
    charged = sum(
        (h.unit_price * h.quantity * h.commission_pct / 100).quantize(Decimal("0.01")) for h in history
    )
    refunded = sum(
        (h.unit_price * h.quantity * h.commission_pct / 100).quantize(Decimal("0.01"))
        for h in history
        if h.returned
    )
    assert sum(x.commission for x in lines) == charged - refunded > 0
    delivery = sum(h.logistics * h.quantity * (2 if h.returned else 1) for h in history)
    assert sum(x.logistics for x in lines) == delivery > 0
    assert {x.offer_id for x in lines} <= {h.offer_id for h in history}  # SKUs mapped to offer ids
    assert {x.currency for x in lines} == {"RUB"}
