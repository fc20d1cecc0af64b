"""Partners, their marketplace accounts and reports, as the operator's faces list them.

The queries ``aimanager partners list``, ``accounts list|connect`` and ``report`` run inline today live
here for the API and the console (the CLI can call them too). Every function takes ``partner_ids``:
the set of partners the caller may see (``None``: all of them) — the faces resolve it once, from who
is asking, and pass it down; nothing here decides access.

Lists are keyset-paginated on the primary key (``after_id``), so a page costs the same at partner
1,000 as at partner 1. Credentials never leave this module: accounts are listed with their settings
and health (``account_health.health_of``) only; live tests are ``account_health.check_account``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from aimanager.db.models import AnalyticsReport, MarketplaceIntegration, Partner, Product
from aimanager.pipelines.services.account_health import health_of


@dataclass(frozen=True)
class PartnerRow:
    partner: Partner
    products: int
    marketplaces: list[str]


async def find_partner(session: AsyncSession, ref: str | int) -> Partner | None:
    """A partner by id (digits) or slug."""
    text = str(ref)
    query = select(Partner).where(Partner.id == int(text)) if text.isdigit() else select(Partner)
    if not text.isdigit():
        query = query.where(Partner.slug == text)
    return (await session.execute(query)).scalar_one_or_none()


async def list_partners(
    session: AsyncSession,
    partner_ids: Collection[int] | None,
    *,
    after_id: int | None = None,
    limit: int = 50,
) -> list[PartnerRow]:
    """Partners by id with their product count and active marketplaces (two indexed look-ups per page)."""
    query = select(Partner).order_by(Partner.id).limit(limit)
    if partner_ids is not None:
        query = query.where(Partner.id.in_(list(partner_ids)))
    if after_id is not None:
        query = query.where(Partner.id > after_id)
    partners = list((await session.execute(query)).scalars())
    ids = [p.id for p in partners]
    if not ids:
        return []
    counts = dict(
        (
            await session.execute(
                select(Product.partner_id, func.count())
                .where(Product.partner_id.in_(ids))
                .group_by(Product.partner_id)
            )
        ).all()
    )
    markets: dict[int, list[str]] = {}
    for pid, market in (
        await session.execute(
            select(MarketplaceIntegration.partner_id, MarketplaceIntegration.marketplace).where(
                MarketplaceIntegration.partner_id.in_(ids), MarketplaceIntegration.active.is_(True)
            )
        )
    ).all():
        markets.setdefault(pid, []).append(market)
    return [PartnerRow(p, int(counts.get(p.id, 0)), sorted(markets.get(p.id, []))) for p in partners]


async def upsert_partner(
    session: AsyncSession, slug: str, name: str, ai_budget_usd: Decimal | None = None
) -> tuple[Partner, bool]:
    """Add a partner, or rename (and re-budget, if given) the one with ``slug``; the caller commits."""
    row = (await session.execute(select(Partner).where(Partner.slug == slug))).scalar_one_or_none()
    created = row is None
    if row is None:
        row = Partner(slug=slug, name=name)
        session.add(row)
    row.name = name
    if ai_budget_usd is not None:
        row.ai_budget_usd = ai_budget_usd
    await session.flush()
    return row, created


async def list_accounts(
    session: AsyncSession,
    partner_ids: Collection[int] | None,
    *,
    after_id: int | None = None,
    limit: int = 50,
) -> list[tuple[MarketplaceIntegration, str]]:
    """Accounts (integration rows) with their partner's slug, by id. Callers show settings and health
    only: ``credentials_encrypted`` must never be put in an answer."""
    query = (
        select(MarketplaceIntegration, Partner.slug)
        .join(Partner, Partner.id == MarketplaceIntegration.partner_id)
        .order_by(MarketplaceIntegration.id)
        .limit(limit)
    )
    if partner_ids is not None:
        query = query.where(MarketplaceIntegration.partner_id.in_(list(partner_ids)))
    if after_id is not None:
        query = query.where(MarketplaceIntegration.id > after_id)
    return list((await session.execute(query)).all())


def account_view(row: MarketplaceIntegration) -> Mapping[str, Any]:
    """What may be shown of an account: never its credentials."""
    health = health_of(row)
    return {
        "id": row.id,
        "partner_id": row.partner_id,
        "marketplace": row.marketplace,
        "active": row.active,
        "settings": dict(row.settings or {}),
        "last_success_at": row.last_success_at,
        "last_error_at": row.last_error_at,
        "last_error": row.last_error,
        "token_expires_at": row.token_expires_at,
        "health": health.state,
        "warning": health.warning,
        "created_at": row.created_at,
    }


async def list_reports(
    session: AsyncSession,
    partner_ids: Collection[int] | None,
    *,
    after_id: int | None = None,
    limit: int = 50,
) -> list[AnalyticsReport]:
    """Analytics reports, newest first (``ix_analytics_reports_partner_created`` per partner)."""
    query = select(AnalyticsReport).order_by(AnalyticsReport.id.desc()).limit(limit)
    if partner_ids is not None:
        query = query.where(AnalyticsReport.partner_id.in_(list(partner_ids)))
    if after_id is not None:
        query = query.where(AnalyticsReport.id < after_id)
    return list((await session.execute(query)).scalars())


async def get_report(
    session: AsyncSession, report_id: int, partner_ids: Collection[int] | None
) -> AnalyticsReport | None:
    row = await session.get(AnalyticsReport, report_id)
    if row is None or (partner_ids is not None and row.partner_id not in partner_ids):
        return None
    return row
