"""Ozon stock pairs refused for pace (someone else updated the pair inside Ozon's 30 s) are sent again
after the window, and reported failed only when the refusals outlast ``STOCK_PACE_RESENDS``."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from aimanager.connectors.base import PushReport, StockUpdate
from aimanager.connectors.ozon import limits as L
from aimanager.connectors.registry import make_connector, parse_account
from aimanager_sandbox import ozon
from tests.connectors.conftest import Running, settings, start

_ids = itertools.count(40_000)
WAREHOUSE = 22002
STOCKS = "/v2/products/stocks"


@pytest.fixture
def oz() -> Iterator[Running]:
    yield from start(ozon.create_app)


def _pushed_elsewhere(oz: Running, client_id: str, offer: str, *, at_offset: float) -> None:
    """The sandbox records ``offer``'s pair as updated ``at_offset`` marketplace seconds from now, as a
    push by another process or the seller's cabinet would."""
    sb = oz.sandbox
    acc = sb.account(client_id)
    with sb.lock:
        acc.stock_sent[(offer, WAREHOUSE)] = sb.now() + at_offset


async def _push_after(
    oz: Running, client_id: str, at_offset: float, updates: list[StockUpdate]
) -> PushReport:
    """Connect (warmed up by one read, so that the refusal is not outlived by start-up), mark
    SEED-001's pair as updated elsewhere, then push ``updates``."""
    creds = {"client_id": client_id, "api_key": f"key-{client_id}-0123456789"}
    conn = make_connector(parse_account("ozon", creds, settings(warehouse_id=str(WAREHOUSE))), oz.url)
    try:
        await conn.read_stocks(["SEED-001"])
        _pushed_elsewhere(oz, client_id, "SEED-001", at_offset=at_offset)
        return await conn.update_stocks(updates)
    finally:
        await conn.aclose()


async def test_a_pair_refused_for_pace_is_sent_again_after_the_window(oz: Running) -> None:
    client_id = str(next(_ids))
    report = await _push_after(
        oz,
        client_id,
        0.0,
        [StockUpdate(offer_id="SEED-001", quantity=5), StockUpdate(offer_id="SEED-002", quantity=6)],
    )
    assert report.ok and sorted(report.accepted) == ["SEED-001", "SEED-002"]
    acc = oz.sandbox.account(client_id)
    assert acc.stocks[("SEED-001", WAREHOUSE)] == 5 and acc.stocks[("SEED-002", WAREHOUSE)] == 6
    # One call for both, one more for the refused pair only, after the window.
    assert oz.sandbox.count(path=STOCKS) == 2 and report.requests == 2


async def test_refusals_past_the_bound_end_as_the_items_failure(oz: Running) -> None:
    client_id = str(next(_ids))
    report = await _push_after(  # the pair never opens again
        oz,
        client_id,
        1e9,
        [StockUpdate(offer_id="SEED-001", quantity=5), StockUpdate(offer_id="SEED-002", quantity=6)],
    )
    assert report.accepted == ["SEED-002"]
    assert [(e.offer_id, e.code) for e in report.failed] == [("SEED-001", "TOO_MANY_REQUESTS")]
    assert oz.sandbox.count(path=STOCKS) == 1 + L.STOCK_PACE_RESENDS
    assert oz.sandbox.account(client_id).stocks.get(("SEED-001", WAREHOUSE)) != 5
