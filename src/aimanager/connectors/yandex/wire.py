"""Yandex Market wire mapping: our types ↔ YM request/response bodies (pure functions, no I/O)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from aimanager.connectors.base import CardPush, ItemError, PriceUpdate, SaleKind, SaleRecord
from aimanager.connectors.yandex import models as M


def offers_not_found(body: Any) -> set[str]:
    """Offer ids of ``OFFER_NOT_FOUND`` errors ("Offer not found: <offerId>") in an error body."""
    errors = body.get("errors") if isinstance(body, dict) else None
    return {
        str(e.get("message", "")).rpartition(": ")[2]
        for e in errors or []
        if isinstance(e, dict) and e.get("code") == "OFFER_NOT_FOUND"
    }


def offer_ru(card: CardPush, currency: str) -> dict[str, Any]:
    """The Russian ``offer-mappings/update`` item of one card."""
    extra = card.extra
    offer = M.UpdateOffer(
        offerId=card.offer_id,
        name=card.title,
        marketCategoryId=int(card.category_id),
        pictures=list(card.images) or None,
        vendor=card.brand,
        vendorCode=extra.get("vendor_code"),
        description=card.description,
        barcodes=[card.barcode] if card.barcode else None,
        manufacturerCountries=extra.get("countries"),
        weightDimensions=dimensions(card),
        parameterValues=[M.ParameterValue(**p) for p in extra.get("parameter_values", [])] or None,
        basicPrice=(
            M.BasePrice(value=card.price, currencyId=currency, discountBase=card.old_price)
            if card.price is not None
            else None
        ),
        commodityCodes=([{"code": extra["ikpu"], "type": "IKPU_CODE"}] if extra.get("ikpu") else None),
    )
    return {"offer": M.dump(offer)}


def dimensions(card: CardPush) -> M.WeightDimensions | None:
    """YM's weight and dimensions (cm, kg) from ours (mm, g), or ``None`` if any is unknown."""
    dims = (card.length_mm, card.width_mm, card.height_mm, card.weight_g)
    if any(d is None for d in dims):
        return None
    length, width, height, weight = (d or 0 for d in dims)
    # YM wants centimetres and kilograms.

    return M.WeightDimensions(
        length=Decimal(length) / 10,
        width=Decimal(width) / 10,
        height=Decimal(height) / 10,
        weight=Decimal(weight) / 1000,
    )


def price_item(update: PriceUpdate, currency: str) -> dict[str, Any] | ItemError:
    """One ``offer-prices/updates`` item, or the reason YM would refuse or distort it."""
    price, base = update.price, update.old_price
    if currency == "UZS" and (
        price != price.to_integral_value() or (base and base != base.to_integral_value())
    ):
        return ItemError(
            offer_id=update.offer_id, code="NON_INTEGER_UZS", message="UZS prices are whole sums"
        )
    if base is not None and base != price:
        discount = (base - price) / base * 100
        if not 5 <= discount <= 99:
            # YM drops or refuses a discount outside 5–99 %; say so instead of losing it silently.
            return ItemError(
                offer_id=update.offer_id,
                code="DISCOUNT_OUT_OF_RANGE",
                message=f"discount {discount:.1f}% is outside 5–99%",
            )
    body = M.OfferPriceItem(
        offerId=update.offer_id,
        price=M.BasePrice(value=price, currencyId=currency, discountBase=base if base != price else None),
    )
    return M.dump(body)


def sale_records(order: M.BusinessOrder) -> list[SaleRecord]:
    kind = {"DELIVERED": SaleKind.SALE, "RETURNED": SaleKind.RETURN}.get(order.status, SaleKind.ORDER)
    out = []
    for item in order.items:
        unit = item.prices.payment if item.prices and item.prices.payment else None
        out.append(
            SaleRecord(
                date=order.creationDate,
                offer_id=item.offerId,
                quantity=item.count,
                revenue=(unit.value * item.count) if unit else Decimal(0),
                kind=kind,
                order_id=str(order.orderId),
                currency=unit.currencyId if unit else None,
            )
        )
    return out


def report_request(
    kind: str, business_id: int, campaign_id: int, date_from: date, date_to: date
) -> dict[str, Any]:
    """The ``/v2/reports/{kind}/generate`` body: each report has its own request DTO. The united-*
    reports take a ``dateFrom``/``dateTo`` period (netting and services also accept date-times, a
    month or — netting — a payment order; the day form serves every use here); the stock report is a
    snapshot and takes a ``reportDate`` instead of a period."""
    body: dict[str, Any] = {"businessId": business_id, "campaignIds": [campaign_id]}
    if kind == "stocks-on-warehouses":
        return {**body, "reportDate": date_to.isoformat()}
    return {**body, "dateFrom": date_from.isoformat(), "dateTo": date_to.isoformat()}
