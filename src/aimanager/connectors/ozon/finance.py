"""Ozon sales with their real charges: the daily accruals, ``POST /v1/finance/accrual/by-day``.

``read_orders`` (``/v1/analytics/data``) gives *ordered* units and revenue — orders, not sales, with
fees only estimated — so a report built on it left Ozon out (orders are not sales). Ozon's money
statement moved from ``/v3/finance/transaction/list`` (shut down 2026-09-08) to the accrual methods;
``accrual/by-day`` lists one day's accruals, paged by ``last_id``. Shapes are those of ``ozon-sdk``'s
``seller_api.beta`` models (generated from Ozon's Swagger), which the spec test holds us to.

From each accrual of category ``POSTING``, every product of ``posting.products`` is a line:

* revenue = ``commission.sale_amount`` (negative on a return: the line is then a return of that sum);
* commission = −``commission.commission`` (Ozon books charges negative; a refund on a return is
  positive, so it lowers the fees);
* logistics = −``delivery.total_accrued`` (delivery and its services, charged both ways);
* quantity = |sale amount| ÷ ``commission.seller_price`` (the unit price), at least 1;
* the product's Ozon ``sku`` is mapped to the seller's ``offer_id`` through ``/v4/product/info/stocks``.

Accruals not tied to a product (``NON_ITEM``: subscriptions, fines; ``CONTAINER_FEES``) are left out of
unit economics.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from aimanager.connectors.base import SaleKind, SaleRecord

if TYPE_CHECKING:
    from aimanager.connectors.ozon.connector import OzonConnector

ACCRUALS_PATH = "/v1/finance/accrual/by-day"
MAX_PAGES_PER_DAY = 1000  # a guard against a cursor that never ends


def money(value: Any) -> Decimal:
    """An Ozon ``Money`` (``{amount: "12.50", currency}``) as a Decimal; 0 when absent or unreadable."""
    if not isinstance(value, dict):
        return Decimal(0)
    try:
        return Decimal(str(value.get("amount") or 0))
    except InvalidOperation:
        return Decimal(0)


async def read_sales(conn: OzonConnector, date_from: date, date_to: date) -> list[SaleRecord]:
    """Sale and return lines booked ``date_from``..``date_to`` (one accrual read per day)."""
    accruals: list[dict[str, Any]] = []
    day = date_from
    while day <= date_to:
        last_id = ""
        for _ in range(MAX_PAGES_PER_DAY):
            body: dict[str, Any] = {"date": day.isoformat()}
            if last_id:
                body["last_id"] = last_id
            answer = await conn._post(ACCRUALS_PATH, body, group="finance")
            page = (answer or {}).get("accruals") or []
            accruals.extend(page)
            last_id = str((answer or {}).get("last_id") or "")
            if not page or not last_id:
                break
        day += timedelta(days=1)
    if not accruals:
        return []
    offers: dict[str, str] = {}
    for item in await conn._cursor_read("/v4/product/info/stocks", None):
        for st in item.get("stocks") or []:
            offers[str(st.get("sku"))] = item["offer_id"]
    return [line for accrual in accruals for line in accrual_lines(accrual, offers)]


def accrual_lines(accrual: dict[str, Any], offers: dict[str, str]) -> list[SaleRecord]:
    """The product lines of one posting accrual (see the module docstring)."""
    if accrual.get("accrued_category") != "POSTING":
        return []
    booked = date.fromisoformat(str(accrual.get("date"))[:10])
    when = datetime(booked.year, booked.month, booked.day, tzinfo=UTC)
    out = []
    for product in (accrual.get("posting") or {}).get("products") or []:
        fees = product.get("commission") or {}
        amount = money(fees.get("sale_amount"))
        unit = money(fees.get("seller_price"))
        quantity = max(1, int((abs(amount) / unit).to_integral_value())) if unit > 0 else 1
        sku = str(product.get("sku"))
        out.append(
            SaleRecord(
                date=when,
                offer_id=offers.get(sku, f"sku:{sku}"),
                quantity=quantity,
                revenue=abs(amount),
                commission=-money(fees.get("commission")),
                logistics=-money((product.get("delivery") or {}).get("total_accrued")),
                kind=SaleKind.RETURN if amount < 0 else SaleKind.SALE,
                order_id=accrual.get("unit_number"),
                currency=(fees.get("sale_amount") or {}).get("currency"),
            )
        )
    return out
