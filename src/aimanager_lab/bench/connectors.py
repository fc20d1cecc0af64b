"""``aimanager bench connectors``: API calls and least time for full price and stock updates, computed
from each connector's own batch sizes and limit constants."""

from __future__ import annotations


def _duration(seconds: float) -> str:
    if seconds <= 0:
        return "0 s (within burst)"
    if seconds < 120:
        return f"{seconds:.1f} s"
    return f"{seconds / 60:.1f} min"


def connectors_table(partners: int = 100, skus: int = 100) -> str:
    """The BENCHMARKS.md table, computed from each connector's ``BULK_PROFILE`` (its own batch sizes
    and limit constants): a marketplace appears as soon as its package exports one."""
    from aimanager.connectors.ratelimit import plan_bulk
    from aimanager.connectors.registry import bulk_profiles

    lines = [
        f"Full update of **{partners} partners × {skus} SKUs** per marketplace. Limits are per seller "
        "account, so partners run in parallel and the least time is one partner's under the slowest "
        "documented limit (token bucket starting full). Computed by `aimanager bench connectors` from "
        "the connectors' own batching and limit constants.",
        "",
        "| Marketplace | Price batch | Price calls | Price min time | Stock batch | Stock calls "
        "| Stock min time | Limits applied |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for p in bulk_profiles():
        price = plan_bulk(
            p.price_batch, p.price_limits, partners=partners, skus=skus, follow=p.price_follow_calls
        )
        stock = plan_bulk(p.stock_batch, p.stock_limits, partners=partners, skus=skus)
        lines.append(
            f"| {p.marketplace} | {p.price_batch} | {price.calls} ({price.calls_per_partner}/partner) "
            f"| {_duration(price.seconds)} | {p.stock_batch} | {stock.calls} "
            f"({stock.calls_per_partner}/partner) | {_duration(stock.seconds)} | {p.notes} |"
        )
    one = [
        "",
        f"Same figures for **one partner with {partners * skus} SKUs** (one account's limits bind):",
        "",
        "| Marketplace | Price calls | Price min time | Stock calls | Stock min time |",
        "|---|---:|---:|---:|---:|",
    ]
    for p in bulk_profiles():
        price = plan_bulk(
            p.price_batch, p.price_limits, partners=1, skus=partners * skus, follow=p.price_follow_calls
        )
        stock = plan_bulk(p.stock_batch, p.stock_limits, partners=1, skus=partners * skus)
        one.append(
            f"| {p.marketplace} | {price.calls} | {_duration(price.seconds)} | {stock.calls} "
            f"| {_duration(stock.seconds)} |"
        )
    return "\n".join(lines + one)
