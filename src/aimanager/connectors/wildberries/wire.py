"""Wildberries wire mapping: our types ↔ WB request/response bodies (pure functions, no I/O)."""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from aimanager.connectors.base import CardPush, PriceUpdate, SaleKind, SaleRecord
from aimanager.connectors.errors import MarketplaceHTTPError

ALREADY_SET = "already set"


def wb_error_parser(status: int, body: Any) -> tuple[str | None, str | None]:
    """WB's error shapes by API: the gateway's ``{detail, code, requestId, …}`` (401/429), Content and
    Prices ``{data, error, errorText}``, Marketplace ``{code, message}`` and, for a stock 409, a list of
    ``{code, message, data}``."""
    if isinstance(body, dict):
        code = str(body["code"]) if body.get("code") else None
        if "errorText" in body:
            return code, body.get("errorText") or None
        return code, body.get("message") or body.get("detail") or body.get("title")
    if isinstance(body, list) and body and isinstance(body[0], dict):
        return body[0].get("code"), "; ".join(str(e.get("message")) for e in body if isinstance(e, dict))
    return None, None


def already_set(exc: MarketplaceHTTPError) -> bool:
    """Is this the Prices API's 400 "The specified prices and discounts are already set"?"""
    body = exc.body if isinstance(exc.body, dict) else {}
    return exc.status == 400 and ALREADY_SET in str(body.get("errorText") or "").lower()


def commission_of(row: dict[str, Any], country: str) -> Decimal | None:
    """The FBS commission % of one commission-table row, whichever country's shape it has."""
    names = ("kgvpMarketplaceUz", "kgvpMarketplace") if country == "uz" else ("kgvpMarketplace",)
    for name in (*names, "kgvpMarketplaceUz"):
        if row.get(name) is not None:
            return Decimal(str(row[name]))
    return None


def card_body(card: CardPush) -> dict[str, Any]:
    variant: dict[str, Any] = {
        "vendorCode": card.offer_id,
        "title": card.title,
        "description": card.description,
        "characteristics": [{"id": int(k), "value": [v]} for k, v in card.attributes.items() if k.isdigit()]
        + list(card.extra.get("characteristics", [])),
        "sizes": [
            {
                "techSize": card.extra.get("techSize", "0"),
                "wbSize": card.extra.get("wbSize", ""),
                "price": int(card.price) if card.price is not None else None,
                "skus": [card.barcode] if card.barcode else [],
            }
        ],
    }
    if card.brand:
        variant["brand"] = card.brand
    if card.length_mm and card.width_mm and card.height_mm:
        variant["dimensions"] = {
            "length": max(1, round(card.length_mm / 10)),
            "width": max(1, round(card.width_mm / 10)),
            "height": max(1, round(card.height_mm / 10)),
            "weightBrutto": round((card.weight_g or 0) / 1000, 3),
        }
    return {"subjectID": int(card.category_id), "variants": [variant]}


def price_item(nm_id: int, update: PriceUpdate) -> dict[str, Any]:
    if update.old_price is not None and update.old_price > update.price:
        base = update.old_price.quantize(Decimal(1), ROUND_HALF_UP)
        discount = ((1 - update.price / update.old_price) * 100).quantize(Decimal(1), ROUND_HALF_UP)
        return {"nmID": nm_id, "price": int(base), "discount": int(discount)}
    return {"nmID": nm_id, "price": int(update.price.quantize(Decimal(1), ROUND_HALF_UP)), "discount": 0}


def report_records(rows: list[dict[str, Any]]) -> list[SaleRecord]:
    """Realisation-report lines as ``SaleRecord``s."""
    return [report_record(r) for r in rows]


def _money(value: Any) -> Decimal:
    """A report amount: the finance API sends decimal strings ("1023.00"); empty means zero."""
    return Decimal(str(value)) if value not in (None, "") else Decimal(0)


def report_record(r: dict[str, Any]) -> SaleRecord:
    """One line of the finance API's detailed report (``SalesReportsDetailedRes``) as a ``SaleRecord``:
    the seller's article is ``vendorCode``; revenue = discounted unit price × quantity."""
    qty = int(r.get("quantity") or 0)
    return SaleRecord(
        date=datetime.fromisoformat(r["saleDt"]),
        offer_id=r["vendorCode"],
        quantity=qty,
        revenue=_money(r.get("retailPriceWithDisc")) * qty,
        commission=_money(r.get("ppvzSalesCommission")),
        logistics=_money(r.get("deliveryService")),
        kind=SaleKind.RETURN if r.get("docTypeName") == "Возврат" else SaleKind.SALE,
        order_id=r.get("srid"),
        currency=r.get("currency") or None,
    )
