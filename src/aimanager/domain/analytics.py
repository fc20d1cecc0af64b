"""Per-partner analytics from sale lines, listings, products and AI usage rows — pure, JSON-ready.

What sellers ask for first is money (seller-tools.md §0 takeaway 6, §5): revenue, units, margin after
every fee, ABC classes, days of stock cover, price position against the competitor, and here also what
the AI work cost. Definitions:

* revenue = Σ sale revenue − Σ return revenue; units likewise (orders are not sales: WB counts buyouts);
* margin after fees = revenue − commission − logistics − COGS (units × cost price); margin % of revenue.
  SKUs without a cost price are left out of COGS and margin and counted in ``skus_without_cost``;
* ABC (§5): SKUs by revenue, descending; a SKU is A while the revenue share *before* it is < 80 %, B
  while < 95 %, else C (so the SKU that crosses 80 % is still A); SKUs without revenue are C;
* cover days = stock ÷ (units sold ÷ days in the period); bands after §5 (Teikametrics): out of stock
  0, low < 28 days, healthy 28-91 days, excess > 91 days, "no sales" when nothing sold;
* price position and AI spend: see ``analytics_parts``.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field

from aimanager.domain.analytics_parts import AISpend as AISpend
from aimanager.domain.analytics_parts import ListingSnapshot as ListingSnapshot
from aimanager.domain.analytics_parts import PricePosition as PricePosition
from aimanager.domain.analytics_parts import UsageRow as UsageRow
from aimanager.domain.analytics_parts import ai_spend, price_position
from aimanager.domain.enums import Marketplace
from aimanager.domain.money import HUNDRED, ZERO, round_money

A_SHARE = Decimal("0.80")
B_SHARE = Decimal("0.95")
LOW_COVER_DAYS = Decimal(28)
EXCESS_COVER_DAYS = Decimal(91)


class LineKind(enum.StrEnum):
    """Kinds of sale lines; only sales and returns move money."""

    ORDER = "order"
    SALE = "sale"
    RETURN = "return"


@dataclass(frozen=True)
class SaleLine:
    """One order/sale/return line (mirrors the connectors' ``SaleRecord``)."""

    sku: str
    marketplace: Marketplace
    quantity: int
    revenue: Decimal
    commission: Decimal = ZERO
    logistics: Decimal = ZERO
    kind: LineKind = LineKind.SALE
    date: datetime | None = None
    fees_estimated: bool = False  # fees from a tariff, not the marketplace's statement


@dataclass(frozen=True)
class ProductSnapshot:
    """A product as analytics needs it: cost and the partner's own stock."""

    sku: str
    name: str
    cost_price: Decimal | None
    stock: int


class MarketplaceMetrics(BaseModel):
    marketplace: Marketplace
    revenue: Decimal
    units: int
    commission: Decimal
    logistics: Decimal
    margin: Decimal | None
    margin_pct: Decimal | None


class SkuMetrics(BaseModel):
    sku: str
    name: str
    revenue: Decimal
    units: int
    margin: Decimal | None
    abc: str
    stock: int
    cover_days: Decimal | None  # None: nothing sold in the period
    stock_status: str


class PartnerMetrics(BaseModel):
    """Everything the partner report shows; ``model_dump_json()`` is the stored form."""

    partner: str
    period_start: datetime
    period_end: datetime
    # The partner's zone: the period is whole local days, shown as local dates (``report_period``).
    timezone: str = "UTC"
    currency: str = "UZS"
    revenue: Decimal
    units: int
    returned_units: int
    commission: Decimal
    logistics: Decimal
    cogs: Decimal
    margin: Decimal
    margin_pct: Decimal | None
    skus_without_cost: int
    by_marketplace: list[MarketplaceMetrics]
    skus: list[SkuMetrics]
    abc_summary: dict[str, dict[str, Decimal | int]]
    stock_status_counts: dict[str, int]
    price_positions: list[PricePosition]
    price_summary: dict[str, Decimal | int | None]
    ai_spend: list[AISpend]
    ai_spend_total_usd: Decimal
    notes: list[str] = Field(default_factory=list)

    def narrative_facts(self) -> dict[str, Any]:
        """The few headline figures a narrative may quote (numbers only from here, as text)."""
        top = [s.name for s in self.skus if s.abc == "A"][:3]
        return {
            "revenue": str(self.revenue),
            "currency": self.currency,
            "units": self.units,
            "margin": str(self.margin),
            "margin_pct": str(self.margin_pct) if self.margin_pct is not None else None,
            "a_class_skus": self.abc_summary.get("A", {}).get("skus", 0),
            "top_products": ", ".join(top),
            "out_of_stock_skus": self.stock_status_counts.get("out_of_stock", 0),
            "low_stock_skus": self.stock_status_counts.get("low", 0),
            "dearer_than_competitor": self.price_summary.get("dearer", 0),
            "ai_spend_usd": str(self.ai_spend_total_usd),
        }


def abc_classes(revenue_by_sku: dict[str, Decimal]) -> dict[str, str]:
    """A/B/C per SKU by revenue share (80/15/5); ties broken by SKU for determinism."""
    total = sum((r for r in revenue_by_sku.values() if r > 0), ZERO)
    classes: dict[str, str] = {}
    before = ZERO
    for sku, rev in sorted(revenue_by_sku.items(), key=lambda kv: (-kv[1], kv[0])):
        if rev <= 0 or total == 0:
            classes[sku] = "C"
            continue
        share = before / total
        classes[sku] = "A" if share < A_SHARE else "B" if share < B_SHARE else "C"
        before += rev
    return classes


def cover_days(stock: int, units_sold: int, period_days: Decimal) -> Decimal | None:
    """Days the stock lasts at the period's sales rate; None when nothing sold (infinite cover)."""
    if stock <= 0:
        return ZERO
    if units_sold <= 0 or period_days <= 0:
        return None
    return (Decimal(stock) / (Decimal(units_sold) / period_days)).quantize(Decimal("0.1"))


def stock_status(stock: int, cover: Decimal | None) -> str:
    """Band of a SKU's stock: out_of_stock, low, healthy, excess or no_sales."""
    if stock <= 0:
        return "out_of_stock"
    if cover is None:
        return "no_sales"
    if cover < LOW_COVER_DAYS:
        return "low"
    return "excess" if cover > EXCESS_COVER_DAYS else "healthy"


def compute_partner_metrics(
    partner: str,
    period_start: datetime,
    period_end: datetime,
    products: Sequence[ProductSnapshot],
    listings: Sequence[ListingSnapshot],
    sales: Iterable[SaleLine],
    usage: Iterable[UsageRow] = (),
    currency: str = "UZS",
    *,
    connected: Iterable[Marketplace] = (),
    timezone: str = "UTC",
) -> PartnerMetrics:
    """All analytics of one partner over [period_start, period_end) (tz-aware UTC).

    Every ``connected`` marketplace gets a row, with zeros when it sold nothing: a missing row would
    read as "not connected"."""
    if period_start.tzinfo is None or period_end.tzinfo is None:
        raise ValueError("period bounds must be timezone-aware")
    if period_end <= period_start:
        raise ValueError("period_end must be after period_start")
    days = Decimal((period_end - period_start).total_seconds()) / Decimal(86400)
    cost = {p.sku: p.cost_price for p in products}
    names = {p.sku: p.name for p in products}
    sku_rev: dict[str, Decimal] = defaultdict(lambda: ZERO)
    sku_units: dict[str, int] = defaultdict(int)
    sku_fees: dict[str, Decimal] = defaultdict(lambda: ZERO)
    mp_rev: dict[Marketplace, Decimal] = defaultdict(lambda: ZERO)
    mp_units: dict[Marketplace, int] = defaultdict(int)
    mp_comm: dict[Marketplace, Decimal] = defaultdict(lambda: ZERO)
    mp_log: dict[Marketplace, Decimal] = defaultdict(lambda: ZERO)
    mp_cogs: dict[Marketplace, Decimal] = defaultdict(lambda: ZERO)
    mp_uncosted: dict[Marketplace, bool] = defaultdict(bool)
    returned = 0
    estimated: set[Marketplace] = set()
    for mp in connected:
        mp_rev[Marketplace(mp)] += ZERO
    for line in sales:
        if line.kind is LineKind.ORDER:
            continue
        sign = -1 if line.kind is LineKind.RETURN else 1
        qty = sign * line.quantity
        if line.kind is LineKind.RETURN:
            returned += line.quantity
        sku_rev[line.sku] += sign * line.revenue
        sku_units[line.sku] += qty
        # Fees are charged on returns too (logistics both ways), so they always add up.
        sku_fees[line.sku] += line.commission + line.logistics
        mp, unit_cost = line.marketplace, cost.get(line.sku)
        mp_rev[mp] += sign * line.revenue
        mp_units[mp] += qty
        mp_comm[mp] += line.commission
        mp_log[mp] += line.logistics
        if line.fees_estimated:
            estimated.add(mp)
        if unit_cost is None:
            mp_uncosted[mp] = True
        else:
            mp_cogs[mp] += unit_cost * qty

    def r(value: Decimal) -> Decimal:
        return round_money(value, currency)

    revenue = sum(sku_rev.values(), ZERO)
    costed = [s for s in sku_rev if cost.get(s) is not None]
    cogs = sum(((cost[s] or ZERO) * sku_units[s] for s in costed), ZERO)
    margin = sum((sku_rev[s] - sku_fees[s] for s in costed), ZERO) - cogs
    costed_rev = sum((sku_rev[s] for s in costed), ZERO)
    classes = abc_classes({s: sku_rev.get(s, ZERO) for s in {*names, *sku_rev}})

    skus: list[SkuMetrics] = []
    status_counts: dict[str, int] = defaultdict(int)
    stock = {p.sku: p.stock for p in products}
    for sku in sorted(classes, key=lambda s: (-sku_rev.get(s, ZERO), s)):
        cover = cover_days(stock.get(sku, 0), sku_units.get(sku, 0), days)
        status = stock_status(stock.get(sku, 0), cover)
        status_counts[status] += 1
        unit_cost = cost.get(sku)
        sku_margin = None
        if unit_cost is not None:
            sku_margin = r(
                sku_rev.get(sku, ZERO) - sku_fees.get(sku, ZERO) - unit_cost * sku_units.get(sku, 0)
            )
        skus.append(
            SkuMetrics(
                sku=sku,
                name=names.get(sku, sku),
                revenue=r(sku_rev.get(sku, ZERO)),
                units=sku_units.get(sku, 0),
                margin=sku_margin,
                abc=classes[sku],
                stock=stock.get(sku, 0),
                cover_days=cover,
                stock_status=status,
            )
        )

    by_mp = []
    for mp in sorted(mp_rev, key=lambda m: (-mp_rev[m], m.value)):
        mp_margin = None if mp_uncosted[mp] else r(mp_rev[mp] - mp_comm[mp] - mp_log[mp] - mp_cogs[mp])
        by_mp.append(
            MarketplaceMetrics(
                marketplace=mp,
                revenue=r(mp_rev[mp]),
                units=mp_units[mp],
                commission=r(mp_comm[mp]),
                logistics=r(mp_log[mp]),
                margin=mp_margin,
                margin_pct=_pct(mp_margin, mp_rev[mp]) if mp_margin is not None else None,
            )
        )

    positions, price_summary = price_position(listings)
    spend = ai_spend(usage)
    notes = []
    uncosted = sorted(s for s in {*names, *sku_rev} if cost.get(s) is None)
    if uncosted:
        notes.append(f"{len(uncosted)} SKUs have no cost price; margin leaves them out")
    if estimated:
        markets = ", ".join(sorted(m.value for m in estimated))
        notes.append(f"fees of {markets} are estimated from tariffs, not the marketplace's statement")
    return PartnerMetrics(
        partner=partner,
        period_start=period_start,
        period_end=period_end,
        timezone=timezone,
        currency=currency,
        revenue=r(revenue),
        units=sum(sku_units.values()),
        returned_units=returned,
        commission=r(sum(mp_comm.values(), ZERO)),
        logistics=r(sum(mp_log.values(), ZERO)),
        cogs=r(cogs),
        margin=r(margin),
        margin_pct=_pct(margin, costed_rev),
        skus_without_cost=len(uncosted),
        by_marketplace=by_mp,
        skus=skus,
        abc_summary=_abc_summary(classes, sku_rev, revenue),
        stock_status_counts=dict(status_counts),
        price_positions=positions,
        price_summary=price_summary,
        ai_spend=spend,
        ai_spend_total_usd=sum((s.cost_usd for s in spend), ZERO),
        notes=notes,
    )


def _abc_summary(
    classes: dict[str, str], revenue: dict[str, Decimal], total: Decimal
) -> dict[str, dict[str, Decimal | int]]:
    out: dict[str, dict[str, Decimal | int]] = {}
    for cls in ("A", "B", "C"):
        members = [s for s, c in classes.items() if c == cls]
        rev = sum((max(revenue.get(s, ZERO), ZERO) for s in members), ZERO)
        share = (rev / total * HUNDRED).quantize(Decimal("0.1")) if total > 0 else ZERO
        out[cls] = {"skus": len(members), "revenue_share_pct": share}
    return out


def _pct(part: Decimal, whole: Decimal) -> Decimal | None:
    if whole == 0:
        return None
    return (part / whole * HUNDRED).quantize(Decimal("0.1"))
