"""One line of WB's detailed realisation report (``/api/finance/v1/sales-reports/detailed``).

The shape is the finance API's ``SalesReportsDetailedRes``: camelCase names (the seller's article is
``vendorCode``, not the statistics API's ``supplierArticle``), money as decimal strings ("1023.00"),
percentages and coefficients as numbers, and every field present on every line — the real report fills
what does not apply with zeros and empty strings, so this one does too. ``tests/specs`` holds it to
the published model field by field.
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from decimal import Decimal
from typing import Any

from aimanager_sandbox.common.history import HistoryRow

CENT = Decimal("0.01")

# Fields with no meaning in the sandbox: what the report carries when they do not apply.
_EMPTY: dict[str, Any] = {
    "giId": 0,
    "dlvPrc": 0,
    "fixTariffDateFrom": "",
    "fixTariffDateTo": "",
    "salePercent": 0,
    "officeName": "Ташкент",
    "shkId": 0,
    "giBoxTypeName": "",
    "productDiscountForReport": 0,
    "sellerPromo": 0,
    "spp": 0,
    "supRatingUp": 0,
    "isKgvpV2": 0,
    "ppvzReward": "0.00",
    "acquiringFee": "0.00",
    "acquiringPercent": 0,
    "paymentProcessing": "",
    "acquiringBank": "",
    "vwNds": "0.00",
    "ppvzOfficeName": "",
    "ppvzOfficeId": 0,
    "ppvzSupplierName": "",
    "ppvzSupplierInn": "",
    "declarationNumber": "",
    "bonusTypeName": "",
    "stickerId": "",
    "country": "UZ",
    "srvDbs": False,
    "penalty": "0.00",
    "additionalPayment": "0.00",
    "rebillLogisticCost": "0.00",
    "rebillLogisticOrg": "",
    "paidStorage": "0.00",
    "deduction": "0.00",
    "paidAcceptance": "0.00",
    "kiz": "",
    "isB2b": False,
    "trbxId": "",
    "installmentCofinancingAmount": "0.00",
    "wibesDiscountPercent": 0,
    "cashbackAmount": "0.00",
    "cashbackDiscount": "0.00",
    "cashbackCommissionChange": "0.00",
    "paymentSchedule": "",
    "deliveryMethod": "FBS",
    "sellerPromoId": 0,
    "sellerPromoDiscount": 0,
    "loyaltyId": 0,
    "loyaltyDiscount": 0,
    "uuidPromocode": "",
    "salePricePromocodeDiscountPrc": 0,
    "articleSubstitution": "",
    "salePriceAffiliatedDiscountPrc": 0,
    "agencyVat": 0,
    "salePriceWholesaleDiscountPrc": 0,
    "b2bCustomerTin": "",
    "paidWithSocialCertificate": False,
    "warehouseLogisticsCoeff": 1,
    "buyerTaxRegistrationReasonCode": "",
    "utdUcdNumber": "",
    "utdUcdDate": "",
}


def money(value: Decimal) -> str:
    """WB's money: a decimal string with two places."""
    return str(value.quantize(CENT))


def report_row(card: dict[str, Any] | None, h: HistoryRow, currency: str) -> dict[str, Any]:
    """The report line of one history row (``card``: the offer's card, if it still exists)."""
    revenue = h.unit_price * h.quantity
    commission = (revenue * h.commission_pct / 100).quantize(CENT)
    at = datetime.combine(h.day, time(12, 0), tzinfo=UTC).isoformat().replace("+00:00", "Z")
    day = h.day.isoformat()
    return {
        "reportId": 100_000 + h.day.toordinal() // 7,
        "dateFrom": day,
        "dateTo": day,
        "createDate": day,
        "currency": currency,
        "reportType": 1,
        "rrdId": h.seq,
        "subjectName": (card or {}).get("subjectName", ""),
        "nmId": card["nmID"] if card else 0,
        "brandName": (card or {}).get("brand", ""),
        "vendorCode": h.offer_id,
        "title": (card or {}).get("title", ""),
        "techSize": "0",
        "sku": "",
        "docTypeName": "Возврат" if h.returned else "Продажа",
        "quantity": h.quantity,
        "retailPrice": money(h.unit_price),
        "retailAmount": money(revenue),
        "commissionPercent": float(h.commission_pct),
        "sellerOperName": "Возврат" if h.returned else "Продажа",
        "orderDt": at,
        "saleDt": at,
        "rrDate": day,
        "retailPriceWithDisc": money(h.unit_price),
        "deliveryAmount": 0 if h.returned else 1,
        "returnAmount": 1 if h.returned else 0,
        "deliveryService": money(h.logistics * h.quantity),
        "kvwBase": float(h.commission_pct),
        "kvw": float(h.commission_pct),
        "ppvzSalesCommission": money(commission),
        "forPay": money(revenue - commission),
        "vw": money(commission),
        "orderId": h.seq,
        "orderUid": f"ou-{h.seq}",
        "srid": f"sr-{h.seq}",
        **_EMPTY,
    }
