"""HTML report: self-contained, charts present, every text escaped."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from aimanager.domain.analytics import (
    ListingSnapshot,
    ProductSnapshot,
    SaleLine,
    UsageRow,
    compute_partner_metrics,
)
from aimanager.domain.enums import Marketplace as M
from aimanager.pipelines.reports.html import render_report, write_report

D = Decimal
HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def hostile_metrics():  # type: ignore[no-untyped-def]
    products = [
        ProductSnapshot("S-1", HOSTILE, D(10_000), 5),
        ProductSnapshot('S-2"><svg onload=alert(2)>', "Кружка & блюдце", D(5_000), 0),
    ]
    sales = [
        SaleLine("S-1", M.UZUM, 3, D(60_000), D(6_000), D(5_250)),
        SaleLine('S-2"><svg onload=alert(2)>', M.OZON, 1, D(9_000), D(900)),
    ]
    listings = [ListingSnapshot("S-1", M.UZUM, D(20_000), D(19_000))]
    usage = [UsageRow("<b>model</b>", "cards</td>", D("0.001"), 10, 5)]
    return compute_partner_metrics(
        "partner-<i>x</i>", datetime(2026, 5, 1, tzinfo=UTC), datetime(2026, 5, 8, tzinfo=UTC),
        products, listings, sales, usage,
    )  # fmt: skip


def test_everything_is_escaped() -> None:
    page = render_report(hostile_metrics(), "Выручка <b>выросла</b>", "Daromad </p><script>1</script>")
    assert "<script" not in page.lower()
    assert "<img" not in page and "<svg onload" not in page  # hostile tags only appear escaped
    assert page.count("<svg") == page.count('<svg xmlns="http://www.w3.org/2000/svg"')
    assert "&lt;script&gt;" in page and "partner-&lt;i&gt;x&lt;/i&gt;" in page
    assert "Кружка &amp; блюдце" in page and "&lt;b&gt;model&lt;/b&gt;" in page
    assert "Daromad &lt;/p&gt;&lt;script&gt;1&lt;/script&gt;" in page
    assert "default-src 'none'" in page  # CSP: no script would run even if one slipped through


def test_self_contained_with_svg_charts(tmp_path: Path) -> None:
    path = write_report(tmp_path / "r" / "report.html", hostile_metrics(), "Итоги", "Xulosa")
    page = path.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.count("<svg") >= 3
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in page
    assert "uzum" in page and "ABC" in page


def test_empty_metrics_render() -> None:
    empty = compute_partner_metrics(
        "p", datetime(2026, 5, 1, tzinfo=UTC), datetime(2026, 5, 2, tzinfo=UTC), [], [], []
    )
    page = render_report(empty)
    assert "нет данных" in page and "</html>" in page
