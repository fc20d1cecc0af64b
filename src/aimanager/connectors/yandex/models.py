"""Wire models of the Yandex Market Partner API (Market Yandex Go), as far as this connector uses it.

Field names are the API's own (camelCase) so that ``model_dump(by_alias=..., exclude_none=True)`` is the
request body; response models ignore fields we do not read, because the API adds fields often and an
unknown field must never break a read. Sizes and limits quoted here come from the official OpenAPI spec
(``yandex-market/yandex-market-partner-api``, see ``reference/marketplace-apis.md`` §5).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer


def _json_number(value: Decimal) -> int | float:
    # JSON has numbers, not decimals: whole amounts go out as ints (UZS prices are whole), the rest as
    # floats, which is what the API's ``number`` fields accept.
    return int(value) if value == value.to_integral_value() else float(value)


Num = Annotated[Decimal, PlainSerializer(_json_number, return_type=int | float, when_used="json")]

# Documented bulk sizes per call.
OFFER_MAPPINGS_PER_CALL = 100  # spec allows 500 but says "keep ≤100 — will be reduced"
OFFER_PRICES_PER_CALL = 500  # business-level offer-prices/updates
STOCKS_PER_CALL = 2000  # PUT campaigns/{id}/offers/stocks
OFFER_IDS_PER_READ = 100  # offer-mappings / offer-cards reads
STOCKS_READ_LIMIT = 100  # since 2026-08-04
ORDERS_PAGE_LIMIT = 50  # GetBusinessOrdersResponse.orders maxItems
MAX_BODY_BYTES = 512 * 1024  # larger bodies are answered 400

Language = Literal["RU", "UZ"]
CurrencyId = str  # "UZS" for Market Yandex Go; the spec also has RUR, BYN, KZT, USD, EUR


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


# --- envelopes and errors -------------------------------------------------------------------------


class ApiError(_Wire):
    """One ``errors[]`` item of an ``{status: "ERROR"}`` answer."""

    code: str
    message: str | None = None


class Paging(_Wire):
    """Forward-scrolling pager: pass ``nextPageToken`` back as ``page_token``."""

    nextPageToken: str | None = None
    prevPageToken: str | None = None


# --- offer mappings (cards) -----------------------------------------------------------------------


class WeightDimensions(_Wire):
    """Package dimensions in centimetres and gross weight in kilograms."""

    length: Num
    width: Num
    height: Num
    weight: Num


class ParameterValue(_Wire):
    """One category parameter value (``valueId`` for ENUM parameters, ``value`` otherwise)."""

    parameterId: int
    valueId: int | None = None
    value: str | None = None
    unitId: int | None = None


class BasePrice(_Wire):
    """A price in the offer itself (``basicPrice``) or in a price update."""

    value: Num
    currencyId: CurrencyId = "UZS"
    discountBase: Num | None = None


class UpdateOffer(_Wire):
    """``UpdateOfferDTO``: the offer part of an ``offer-mappings/update`` item.

    A new offer needs ``offerId, name, marketCategoryId, pictures, vendor, description``; a ``language=UZ``
    repeat carries only ``offerId``, ``name`` and ``description``.
    """

    offerId: str = Field(min_length=1, max_length=255)
    name: str | None = Field(default=None, max_length=256)
    marketCategoryId: int | None = None
    pictures: list[str] | None = None
    vendor: str | None = None
    vendorCode: str | None = None
    description: str | None = Field(default=None, max_length=6000)
    barcodes: list[str] | None = None
    manufacturerCountries: list[str] | None = None
    weightDimensions: WeightDimensions | None = None
    parameterValues: list[ParameterValue] | None = None
    basicPrice: BasePrice | None = None
    commodityCodes: list[dict[str, str]] | None = None
    tags: list[str] | None = None


class MappingRef(_Wire):
    """Link to an existing Market card."""

    marketSku: int | None = None


class OfferMappingItem(_Wire):
    """One ``offerMappings[]`` item."""

    offer: UpdateOffer
    mapping: MappingRef | None = None


class UpdateOfferMappingsRequest(_Wire):
    """Body of ``POST /v2/businesses/{businessId}/offer-mappings/update``."""

    offerMappings: list[OfferMappingItem] = Field(min_length=1, max_length=500)


class OfferMappingError(_Wire):
    """``OfferMappingErrorDTO``: why an offer was (errors) or was partly (warnings) not saved."""

    type: str
    message: str
    parameterId: int | None = None


class UpdateOfferMappingResult(_Wire):
    """Per-offer errors/warnings of an ``offer-mappings/update`` answer."""

    offerId: str
    errors: list[OfferMappingError] = Field(default_factory=list)
    warnings: list[OfferMappingError] = Field(default_factory=list)


class OfferError(_Wire):
    """``OfferErrorDTO`` of an offer card."""

    message: str | None = None
    comment: str | None = None


class OfferCard(_Wire):
    """``OfferCardDTO``: the processing state of one card after a push."""

    offerId: str
    cardStatus: str | None = None
    errors: list[OfferError] | None = None
    warnings: list[OfferError] | None = None


# Card statuses that mean "still being checked" and "rejected" (OfferCardStatusType).
CARD_PROCESSING = frozenset({"HAS_CARD_CAN_UPDATE_PROCESSING", "NO_CARD_PROCESSING"})
CARD_FAILED = frozenset({"HAS_CARD_CAN_UPDATE_ERRORS", "NO_CARD_ERRORS"})


# --- prices and stocks ----------------------------------------------------------------------------


class OfferPriceItem(_Wire):
    """One ``offers[]`` item of ``offer-prices/updates``."""

    offerId: str
    price: BasePrice


class UpdateBusinessPricesRequest(_Wire):
    """Body of ``POST /v2/businesses/{businessId}/offer-prices/updates``."""

    offers: list[OfferPriceItem] = Field(min_length=1, max_length=OFFER_PRICES_PER_CALL)


class StockItem(_Wire):
    """``items[0]`` of a stock update: the count and when it was true."""

    count: int = Field(ge=0, le=2_000_000_000)
    updatedAt: datetime | None = None


class SkuStock(_Wire):
    """One ``skus[]`` item: ``sku`` is the seller's ``offerId``."""

    sku: str
    items: list[StockItem] = Field(min_length=1, max_length=1)


class UpdateStocksRequest(_Wire):
    """Body of ``PUT /v2/campaigns/{campaignId}/offers/stocks``."""

    skus: list[SkuStock] = Field(min_length=1, max_length=STOCKS_PER_CALL)


class WarehouseStock(_Wire):
    """One stock figure of an offer in a warehouse (``type`` FIT = available to sell)."""

    type: str
    count: int


class WarehouseOffer(_Wire):
    """Stocks of one offer in one warehouse."""

    offerId: str
    stocks: list[WarehouseStock] = Field(default_factory=list)
    updatedAt: datetime | None = None


class WarehouseOffers(_Wire):
    """One warehouse of a stocks read."""

    warehouseId: int
    offers: list[WarehouseOffer] = Field(default_factory=list)


# --- orders and reports ---------------------------------------------------------------------------


class OrderDates(_Wire):
    """``OrderDatesFilterDTO`` (dates inclusive; the API caps the window at 30 days)."""

    creationDateFrom: date
    creationDateTo: date


class GetBusinessOrdersRequest(_Wire):
    """Body of ``POST /v1/businesses/{businessId}/orders``."""

    dates: OrderDates
    campaignIds: list[int] | None = None
    statuses: list[str] | None = None


class Money(_Wire):
    """A money value with its currency."""

    value: Num
    currencyId: str = "UZS"


class OrderItemPrices(_Wire):
    """The part of ``ItemPriceDTO`` we read: what the buyer paid per unit."""

    payment: Money | None = None


class BusinessOrderItem(_Wire):
    """``BusinessOrderItemDTO``."""

    id: int
    offerId: str
    offerName: str
    count: int
    prices: OrderItemPrices | None = None


class BusinessOrder(_Wire):
    """``BusinessOrderDTO`` (the fields analytics needs)."""

    orderId: int
    campaignId: int
    status: str
    substatus: str | None = None
    creationDate: datetime
    items: list[BusinessOrderItem] = Field(default_factory=list)


ReportStatus = Literal["PENDING", "PROCESSING", "FAILED", "DONE"]


class GenerateReportResult(_Wire):
    """``result`` of a ``/v2/reports/*/generate`` call."""

    reportId: str
    estimatedGenerationTime: int = 0  # milliseconds


class ReportInfo(_Wire):
    """``ReportInfoDTO`` of ``GET /v2/reports/info/{reportId}``."""

    status: ReportStatus
    subStatus: str | None = None
    generationRequestedAt: datetime
    generationFinishedAt: datetime | None = None
    file: str | None = None
    estimatedGenerationTime: int | None = None


def dump(model: BaseModel) -> dict[str, Any]:
    """The JSON body of a request model: API field names, no nulls, decimals as numbers."""
    return model.model_dump(mode="json", exclude_none=True)
