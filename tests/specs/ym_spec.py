"""Yandex Market routes the connector uses, as the official OpenAPI file describes them.

Source: ``yandex-market/yandex-market-partner-api``, ``openapi/`` at commit ``1318e9b`` (2026-07-17).
No registry package ships that file or models generated from a current version of it: the one
generated client on PyPI (``yandex_api_client`` 0.0.2) predates the business-orders method and pins
``certifi<2025``, which would age the product's CA bundle. So the schemas below are **transcribed**
from the spec — names, types, required fields and enums of every DTO on these routes, nothing added.
Nested DTOs the sandbox never sends (courier, pickup, tracks …) are kept as plain objects. Re-check
against a newer spec commit when the API changes (``docs/marketplace-specs.md`` says how).
"""

from __future__ import annotations

import functools
from typing import Any

from tests.specs.schema import RouteSpec

SOURCE = "yandex-market-partner-api openapi @1318e9b (2026-07-17), transcribed"

J = dict[str, Any]


def obj(required: tuple[str, ...] = (), **props: J) -> J:
    return {"type": "object", "required": list(required), "properties": props, "additionalProperties": False}


def arr(items: J, **limits: int) -> J:
    return {"type": "array", "items": items, **limits}


def enum(*values: str) -> J:
    return {"type": "string", "enum": list(values)}


STR: J = {"type": "string"}
INT: J = {"type": "integer"}
NUM: J = {"type": "number"}
BOOL: J = {"type": "boolean"}
DATE: J = {"type": "string", "format": "date"}
DATETIME: J = {"type": "string", "format": "date-time"}
ANY_OBJECT: J = {"type": "object"}  # a DTO the sandbox never sends: not transcribed further
SHOP_SKU: J = {
    "type": "string",
    "minLength": 1,
    "maxLength": 255,
    "pattern": r"^(?=.*\S.*)[^\x00-\x08\x0A-\x1f\x7f]{1,255}$",
}
CAMPAIGN_ID: J = {"type": "integer", "minimum": 1}
BUSINESS_ID: J = {"type": "integer", "minimum": 1}

# CurrencyType (abridged to the codes a seller of these markets can meet; the spec lists ~130).
CURRENCY = enum(
    "RUR", "USD", "EUR", "UAH", "BYR", "BYN", "KZT", "CNY", "UZS", "AMD", "GEL", "KGS", "TJS", "AZN"
)
STATUS = enum("OK", "ERROR")

API_ERROR = obj(
    ("status",),
    status=STATUS,
    errors={"type": ["array", "null"], "items": obj(("code",), code=STR, message=STR), "minItems": 1},
)
EMPTY = obj(("status",), status=STATUS)
PAGER = obj(nextPageToken=STR)


def ok(result: J | None = None, **top: J) -> J:
    """An ``ApiResponse``: ``status`` plus the method's ``result`` (or top-level fields)."""
    props = {"status": STATUS, **top}
    if result is not None:
        props["result"] = result
    return obj(("status",), **props)


# --- offer mappings -------------------------------------------------------------------------------
PARAMETER_VALUE = obj(
    ("parameterId",), parameterId={"type": "integer", "minimum": 1}, unitId=INT, valueId=INT, value=STR
)
BASE_PRICE = obj(("value", "currencyId"), value={"type": "number", "minimum": 0}, currencyId=CURRENCY)
PRICE_WITH_DISCOUNT = obj(
    ("value", "currencyId"),
    value={"type": "number", "minimum": 0},
    currencyId=CURRENCY,
    discountBase={"type": "number", "exclusiveMinimum": 0},
)
WEIGHT_DIMENSIONS = obj(
    ("length", "width", "height", "weight"),
    length={"type": "number", "minimum": 0},
    width={"type": "number", "minimum": 0},
    height={"type": "number", "minimum": 0},
    weight={"type": "number", "minimum": 0},
)
STRINGS = arr(STR, minItems=1)
UPDATE_OFFER = obj(
    ("offerId",),
    # BaseOfferDTO
    offerId=SHOP_SKU,
    name={"type": "string", "maxLength": 256},
    marketCategoryId={"type": "integer", "exclusiveMinimum": 0},
    category=STR,
    pictures=arr({"type": "string", "minLength": 1, "maxLength": 2000}, maxItems=30),
    videos=arr(STR, maxItems=6),
    manuals=arr(ANY_OBJECT, maxItems=6),
    vendor=STR,
    barcodes=STRINGS,
    description={"type": "string", "maxLength": 6000},
    manufacturerCountries=STRINGS,
    weightDimensions=WEIGHT_DIMENSIONS,
    vendorCode=STR,
    tags=arr(STR, minItems=1, maxItems=50),
    shelfLife=ANY_OBJECT,
    lifeTime=ANY_OBJECT,
    guaranteePeriod=ANY_OBJECT,
    customsCommodityCode=STR,
    commodityCodes=arr(
        obj(("code", "type"), code=STR, type=enum("CUSTOMS_COMMODITY_CODE", "IKPU_CODE")), minItems=1
    ),
    certificates=arr(STR, maxItems=6),
    boxCount=INT,
    condition=ANY_OBJECT,
    type=STR,
    downloadable=BOOL,
    adult=BOOL,
    age=ANY_OBJECT,
    params=arr(ANY_OBJECT),
    # UpdateOfferDTO
    parameterValues=arr(PARAMETER_VALUE, maxItems=300),
    basicPrice=PRICE_WITH_DISCOUNT,
    purchasePrice=BASE_PRICE,
    additionalExpenses=BASE_PRICE,
    firstVideoAsCover=BOOL,
    deleteParameters=arr(STR),
)
MAPPING_ERROR = obj(("type", "message"), type=STR, parameterId=INT, message=STR)
OFFER_MAPPINGS_UPDATE = obj(
    ("offerMappings",),
    offerMappings=arr(
        obj(("offer",), offer=UPDATE_OFFER, mapping=obj(marketSku=INT)), minItems=1, maxItems=500
    ),
    onlyPartnerMediaContent=BOOL,
)
OFFER_MAPPINGS_RESULT = ok(
    results=arr(obj(("offerId",), offerId=SHOP_SKU, errors=arr(MAPPING_ERROR), warnings=arr(MAPPING_ERROR)))
)

CARD_STATUS = enum(
    "HAS_CARD_CAN_NOT_UPDATE",
    "HAS_CARD_CAN_UPDATE",
    "HAS_CARD_CAN_UPDATE_ERRORS",
    "HAS_CARD_CAN_UPDATE_PROCESSING",
    "NO_CARD_NEED_CONTENT",
    "NO_CARD_MARKET_WILL_CREATE",
    "NO_CARD_ERRORS",
    "NO_CARD_PROCESSING",
    "NO_CARD_ADD_TO_CAMPAIGN",
)
OFFER_ERROR = obj(message=STR, comment=STR)
OFFER_CARDS_REQUEST = obj(
    offerIds=arr(SHOP_SKU, minItems=1, maxItems=200),
    cardStatuses=arr(CARD_STATUS),
    categoryIds=arr(INT, maxItems=200),
    withRecommendations=BOOL,
)
OFFER_CARDS_RESULT = ok(
    obj(
        ("offerCards",),
        offerCards=arr(
            obj(
                ("offerId",),
                offerId=SHOP_SKU,
                mapping=obj(
                    marketSku=INT,
                    marketSkuName=STR,
                    marketModelName=STR,
                    marketCategoryId=INT,
                    marketCategoryName=STR,
                ),
                parameterValues=arr(PARAMETER_VALUE),
                cardStatus=CARD_STATUS,
                contentRating=INT,
                averageContentRating=INT,
                contentRatingStatus=STR,
                recommendations=arr(ANY_OBJECT),
                groupId=STR,
                errors=arr(OFFER_ERROR),
                warnings=arr(OFFER_ERROR),
            )
        ),
        paging=PAGER,
    )
)

# --- prices and stocks ----------------------------------------------------------------------------
BUSINESS_PRICES = obj(
    ("offers",),
    offers=arr(
        obj(
            ("offerId", "price"),
            offerId=SHOP_SKU,
            price=obj(
                ("value", "currencyId"),
                value={"type": "number", "minimum": 0},
                currencyId=CURRENCY,
                discountBase={"type": "number", "exclusiveMinimum": 0},
                minimumForBestseller={"type": "number", "minimum": 0, "maximum": 100_000_000},
            ),
        ),
        minItems=1,
        maxItems=500,
    ),
)
UPDATE_STOCKS = obj(
    ("skus",),
    skus=arr(
        obj(
            ("sku", "items"),
            sku=SHOP_SKU,
            items=arr(
                obj(
                    ("count",),
                    count={"type": "integer", "minimum": 0, "maximum": 2_000_000_000},
                    updatedAt=DATETIME,
                ),
                minItems=1,
                maxItems=1,
            ),
        ),
        minItems=1,
        maxItems=2000,
    ),
)
STOCK_TYPE = enum("FIT", "FREEZE", "AVAILABLE", "QUARANTINE", "UTILIZATION", "DEFECT", "EXPIRED")
WAREHOUSE_STOCKS_REQUEST = obj(
    stocksWarehouseId={"type": "integer", "minimum": 1},
    hasStocks=BOOL,
    withTurnover=BOOL,
    archived=BOOL,
    offerIds=arr(SHOP_SKU, minItems=1, maxItems=500),
)
WAREHOUSE_STOCKS_RESULT = ok(
    obj(
        ("warehouses",),
        paging=PAGER,
        warehouses=arr(
            obj(
                ("warehouseId", "offers"),
                warehouseId=INT,
                offers=arr(
                    obj(
                        ("offerId", "stocks"),
                        offerId=SHOP_SKU,
                        turnoverSummary=ANY_OBJECT,
                        stocks=arr(obj(("type", "count"), type=STOCK_TYPE, count=INT)),
                        updatedAt=DATETIME,
                    )
                ),
            )
        ),
    )
)

# --- orders ---------------------------------------------------------------------------------------
ORDER_STATUS = enum(
    "PLACING",
    "RESERVED",
    "UNPAID",
    "PROCESSING",
    "DELIVERY",
    "PICKUP",
    "DELIVERED",
    "CANCELLED",
    "PENDING",
    "PARTIALLY_RETURNED",
    "RETURNED",
    "UNKNOWN",
)
PROGRAM = enum("FBY", "FBS", "DBS", "EXPRESS", "LAAS")
MONEY = obj(("value", "currencyId"), value=NUM, currencyId=CURRENCY)
VAT = enum(
    "NO_VAT",
    "VAT_0",
    "VAT_10",
    "VAT_10_110",
    "VAT_20",
    "VAT_20_120",
    "VAT_18",
    "VAT_18_118",
    "VAT_12",
    "VAT_05",
    "VAT_07",
    "VAT_22",
    "UNKNOWN_VALUE",
)
BUSINESS_ORDERS_REQUEST = obj(
    orderIds=arr(INT, minItems=1, maxItems=50),
    externalOrderIds=arr({"type": "string", "minLength": 1}, minItems=1, maxItems=50),
    programTypes=arr(PROGRAM, minItems=1),
    campaignIds=arr(CAMPAIGN_ID, minItems=1, maxItems=50),
    statuses=arr(ORDER_STATUS, minItems=1),
    substatuses=arr(STR, minItems=1),
    dates=obj(
        creationDateFrom=DATE,
        creationDateTo=DATE,
        shipmentDateFrom=DATE,
        shipmentDateTo=DATE,
        updateDateFrom=DATETIME,
        updateDateTo=DATETIME,
    ),
    fake=BOOL,
    waitingForCancellationApprove=BOOL,
    sourcePlatforms=arr(enum("MARKET", "OZON", "WILDBERRIES", "OTHER"), minItems=1),
)
BUSINESS_ORDER = obj(
    (
        "orderId",
        "campaignId",
        "status",
        "substatus",
        "creationDate",
        "paymentType",
        "paymentMethod",
        "fake",
        "items",
        "delivery",
    ),
    orderId=INT,
    campaignId=CAMPAIGN_ID,
    programType=PROGRAM,
    externalOrderId={"type": "string", "minLength": 1},
    status=ORDER_STATUS,
    substatus=STR,
    creationDate=DATETIME,
    updateDate=DATETIME,
    paymentType=enum("PREPAID", "POSTPAID", "UNKNOWN"),
    paymentMethod=enum(
        "CASH_ON_DELIVERY",
        "CARD_ON_DELIVERY",
        "BOUND_CARD_ON_DELIVERY",
        "BNPL_BANK_ON_DELIVERY",
        "BNPL_ON_DELIVERY",
        "YANDEX",
        "APPLE_PAY",
        "EXTERNAL_CERTIFICATE",
        "CREDIT",
        "GOOGLE_PAY",
        "TINKOFF_CREDIT",
        "SBP",
        "TINKOFF_INSTALLMENTS",
        "B2B_ACCOUNT_PREPAYMENT",
        "B2B_ACCOUNT_POSTPAYMENT",
        "MICROCREDIT",
        "BNPL_TBYB",
        "UNKNOWN",
    ),
    fake=BOOL,
    items=arr(
        obj(
            ("id", "offerId", "offerName", "count"),
            id=INT,
            offerId=SHOP_SKU,
            offerName=STR,
            count=INT,
            prices=obj(payment=MONEY, subsidy=MONEY, cashback=MONEY, vat=VAT),
            instances=arr(ANY_OBJECT, minItems=1),
            requiredInstanceTypes=arr(STR, minItems=1),
            itemStatuses=arr(obj(("status", "count"), status=STR, count=INT), minItems=1),
            tags=arr(STR, minItems=1),
        )
    ),
    prices=obj(
        payment=MONEY, subsidy=MONEY, cashback=MONEY, delivery=obj(payment=MONEY, subsidy=MONEY, vat=VAT)
    ),
    delivery=obj(
        ("type", "serviceName", "deliveryServiceId", "deliveryPartnerType", "dates"),
        type=enum("DELIVERY", "PICKUP", "POST", "DIGITAL", "UNKNOWN"),
        serviceName=STR,
        deliveryServiceId=INT,
        warehouseId=STR,
        deliveryPartnerType=enum("SHOP", "YANDEX_MARKET", "UNKNOWN"),
        dispatchType=enum("UNKNOWN", "BUYER", "MARKET_BRANDED_OUTLET", "SHOP_OUTLET"),
        dates=obj(("fromDate",), fromDate=DATE, toDate=DATE, fromTime=STR, toTime=STR, realDeliveryDate=DATE),
        shipment=obj(("shipmentDate",), id=INT, shipmentDate=DATE, shipmentTime=STR),
        courier=ANY_OBJECT,
        pickup=ANY_OBJECT,
        transfer=ANY_OBJECT,
        boxesLayout=arr(ANY_OBJECT),
        tracks=arr(ANY_OBJECT),
        estimated=BOOL,
        receiveBarcode=STR,
        receiveCode=STR,
        digitalGoods=ANY_OBJECT,
    ),
    services=obj(liftType=STR),
    buyerType=enum("PERSON", "BUSINESS"),
    notes=STR,
    cancelRequested=BOOL,
    sourcePlatform=enum("MARKET", "OZON", "WILDBERRIES", "OTHER"),
)
BUSINESS_ORDERS = obj(("orders",), orders=arr(BUSINESS_ORDER), paging=PAGER)

# --- reports --------------------------------------------------------------------------------------
CAMPAIGNS = arr(CAMPAIGN_ID)
PLACEMENTS = arr(enum("FBS", "FBY", "DBS", "LAAS"))
MONTH_OF_YEAR = obj(("year", "month"), year=INT, month={"type": "integer", "minimum": 1, "maximum": 12})
REPORT_REQUESTS: dict[str, J] = {
    "united-orders": obj(
        ("businessId", "dateFrom", "dateTo"),
        businessId=BUSINESS_ID,
        dateFrom=DATE,
        dateTo=DATE,
        campaignIds=CAMPAIGNS,
        promoId=STR,
    ),
    "united-netting": obj(
        ("businessId",),
        businessId=BUSINESS_ID,
        dateTimeFrom=DATETIME,
        dateTimeTo=DATETIME,
        dateFrom=DATE,
        dateTo=DATE,
        bankOrderId=INT,
        bankOrderDateTime=DATETIME,
        monthOfYear=MONTH_OF_YEAR,
        placementPrograms=PLACEMENTS,
        inns=arr(STR),
        campaignIds=CAMPAIGNS,
    ),
    "united-marketplace-services": obj(
        ("businessId",),
        businessId=BUSINESS_ID,
        dateTimeFrom=DATETIME,
        dateTimeTo=DATETIME,
        dateFrom=DATE,
        dateTo=DATE,
        yearFrom=INT,
        monthFrom=INT,
        yearTo=INT,
        monthTo=INT,
        placementPrograms=PLACEMENTS,
        inns=arr(STR),
        campaignIds=CAMPAIGNS,
    ),
    "stocks-on-warehouses": obj(
        campaignId=CAMPAIGN_ID,
        businessId=BUSINESS_ID,
        warehouseIds=arr(INT),
        reportDate=DATE,
        categoryIds=arr({"type": "integer", "minimum": 0}),
        hasStocks=BOOL,
        campaignIds=CAMPAIGNS,
    ),
}
GENERATED = ok(obj(("reportId", "estimatedGenerationTime"), reportId=STR, estimatedGenerationTime=INT))
REPORT_INFO = ok(
    obj(
        ("status", "generationRequestedAt"),
        status=enum("PENDING", "PROCESSING", "FAILED", "DONE"),
        subStatus=enum("NO_DATA", "TOO_LARGE", "RESOURCE_NOT_FOUND"),
        generationRequestedAt=DATETIME,
        generationFinishedAt=DATETIME,
        file=STR,
        estimatedGenerationTime=INT,
    )
)

# --- order stats: POST /v2/campaigns/{campaignId}/stats/orders (getOrdersStats) ---------------------
ORDER_STATS_STATUS = enum(
    "CANCELLED_BEFORE_PROCESSING", "CANCELLED_IN_DELIVERY", "CANCELLED_IN_PROCESSING", "DELIVERY",
    "DELIVERED", "PARTIALLY_DELIVERED", "PARTIALLY_RETURNED", "PENDING", "PICKUP", "PROCESSING",
    "RESERVED", "RETURNED", "UNKNOWN", "UNPAID", "LOST",
)  # fmt: skip
STATS_ORDERS_REQUEST = obj(
    dateFrom=DATE,
    dateTo=DATE,
    updateFrom=DATE,
    updateTo=DATE,
    orders={"type": ["array", "null"], "items": INT, "minItems": 1, "uniqueItems": True},
    statuses={"type": ["array", "null"], "items": ORDER_STATS_STATUS, "minItems": 1, "uniqueItems": True},
    hasCis=BOOL,
)
STATS_PRICE = obj(type=enum("BUYER", "CASHBACK", "MARKETPLACE"), costPerItem=NUM, total=NUM)
STATS_ITEM = obj(
    offerName=STR,
    marketSku={"type": "integer", "minimum": 1},
    shopSku=SHOP_SKU,
    count=INT,
    prices={"type": ["array", "null"], "items": STATS_PRICE, "minItems": 1},
    warehouse=obj(id=INT, name=STR),
    details={"type": ["array", "null"], "items": ANY_OBJECT, "minItems": 1},
    cisList={"type": ["array", "null"], "items": STR, "minItems": 1, "uniqueItems": True},
    initialCount=INT,
    bidFee={"type": "integer", "minimum": 0, "maximum": 10000},
    cofinanceThreshold=NUM,
    cofinanceValue=NUM,
)
STATS_COMMISSION = obj(
    type=enum(
        "FEE",
        "FULFILLMENT",
        "LOYALTY_PARTICIPATION_FEE",
        "AUCTION_PROMOTION",
        "INSTALLMENT",
        "DELIVERY_TO_CUSTOMER",
        "EXPRESS_DELIVERY_TO_CUSTOMER",
        "AGENCY",
        "PAYMENT_TRANSFER",
        "RETURNED_ORDERS_STORAGE",
        "SORTING",
        "INTAKE_SORTING",
        "RETURN_PROCESSING",
        "ILLIQUID_GOODS_SALE",
        "CROSSREGIONAL_DELIVERY",
        "FULFILLMENT_WITHDRAW",
        "ITEM_BOOKING",
    ),
    actual=NUM,
)
STATS_PAYMENT = obj(
    id=STR,
    date=DATE,
    type=enum("PAYMENT", "REFUND"),
    source=enum("BUYER", "CASHBACK", "MARKETPLACE", "MARKET_CESSION", "SPLIT"),
    total=NUM,
    paymentOrder=ANY_OBJECT,
)
STATS_ORDER = obj(
    ("items", "payments", "commissions", "currency"),
    id=INT,
    creationDate=DATE,
    statusUpdateDate=DATETIME,
    status=ORDER_STATS_STATUS,
    partnerOrderId=STR,
    paymentType=enum("POSTPAID", "PREPAID", "UNKNOWN"),
    fake=BOOL,
    deliveryRegion=ANY_OBJECT,
    items=arr(STATS_ITEM),
    initialItems={"type": ["array", "null"], "items": STATS_ITEM, "minItems": 1},
    payments=arr(STATS_PAYMENT),
    commissions=arr(STATS_COMMISSION),
    subsidies={"type": ["array", "null"], "items": ANY_OBJECT, "minItems": 1},
    currency=CURRENCY,
)
STATS_ORDERS = ok(obj(("orders",), orders=arr(STATS_ORDER), paging=PAGER))

ERRORS = ("400", "401", "403", "404", "420", "423", "500")


def _route(request: J | None, answer: J) -> RouteSpec:
    responses = {"200": (lambda: answer)} | {status: (lambda: API_ERROR) for status in ERRORS}
    return RouteSpec(source=SOURCE, request=lambda: request, responses=responses)


@functools.cache
def routes() -> dict[tuple[str, str], RouteSpec]:
    """``(METHOD, path template)`` → the transcribed request and response schemas."""
    table = {
        ("POST", "/v2/businesses/{businessId}/offer-mappings/update"): _route(
            OFFER_MAPPINGS_UPDATE, OFFER_MAPPINGS_RESULT
        ),
        ("POST", "/v2/businesses/{businessId}/offer-cards"): _route(OFFER_CARDS_REQUEST, OFFER_CARDS_RESULT),
        ("POST", "/v2/businesses/{businessId}/offer-prices/updates"): _route(BUSINESS_PRICES, EMPTY),
        ("PUT", "/v2/campaigns/{campaignId}/offers/stocks"): _route(UPDATE_STOCKS, EMPTY),
        ("POST", "/v2/campaigns/{campaignId}/offers/stocks"): _route(
            WAREHOUSE_STOCKS_REQUEST, WAREHOUSE_STOCKS_RESULT
        ),
        ("POST", "/v1/businesses/{businessId}/orders"): _route(BUSINESS_ORDERS_REQUEST, BUSINESS_ORDERS),
        ("GET", "/v2/reports/info/{reportId}"): _route(None, REPORT_INFO),
        ("POST", "/v2/campaigns/{campaignId}/stats/orders"): _route(STATS_ORDERS_REQUEST, STATS_ORDERS),
    }
    for kind, request in REPORT_REQUESTS.items():
        table[("POST", f"/v2/reports/{kind}/generate")] = _route(request, GENERATED)
    return table
