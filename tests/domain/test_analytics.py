"""Analytics maths: revenue, margin after fees, ABC, cover days, price position, AI spend."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from aimanager.domain.analytics import (
    LineKind,
    ListingSnapshot,
    PartnerMetrics,
    ProductSnapshot,
    SaleLine,
    UsageRow,
    abc_classes,
    compute_partner_metrics,
    cover_days,
    stock_status,
)
from aimanager.domain.enums import Marketplace as M

D = Decimal
START = datetime(2026, 5, 1, tzinfo=UTC)
END = datetime(2026, 5, 31, tzinfo=UTC)  # 30 days


def metrics() -> PartnerMetrics:
    products = [
        ProductSnapshot("A", "Чайник", D(100_000), stock=30),
        ProductSnapshot("B", "Кружка", D(20_000), stock=0),
        ProductSnapshot("C", "Футболка", None, stock=500),
        ProductSnapshot("D", "Рюкзак", D(50_000), stock=10),
    ]
    sales = [
        SaleLine("A", M.UZUM, 30, D(4_500_000), commission=D(540_000), logistics=D(157_500)),
        SaleLine("A", M.WILDBERRIES, 1, D(150_000), commission=D(25_000), logistics=D(9_000)),
        SaleLine("A", M.WILDBERRIES, 1, D(150_000), logistics=D(9_000), kind=LineKind.RETURN),
        SaleLine("B", M.OZON, 10, D(400_000), commission=D(60_000), logistics=D(70_000)),
        SaleLine("C", M.OZON, 2, D(200_000), commission=D(30_000)),
        SaleLine("A", M.UZUM, 99, D(1), kind=LineKind.ORDER),  # orders are not sales
    ]
    listings = [
        ListingSnapshot("A", M.UZUM, D(150_000), D(160_000)),
        ListingSnapshot("A", M.OZON, D(150_000), D(140_000)),
        ListingSnapshot("B", M.OZON, D(40_000), None),
    ]
    usage = [
        UsageRow("claude-haiku", "cards", D("0.002"), 1000, 400),
        UsageRow("claude-haiku", "cards", D(0), cached=True),
        UsageRow("claude-sonnet", "cards", D("0.01"), 1000, 400),
        UsageRow("claude-haiku", "narrative", D("0.001"), 500, 200),
    ]
    return compute_partner_metrics("acme", START, END, products, listings, sales, usage)


def test_revenue_units_and_margin_after_fees() -> None:
    m = metrics()
    assert m.revenue == D(4_500_000 + 400_000 + 200_000)  # WB sale and its return cancel
    assert m.units == 30 + 10 + 2 and m.returned_units == 1
    assert m.commission == D(540_000 + 25_000 + 60_000 + 30_000)
    # A: 4.5M − 540k − 157.5k − 3M (30 × 100k) − WB fees 25k + 9k + 9k; B: 400k − 130k − 200k; C uncosted
    a = D(4_500_000) - 540_000 - 157_500 - 3_000_000 - 25_000 - 18_000
    b = D(400_000) - 130_000 - 200_000
    assert m.margin == a + b
    assert m.skus_without_cost == 1 and "no cost price" in m.notes[0]
    by_mp = {x.marketplace: x for x in m.by_marketplace}
    assert by_mp[M.UZUM].revenue == D(4_500_000) and by_mp[M.OZON].margin is None  # C is uncosted


def test_abc_and_cover() -> None:
    m = metrics()
    classes = {s.sku: s.abc for s in m.skus}
    assert classes == {"A": "A", "B": "B", "C": "C", "D": "C"}
    a = next(s for s in m.skus if s.sku == "A")
    assert a.cover_days == D(30) and a.stock_status == "healthy"  # 30 in stock, 1 a day
    statuses = {s.sku: s.stock_status for s in m.skus}
    assert statuses["B"] == "out_of_stock" and statuses["D"] == "no_sales"
    assert abc_classes({"x": D(85), "y": D(10), "z": D(5), "w": D(0)}) == {
        "x": "A",
        "y": "B",
        "z": "C",
        "w": "C",
    }
    assert abc_classes({"x": D(50), "y": D(40), "z": D(10)}) == {"x": "A", "y": "A", "z": "B"}
    assert cover_days(10, 0, D(30)) is None and cover_days(0, 5, D(30)) == 0
    assert stock_status(5, D(10)) == "low" and stock_status(5, D(200)) == "excess"


def test_price_position_and_ai_spend() -> None:
    m = metrics()
    gaps = {(p.sku, p.marketplace): p.gap_pct for p in m.price_positions}
    assert gaps == {("A", M.UZUM): D("-6.2"), ("A", M.OZON): D("7.1")}
    assert m.price_summary["cheaper"] == 1 and m.price_summary["dearer"] == 1
    spend = {(s.model, s.task_kind): s for s in m.ai_spend}
    assert spend[("claude-haiku", "cards")].calls == 2 and spend[("claude-haiku", "cards")].cache_hits == 1
    assert m.ai_spend_total_usd == D("0.013")
    assert m.ai_spend[0].model == "claude-sonnet"


def test_json_round_trip_and_narrative_facts() -> None:
    m = metrics()
    blob = m.model_dump_json()
    assert PartnerMetrics.model_validate_json(blob) == m
    facts = m.narrative_facts()
    json.dumps(facts)
    assert facts["top_products"] == "Чайник" and facts["out_of_stock_skus"] == 1


def test_period_must_be_aware_and_ordered() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        compute_partner_metrics("p", datetime(2026, 1, 1), END, [], [], [])
    with pytest.raises(ValueError, match="after"):
        compute_partner_metrics("p", END, START, [], [], [])
    empty = compute_partner_metrics("p", START, END, [], [], [])
    assert empty.revenue == 0 and empty.margin_pct is None and empty.skus == []
