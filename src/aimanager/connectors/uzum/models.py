"""Wire models of the Uzum Market seller OpenAPI, as far as this connector uses it.

Uzum answers in three envelope styles (``reference/marketplace-apis.md`` §2.1): a bare array, the
``{payload, errors[], timestamp, trace, error}`` envelope (stocks, FBS orders, expenses) and bespoke objects
(``{productList, totalProductsAmount}``, ``{orderItems, totalElements}``). Money is integer UZS;
timestamps are epoch milliseconds. Response models ignore unknown fields.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

# Bulk sizes. Uzum publishes none; these are the community's working values (reference §2.1, [U]).
STOCKS_PER_CALL = 100  # community stock pushers send 100 SKUs per POST /v2/fbs/sku/stocks
PAGE_SIZE = 100  # products / finance / stocks reads
MAX_STOCK_AMOUNT = 100_000  # community code caps the FBS amount here


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class UzumErrorItem(_Wire):
    """One ``errors[]`` item: ``code`` like ``fbs-2-seller-access-denied``."""

    code: str
    message: str | None = None
    detailMessage: str | None = None
    payload: dict[str, Any] | None = None


class Envelope(_Wire):
    """The ``{payload, errors, timestamp, trace, error}`` answer."""

    payload: Any = None
    errors: list[UzumErrorItem] = Field(default_factory=list)
    timestamp: int | None = None
    trace: str | None = None
    error: str | None = None


# --- prices ---------------------------------------------------------------------------------------


class PriceSku(_Wire):
    """One SKU of a price update: ``fullPrice`` is the struck-through price, ``sellPrice`` the real one."""

    skuId: int
    fullPrice: int = Field(ge=0)
    sellPrice: int = Field(ge=0)
    skuTitle: str | None = None


class SendPriceDataRequest(_Wire):
    """Body of ``POST /v1/product/{shopId}/sendPriceData`` — one product per call."""

    productId: int
    skuList: list[PriceSku] = Field(min_length=1)


# --- stocks ---------------------------------------------------------------------------------------


class SkuAmount(_Wire):
    """One ``skuAmountList[]`` item; ``barcode`` is the key of an update, ``amount`` the FBS stock."""

    skuId: int | None = None
    skuTitle: str | None = None
    productTitle: str | None = None
    barcode: str
    amount: int = Field(ge=0, le=MAX_STOCK_AMOUNT)
    fbsAllowed: bool | None = None
    dbsAllowed: bool | None = None
    fbsLinked: bool = True
    dbsLinked: bool = False
    sellerSkuCode: str | None = None


class StocksUpdateRequest(_Wire):
    """Body of ``POST /v2/fbs/sku/stocks``."""

    skuAmountList: list[SkuAmount] = Field(min_length=1, max_length=STOCKS_PER_CALL)


# --- products -------------------------------------------------------------------------------------


class ProductSku(_Wire):
    """The fields of a ``skuList[]`` item this connector reads."""

    skuId: int
    skuTitle: str | None = None
    barcode: str | None = None
    article: str | None = None
    sellerItemCode: str | None = None
    ikpu: str | None = None
    price: int | None = None
    commission: float | None = None
    quantityActive: int | None = None
    quantityFbs: int | None = None


class Product(_Wire):
    """One ``productList[]`` item."""

    productId: int
    title: str | None = None
    category: str | None = None
    commission: float | None = None
    skuList: list[ProductSku] = Field(default_factory=list)


class ProductPage(_Wire):
    """``GET /v1/product/shop/{shopId}`` answer."""

    productList: list[Product] = Field(default_factory=list)
    totalProductsAmount: int = 0


# --- finance --------------------------------------------------------------------------------------


class FinanceOrderItem(_Wire):
    """One ``orderItems[]`` item of ``GET /v1/finance/orders`` (integer UZS, ms timestamps)."""

    id: int
    status: str
    date: int
    orderId: int
    productId: int | None = None
    productTitle: str | None = None
    skuTitle: str | None = None
    shopId: int | None = None
    sellPrice: int = 0
    amount: int = 0
    amountReturns: int = 0
    commission: int = 0
    sellerProfit: int = 0
    purchasePrice: int | None = None
    logisticDeliveryFee: int = 0
    withdrawnProfit: int = 0
    cancelled: int = 0


class FinanceOrdersPage(_Wire):
    """``GET /v1/finance/orders`` answer."""

    orderItems: list[FinanceOrderItem] = Field(default_factory=list)
    totalElements: int = 0


def from_ms(value: int) -> datetime:
    """An Uzum epoch-milliseconds timestamp as a tz-aware UTC datetime."""
    return datetime.fromtimestamp(value / 1000, tz=UTC)


def to_ms(value: datetime) -> int:
    """A tz-aware datetime as epoch milliseconds (naive datetimes are refused: they hide bugs)."""
    if value.tzinfo is None:
        raise ValueError("naive datetime; pass a tz-aware UTC time")
    return int(value.timestamp() * 1000)
