"""Price read-back (``read_prices``) on WB, Ozon and Yandex Market, held to each vendor's published spec.

Each connector sets prices, then reads them back through its marketplace's price read — WB ``POST
/api/v2/list/goods/filter`` (``wb_spec``: generated from WB's OpenAPI), Ozon ``POST
/v5/product/info/prices`` (``ozon_spec``), YM ``POST /v2/businesses/{businessId}/offer-prices``
(``getDefaultPrices``; transcribed below from the official OpenAPI like the rest of ``ym_spec``) — and
every exchange is validated against the route's request and answer schemas. The read must give back
the selling price that was set, and nothing for an offer the marketplace does not have.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from decimal import Decimal

import pytest
from pydantic import SecretStr

from aimanager.connectors.base import PriceUpdate
from aimanager.connectors.ozon import prices as ozon_prices
from aimanager.connectors.ozon.config import OzonCredentials, OzonSettings
from aimanager.connectors.ozon.connector import OzonConnector
from aimanager.connectors.wildberries import prices as wb_prices
from aimanager.connectors.wildberries.config import WildberriesCredentials, WildberriesSettings
from aimanager.connectors.wildberries.connector import WildberriesConnector
from aimanager.connectors.yandex import prices as ym_prices
from aimanager.connectors.yandex.config import YandexCredentials, YandexSettings
from aimanager.connectors.yandex.connector import YandexMarketConnector
from aimanager_sandbox import ozon, wildberries, yandex
from tests.connectors.conftest import Running, settings, start
from tests.specs import ozon_spec, wb_spec, ym_spec
from tests.specs.schema import Recorder, RouteSpec, check, connector_paths, uncovered
from tests.specs.ym_spec import CURRENCY, DATETIME, SHOP_SKU, arr, obj, ok

BUSINESS, CAMPAIGN = 111, 222
_ozon_ids = itertools.count(47_000)

# getDefaultPrices (openapi/paths/businesses_businessId_offer-prices.yaml): GetDefaultPricesRequest →
# GetDefaultPricesResponse {status, result: OfferDefaultPriceListResponseDTO}.
YM_PRICES_REQUEST = obj(
    offerIds=arr(SHOP_SKU, minItems=1, maxItems=200, uniqueItems=True), archived={"type": "boolean"}
)
YM_PRICES_RESULT = ok(
    obj(
        ("offers",),
        offers=arr(
            obj(
                ("offerId",),
                offerId=SHOP_SKU,
                # OfferDefaultPriceDTO = GetPriceWithDiscountDTO (BasePriceDTO + discountBase +
                # UpdateTimeDTO) + minimumForBestseller + excludedFromBestsellers.
                price=obj(
                    ("value", "currencyId", "updatedAt"),
                    value={"type": "number", "minimum": 0},
                    currencyId=CURRENCY,
                    discountBase={"type": "number", "exclusiveMinimum": 0},
                    updatedAt=DATETIME,
                    minimumForBestseller={"type": "number", "exclusiveMinimum": 0, "maximum": 100_000_000},
                    excludedFromBestsellers={"type": "boolean"},
                ),
            )
        ),
        paging=obj(nextPageToken={"type": "string"}),
    )
)


def ym_routes() -> dict[tuple[str, str], RouteSpec]:
    return {
        **ym_spec.routes(),
        ("POST", "/v2/businesses/{businessId}/offer-prices"): ym_spec._route(
            YM_PRICES_REQUEST, YM_PRICES_RESULT
        ),
    }


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


def _reads(recorder: Recorder, path_part: str) -> int:
    return sum(1 for e in recorder.exchanges if path_part in e.path)


async def test_wb_reads_back_the_selling_price(wb: Running, token: str) -> None:
    recorder = Recorder()
    conn = WildberriesConnector(
        WildberriesCredentials(token=SecretStr(token)),
        WildberriesSettings(**settings()),
        base_url=wb.url,
        transport=recorder,
    )
    try:
        await conn.update_prices(
            [
                PriceUpdate(offer_id="SEED-001", price=Decimal(1234)),
                PriceUpdate(offer_id="SEED-002", price=Decimal(900), old_price=Decimal(1000)),
            ],
            wait=True,
        )
        held = await conn.read_prices(["SEED-001", "SEED-002", "NO-SUCH"])
    finally:
        await conn.aclose()
    # The discounted price is WB's selling price: 1000 at 10 % off is 900.
    assert held == {"SEED-001": Decimal(1234), "SEED-002": Decimal(900)}
    verdict = check(recorder.exchanges, wb_spec.routes())
    assert verdict.failures == [], "\n".join(verdict.failures)
    assert ("POST", "/api/v2/list/goods/filter") in verdict.routes
    assert uncovered(connector_paths(wb_prices), recorder.exchanges) == set()
    assert _reads(recorder, "/api/v2/list/goods/filter") == 1  # by article: one call for the lot


async def test_ozon_reads_back_the_selling_price(oz: Running) -> None:
    recorder = Recorder()
    client_id = str(next(_ozon_ids))
    conn = OzonConnector(
        OzonCredentials(client_id=client_id, api_key=SecretStr(f"key-{client_id}-0123456789")),
        OzonSettings(**settings()),
        base_url=oz.url,
        transport=recorder,
    )
    try:
        currency = await conn.account_currency()
        await conn.update_prices(
            [PriceUpdate(offer_id="SEED-001", price=Decimal("990.50"), currency=currency)]
        )
        held = await conn.read_prices(["SEED-001", "NO-SUCH"])
    finally:
        await conn.aclose()
    assert held == {"SEED-001": Decimal("990.50")}
    verdict = check(recorder.exchanges, ozon_spec.routes())
    assert verdict.failures == [], "\n".join(verdict.failures)
    assert ("POST", "/v5/product/info/prices") in verdict.routes
    assert uncovered(connector_paths(ozon_prices), recorder.exchanges) == set()


async def test_yandex_reads_back_the_business_price(ym: Running, token: str) -> None:
    recorder = Recorder()
    conn = YandexMarketConnector(
        YandexCredentials(api_key=SecretStr(token)),
        YandexSettings(**settings(business_id=BUSINESS, campaign_id=CAMPAIGN)),
        base_url=ym.url,
        transport=recorder,
    )
    try:
        await conn.update_prices(
            [
                PriceUpdate(offer_id="YM-000", price=Decimal(95_000), old_price=Decimal(100_000)),
                PriceUpdate(offer_id="YM-001", price=Decimal(40_000)),
            ]
        )
        held = await conn.read_prices(["YM-000", "YM-001", "NO-SUCH"])
    finally:
        await conn.aclose()
    assert held == {"YM-000": Decimal(95_000), "YM-001": Decimal(40_000)}
    verdict = check(recorder.exchanges, ym_routes())
    assert verdict.failures == [], "\n".join(verdict.failures)
    assert ("POST", "/v2/businesses/{businessId}/offer-prices") in verdict.routes
    assert uncovered(connector_paths(ym_prices), recorder.exchanges) == set()
