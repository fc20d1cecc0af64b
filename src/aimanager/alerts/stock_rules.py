"""The oversell-risk rule: a stock pool below the sum of its marketplaces' buffers.

Each stock push records the buffer it held back for its listing (units likely sold before the next
push lands: velocity × sync delay × k, ``domain.allocation``). When a product's *available* units —
``Product.stock`` less what open orders hold — fall below the sum of its listings' latest buffers, the
marketplaces can sell out faster than a push corrects them: the seller should restock or slow sales
before an order arrives that cannot be filled (seller-tools §4.1). Reported per partner, before the
oversell, not after.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import exists, func, select
from sqlalchemy.orm import aliased

from aimanager.alerts.findings import Finding, RuleContext, Severity, examples, plural
from aimanager.db.models import Listing, MarketplaceOrder, Product, StockPush


async def oversell_risk(ctx: RuleContext) -> list[Finding]:
    newer = aliased(StockPush)
    latest = (
        await ctx.session.execute(
            select(StockPush.partner_id, Listing.product_id, func.sum(StockPush.buffer))
            .join(Listing, Listing.id == StockPush.listing_id)
            .join(Product, Product.id == Listing.product_id)
            .where(
                Product.is_active.is_(True),
                StockPush.buffer > 0,
                ~exists().where(newer.listing_id == StockPush.listing_id, newer.id > StockPush.id),
            )
            .group_by(StockPush.partner_id, Listing.product_id)
        )
    ).all()
    buffers = {pid: (partner, int(total or 0)) for partner, pid, total in latest}
    if not buffers:
        return []
    products = dict(
        (
            await ctx.session.execute(select(Product.id, Product.sku).where(Product.id.in_(list(buffers))))
        ).all()
    )
    stock = dict(
        (
            await ctx.session.execute(select(Product.id, Product.stock).where(Product.id.in_(list(buffers))))
        ).all()
    )
    held = dict(
        (
            await ctx.session.execute(
                select(MarketplaceOrder.product_id, func.sum(MarketplaceOrder.quantity))
                .where(MarketplaceOrder.product_id.in_(list(buffers)), MarketplaceOrder.state == "reserved")
                .group_by(MarketplaceOrder.product_id)
            )
        ).all()
    )
    short: dict[int, list[str]] = defaultdict(list)
    for pid, (partner, total) in sorted(buffers.items()):
        available = max(0, int(stock.get(pid) or 0) - int(held.get(pid) or 0))
        if available < total:
            short[partner].append(f"{products.get(pid, pid)}: {available} available, buffers {total}")
    out = []
    for partner, items in short.items():
        slug = ctx.slug(partner)
        out.append(
            Finding(
                "stock.oversell_risk",
                f"stock.oversell_risk:p{partner}",
                Severity.WARNING,
                f"{slug}: {plural(len(items), 'SKU')} below the sum of their marketplaces' buffers — "
                + examples(items, ctx.examples),
                f"restock, then `aimanager import <catalog>` and `aimanager run -c stock -p {partner}`",
                partner,
            )
        )
    return out
