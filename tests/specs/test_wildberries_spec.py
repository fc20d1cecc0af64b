"""Wildberries: every exchange the connector has with the sandbox, held to WB's published OpenAPI.

The connector is driven through all it does (cards new and updated, a rejected card, prices followed to
the end, stocks written and read, the sales report, commissions) against the sandbox on loopback; a
recording transport keeps each request and answer, and each is validated against the schema the
vendor publishes for that method and status (``wb_spec``). A second test provokes the error answers
the connector must understand (208 duplicate upload, 400 "already set", stock 404/409, 401, 429) and
holds them to the spec the same way.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest

from aimanager.connectors.base import CardPush, PriceUpdate, StockUpdate
from aimanager.connectors.wildberries import connector as wb_connector
from aimanager.connectors.wildberries import finance as wb_finance
from aimanager.connectors.wildberries import wire as wb_wire
from aimanager.connectors.wildberries.config import WildberriesCredentials, WildberriesSettings
from aimanager.connectors.wildberries.connector import WildberriesConnector
from aimanager_sandbox import wildberries
from tests.connectors.conftest import Running, settings, start
from tests.specs import wb_spec
from tests.specs.schema import Recorder, check, connector_paths, problems, uncovered

REPORT = ("POST", "/api/finance/v1/sales-reports/detailed")


@pytest.fixture
def wb() -> Iterator[Running]:
    yield from start(wildberries.create_app, history_offers=4)


def connect(wb: Running, token: str, recorder: Recorder) -> WildberriesConnector:
    return WildberriesConnector(
        WildberriesCredentials(token=token),
        WildberriesSettings(**settings()),
        base_url=wb.url,
        transport=recorder,
    )


def card(offer: str, subject: str = "105", title: str | None = None) -> CardPush:
    return CardPush(
        offer_id=offer, category_id=subject, title=title or f"Футболка {offer}", description="Хлопок"
    )


async def drive(conn: WildberriesConnector) -> None:
    """Everything the connector does, once."""
    await conn.push_cards([card("NEW-1"), card("NEW-2", subject="999")], wait=True)
    await conn.push_cards([card("NEW-1", title="Футболка новая")], wait=True)
    await conn.update_prices(  # one change, one quarantined (a third of the price): a partial upload
        [
            PriceUpdate(offer_id="SEED-001", price=Decimal(900), old_price=Decimal(1000)),
            PriceUpdate(offer_id="SEED-004", price=Decimal(100)),
        ],
        wait=True,
    )
    await conn.update_stocks([StockUpdate(offer_id="SEED-002", quantity=5)])
    await conn.read_stocks()
    await conn.read_orders(date(2026, 10, 1), date(2026, 10, 31))
    await conn.read_fees(["SEED-001"])


async def test_every_route_the_connector_calls_matches_the_published_spec(wb: Running, token: str) -> None:
    recorder = Recorder()
    conn = connect(wb, token, recorder)
    try:
        await drive(conn)
    finally:
        await conn.aclose()
    verdict = check(recorder.exchanges, wb_spec.routes())
    assert verdict.failures == [], "\n".join(verdict.failures)
    # Every path the connector's source names was exercised and checked.
    assert uncovered(connector_paths(wb_connector, wb_wire, wb_finance), recorder.exchanges) == set()
    assert len(verdict.routes) == 13, sorted(verdict.routes)


async def test_report_rows_carry_every_field_the_spec_names(wb: Running, token: str) -> None:
    """The detailed report row is the one place a partial row hid a misreading: each row must carry
    every field the published model names, so a renamed one shows up as missing."""
    recorder = Recorder()
    conn = connect(wb, token, recorder)
    try:
        records = await conn.read_orders(date(2026, 10, 1), date(2026, 10, 31))
    finally:
        await conn.aclose()
    rows = next(
        e.response_body for e in recorder.exchanges if (e.method, e.path) == REPORT and e.status == 200
    )
    schema = wb_spec.routes()[REPORT].responses["200"]()
    assert schema is not None
    item = schema["$defs"][schema["items"]["$ref"].rsplit("/", 1)[1]]
    named = set(item["properties"])
    assert all(set(row) == named for row in rows), sorted(named ^ set(rows[0]))
    assert records and {r.offer_id for r in records} <= {f"SEED-{i:03d}" for i in range(1, 5)}
    assert all(isinstance(row["retailPriceWithDisc"], str) for row in rows)  # money as decimal strings


def raw(wb: Running, token: str, recorder: Recorder) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=wb.url, headers={"Authorization": token}, transport=recorder)


async def test_error_answers_match_the_published_spec(wb: Running, token: str) -> None:
    recorder = Recorder()
    conn = connect(wb, token, recorder)
    try:
        first = await conn.update_prices([PriceUpdate(offer_id="SEED-003", price=Decimal(1234))], wait=True)
        # The same upload again: WB answers 208 with the first upload's id.
        again = await conn.update_prices([PriceUpdate(offer_id="SEED-003", price=Decimal(1234))])
    finally:
        await conn.aclose()
    assert first.ok and again.ok and again.task_ids == first.task_ids
    by_connector = len(recorder.exchanges)
    sb = wb.sandbox
    acc = sb.account(token)
    chrt = acc.cards["SEED-001"]["sizes"][0]["chrtID"]
    nm = acc.cards["SEED-001"]["nmID"]
    async with raw(wb, token, recorder) as client:
        assert (
            await client.put("/api/v3/stocks/999", json={"stocks": [{"chrtId": chrt, "amount": 1}]})
        ).status_code == 404
        assert (
            await client.put("/api/v3/stocks/1001", json={"stocks": [{"chrtId": 1, "amount": 1}]})
        ).status_code == 409
        assert (await client.put("/api/v3/stocks/1001", json={"stocks": []})).status_code == 400
        assert (await client.post("/api/v3/stocks/1001", json={"chrtIds": []})).status_code == 400
        current = acc.prices[nm]
        body = {"data": [{"nmID": nm, "price": current[0], "discount": current[1]}]}
        # The next upload equals the prices already in force: 400 "already set".
        assert (await client.post("/api/v2/upload/task", json=body)).status_code == 400
        assert (await client.post("/content/v2/cards/upload", json=[])).status_code == 400
        sb.config.faults.next_429 = 1
        assert (await client.get("/api/v3/warehouses")).status_code == 429
    async with httpx.AsyncClient(base_url=wb.url, transport=recorder) as anonymous:
        assert (await anonymous.get("/api/v3/warehouses")).status_code == 401
    verdict = check(recorder.exchanges[:by_connector], wb_spec.routes())
    assert verdict.failures == [], "\n".join(verdict.failures)
    # The probes below are deliberately malformed: only the answers are held to the spec.
    verdict = check(recorder.exchanges, wb_spec.routes(), requests=False)
    assert verdict.failures == [], "\n".join(verdict.failures)
    statuses = {(e.path, e.status) for e in recorder.exchanges}
    assert {
        ("/api/v2/upload/task", 208),
        ("/api/v3/stocks/1001", 409),
        ("/api/v3/stocks/999", 404),
    } <= statuses


def test_a_misnamed_field_fails_the_check() -> None:
    """The check is not vacuous: the old statistics-API name in a report row is refused."""
    schema = wb_spec.routes()[REPORT].responses["200"]()
    assert schema is not None
    row: dict[str, Any] = {"rrdId": 1, "vendorCode": "A-1", "retailPriceWithDisc": "100.00"}
    assert problems(schema, [row]) == []
    assert problems(schema, [{**row, "supplierArticle": "A-1"}]) != []
    assert problems(schema, [{**row, "retailPriceWithDisc": 100.0}]) != []
