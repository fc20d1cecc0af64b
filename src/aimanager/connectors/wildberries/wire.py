"""Wildberries wire mapping: our types ↔ WB request/response bodies (pure functions, no I/O)."""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from aimanager.connectors.base import CardPush, PriceUpdate, SaleKind, SaleRecord


def wb_error_parser(status: int, body: Any) -> tuple[str | None, str | None]:
    """WB has two error shapes: ``{title, detail, code, requestId, …}`` and ``{error, errorText, …}``."""
    if isinstance(body, dict):
        if "errorText" in body:
            return (str(body["code"]) if body.get("code") else None), body.get("errorText") or None
        return (str(body["code"]) if body.get("code") else None), body.get("detail") or body.get("title")
    if isinstance(body, list) and body and isinstance(body[0], dict):
        return body[0].get("code"), body[0].get("message")
    return None, None


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


def report_record(r: dict[str, Any]) -> SaleRecord:
    """One realisation-report line as a ``SaleRecord`` (revenue = discounted unit price × quantity)."""
    qty = int(r.get("quantity") or 0)
    return SaleRecord(
        date=datetime.fromisoformat(r["saleDt"]),
        offer_id=r["supplierArticle"],
        quantity=qty,
        revenue=Decimal(str(r["retailPriceWithDisc"])) * qty,
        commission=Decimal(str(r.get("ppvzSalesCommission") or 0)),
        logistics=Decimal(str(r.get("deliveryService") or 0)),
        kind=SaleKind.RETURN if r.get("docTypeName") == "Возврат" else SaleKind.SALE,
        order_id=r.get("srid"),
        currency=r.get("currency"),
    )
