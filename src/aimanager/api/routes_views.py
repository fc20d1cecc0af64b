"""Cards (versions and diffs), analytics reports, AI spend and budgets, alerts: read-only views."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse
from sqlalchemy.ext.asyncio import AsyncSession

from aimanager.alerts.store import list_alerts
from aimanager.api import pagination as pg
from aimanager.api.auth import Scope, scope
from aimanager.api.deps import Cursor, Limit, PartnerFilter, PathId, QueryId, db
from aimanager.api.errors import PROBLEM_RESPONSES, NotFound, Unprocessable
from aimanager.api.schemas import (
    AlertOut,
    BudgetOut,
    CardDetailOut,
    CardOut,
    DiffOut,
    FieldDiffOut,
    ReportOut,
    SpendOut,
)
from aimanager.domain.enums import Marketplace
from aimanager.pipelines.services import cards_view, directory, spend

router = APIRouter(prefix="/v1", tags=["views"], responses=PROBLEM_RESPONSES)
MAX_SPEND_DAYS = 366


def _card_out(cv: Any, sku: str, *, detail: bool = False) -> CardOut:
    cls = CardDetailOut if detail else CardOut
    extra = {"content": cv.content} if detail else {}
    return cls(
        id=cv.id,
        partner_id=cv.partner_id,
        product_id=cv.product_id,
        sku=sku,
        marketplace=cv.marketplace,
        version=cv.version,
        status=cv.status,
        model=cv.model,
        validation_errors=list(cv.validation_errors or []),
        created_at=cv.created_at,
        pushed_at=cv.pushed_at,
        **extra,
    )


@router.get("/cards", response_model=pg.Page[CardOut])
async def cards(
    sc: Scope = Depends(scope),
    session: AsyncSession = Depends(db),
    partner: str | None = PartnerFilter,
    status: str | None = Query(None, max_length=16),
    marketplace: Marketplace | None = None,
    sku: str | None = Query(None, max_length=128),
    limit: int = Limit,
    cursor: str | None = Cursor,
) -> pg.Page[CardOut]:
    """Card versions, newest first (``pending_approval`` ones are the review queue)."""
    after = pg.decode(cursor, (int,))
    rows = await cards_view.list_cards(
        session,
        await sc.narrow(session, partner),
        status=status,
        marketplace=marketplace.value if marketplace else None,
        sku=sku,
        after_id=after[0] if after else None,
        limit=limit + 1,
    )
    return pg.page([_card_out(cv, s) for cv, s in rows], limit, lambda c: (c.id,))


async def _card(session: AsyncSession, sc: Scope, version_id: PathId) -> tuple[Any, str]:
    found = await cards_view.get_card(session, version_id, sc.partner_ids)
    if found is None:
        raise NotFound(f"no card version {version_id}")
    return found


@router.get("/cards/diff", response_model=DiffOut)
async def card_diff(
    a: QueryId, b: QueryId, sc: Scope = Depends(scope), session: AsyncSession = Depends(db)
) -> DiffOut:
    """What changed from version ``a`` to version ``b`` of a card, field by field."""
    (old, _), (new, _) = await _card(session, sc, a), await _card(session, sc, b)
    fields = cards_view.diff_content(old.content or {}, new.content or {})
    return DiffOut(
        a=a, b=b, fields=[FieldDiffOut(field=f.field, old=f.old, new=f.new, lines=f.lines) for f in fields]
    )


@router.get("/cards/{version_id}", response_model=CardDetailOut)
async def card(version_id: PathId, sc: Scope = Depends(scope), session: AsyncSession = Depends(db)) -> Any:
    cv, sku = await _card(session, sc, version_id)
    return _card_out(cv, sku, detail=True)


@router.get("/cards/{version_id}/history", response_model=list[CardOut])
async def card_history(
    version_id: PathId, sc: Scope = Depends(scope), session: AsyncSession = Depends(db)
) -> list[CardOut]:
    cv, sku = await _card(session, sc, version_id)
    return [_card_out(v, sku) for v in await cards_view.history(session, cv)]


def _report_out(r: Any) -> ReportOut:
    return ReportOut(
        id=r.id,
        partner_id=r.partner_id,
        period_start=r.period_start,
        period_end=r.period_end,
        created_at=r.created_at,
        has_html=bool(r.html_path),
        narrative_ru=r.narrative_ru,
        narrative_uz=r.narrative_uz,
    )


@router.get("/reports", response_model=pg.Page[ReportOut])
async def reports(
    sc: Scope = Depends(scope),
    session: AsyncSession = Depends(db),
    partner: str | None = PartnerFilter,
    limit: int = Limit,
    cursor: str | None = Cursor,
) -> pg.Page[ReportOut]:
    after = pg.decode(cursor, (int,))
    rows = await directory.list_reports(
        session, await sc.narrow(session, partner), after_id=after[0] if after else None, limit=limit + 1
    )
    return pg.page([_report_out(r) for r in rows], limit, lambda r: (r.id,))


@router.get("/reports/{report_id}", response_model=ReportOut)
async def report(
    report_id: PathId, sc: Scope = Depends(scope), session: AsyncSession = Depends(db)
) -> ReportOut:
    found = await directory.get_report(session, report_id, sc.partner_ids)
    if found is None:
        raise NotFound(f"no report {report_id}")
    return _report_out(found)


@router.get("/reports/{report_id}/html", response_class=HTMLResponse)
async def report_html(
    report_id: PathId, sc: Scope = Depends(scope), session: AsyncSession = Depends(db)
) -> Any:
    """The report's HTML page as the analytics pipeline wrote it."""
    from pathlib import Path

    found = await directory.get_report(session, report_id, sc.partner_ids)
    path = Path(found.html_path) if found is not None and found.html_path else None
    if path is None or not path.is_file():
        raise NotFound(f"report {report_id} has no HTML page")
    return HTMLResponse(path.read_text(encoding="utf-8"))


@router.get("/spend", response_model=list[SpendOut])
async def ai_spend(
    sc: Scope = Depends(scope),
    session: AsyncSession = Depends(db),
    group: Literal["partner", "model", "task_kind", "day"] = "day",
    partner: str | None = PartnerFilter,
    since: datetime | None = Query(None, description="Default: the start of the UTC day 30 days ago."),
    until: datetime | None = Query(None, description="Default: now."),
) -> list[SpendOut]:
    """AI spend from the ledger, grouped by partner, model, task kind or (UTC) day."""
    now = datetime.now(UTC)
    hi = (until or now).astimezone(UTC) if (until or now).tzinfo else (until or now).replace(tzinfo=UTC)
    # Whole days by default: closed days are read from the daily rollup, only today from the ledger.
    lo = since or spend.day_start((hi - timedelta(days=30)).date())
    lo = lo.astimezone(UTC) if lo.tzinfo else lo.replace(tzinfo=UTC)
    if not lo < hi or hi - lo > timedelta(days=MAX_SPEND_DAYS):
        raise Unprocessable(f"since must be before until, at most {MAX_SPEND_DAYS} days apart")
    rows = await spend.spend(session, await sc.narrow(session, partner), group=group, since=lo, until=hi)
    return [SpendOut(**r.__dict__) for r in rows]


@router.get("/spend/budgets", response_model=pg.Page[BudgetOut])
async def budgets(
    sc: Scope = Depends(scope),
    session: AsyncSession = Depends(db),
    limit: int = Limit,
    cursor: str | None = Cursor,
) -> pg.Page[BudgetOut]:
    """Each partner's monthly AI budget against its spend this month (a page of partners)."""
    after = pg.decode(cursor, (int,))
    listed = await directory.list_partners(
        session, sc.partner_ids, after_id=after[0] if after else None, limit=limit + 1
    )
    rows = await spend.budgets(session, [r.partner.id for r in listed])
    out = [
        BudgetOut(
            partner_id=b.partner_id,
            partner=b.slug,
            budget_usd=b.budget_usd,
            month_to_date_usd=b.month_to_date_usd,
            state=b.state,
        )
        for b in rows
    ]
    return pg.page(out, limit, lambda b: (b.partner_id,))


@router.get("/alerts", response_model=list[AlertOut])
async def alerts(
    sc: Scope = Depends(scope),
    session: AsyncSession = Depends(db),
    partner: str | None = PartnerFilter,
    status: Literal["active", "cleared"] | None = "active",
    limit: int = Limit,
) -> list[AlertOut]:
    """Alert episodes, newest first. A partner sees its own; operator-wide alerts are the operator's."""
    ids = await sc.narrow(session, partner)
    if ids is not None and len(ids) != 1:
        raise Unprocessable("name one partner")
    found = await list_alerts(
        session, partner_id=next(iter(ids)) if ids else None, status=status, limit=limit
    )
    return [
        AlertOut(
            id=a.id,
            rule=a.rule,
            partner_id=a.partner_id,
            severity=a.severity,
            message=a.message,
            action=a.action,
            status=a.status,
            first_seen=a.first_seen,
            last_seen=a.last_seen,
            count=a.count,
            deliveries=d,
        )
        for a, d in found
    ]
