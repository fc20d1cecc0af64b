"""Ozon wire mapping: our types ↔ Ozon request/response bodies (pure functions, no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from aimanager.connectors.base import CardPush, FeeInfo, ItemError, PriceUpdate, SaleKind, SaleRecord

DESCRIPTION_ATTRIBUTE = 4191  # annotation/description [U: community code, not in the spec]


def money(value: Decimal | None) -> str:
    return "0" if value is None else format(value.normalize(), "f")


def item_errors(offer_id: str, errors: list[dict[str, Any]]) -> list[ItemError]:
    return [
        ItemError(
            offer_id=offer_id,
            code=str(e.get("code") or "error"),
            message=str(e.get("message") or e.get("description") or ""),
        )
        for e in errors
    ]


def import_item(card: CardPush, currency: str, vat: str) -> dict[str, Any]:
    """One ``/v3/product/import`` item: description as attribute 4191, dimensions in mm and g."""
    attributes = [{"id": DESCRIPTION_ATTRIBUTE, "complex_id": 0, "values": [{"value": card.description}]}] + [
        {"id": int(k), "complex_id": 0, "values": [{"value": v}]}
        for k, v in card.attributes.items()
        if k.isdigit()
    ]
    item: dict[str, Any] = {
        "offer_id": card.offer_id,
        "name": card.title,
        "description_category_id": int(card.category_id),
        "type_id": int(card.type_id) if card.type_id else 0,
        "price": money(card.price),
        "old_price": money(card.old_price),
        "currency_code": currency,
        "vat": vat,
        "images": card.images,
        "attributes": attributes,
        "depth": card.length_mm or 0,
        "width": card.width_mm or 0,
        "height": card.height_mm or 0,
        "dimension_unit": "mm",
        "weight": card.weight_g or 0,
        "weight_unit": "g",
    }
    if card.barcode:
        item["barcode"] = card.barcode
    return item


def price_item(p: PriceUpdate, currency: str) -> dict[str, Any]:
    item = {
        "offer_id": p.offer_id,
        "price": money(p.price),
        "old_price": money(p.old_price),
        "currency_code": currency,
    }
    if p.min_price is not None:
        item["min_price"] = money(p.min_price)
    return item


def analytics_rows(data: list[dict[str, Any]]) -> list[tuple[str, str, Decimal, int]]:
    """``/v1/analytics/data`` lines as (sku, day, revenue, units)."""
    rows = []
    for d in data:
        sku, day = d["dimensions"][0]["id"], d["dimensions"][1]["id"]
        rows.append((sku, day, Decimal(str(d["metrics"][0])), int(d["metrics"][1])))
    return rows


def sale_records(
    rows: list[tuple[str, str, Decimal, int]], by_sku: dict[str, str], fees: dict[str, FeeInfo], currency: str
) -> list[SaleRecord]:
    """Order lines with their fees estimated from the product tariffs."""
    records = []
    for sku, day, revenue, units in rows:
        offer = by_sku.get(sku, f"sku:{sku}")
        fee = fees.get(offer)
        records.append(
            SaleRecord(
                date=datetime.fromisoformat(day).replace(tzinfo=UTC),
                offer_id=offer,
                quantity=units,
                revenue=revenue,
                commission=(revenue * fee.commission_pct / 100).quantize(Decimal("0.01"))
                if fee
                else Decimal(0),
                logistics=(fee.logistics or Decimal(0)) * units if fee else Decimal(0),
                kind=SaleKind.ORDER,
                currency=currency,
                fees_estimated=True,
            )
        )
    return records
