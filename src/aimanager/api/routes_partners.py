"""Partners, their marketplace accounts and catalog uploads."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, File, Query, UploadFile
from sqlalchemy.ext.asyncio import AsyncSession

from aimanager.api import pagination as pg
from aimanager.api.auth import Scope, operator, partner_in_path, require, scope
from aimanager.api.deps import Cursor, Limit, db, release
from aimanager.api.errors import PROBLEM_RESPONSES, Forbidden, Unprocessable
from aimanager.api.schemas import (
    AccountConnect,
    AccountOut,
    ImportOut,
    PartnerIn,
    PartnerOut,
    RotateIn,
    RowErrorOut,
)
from aimanager.api.state import AppState, get_state
from aimanager.connectors.registry import parse_account
from aimanager.db.models import Partner
from aimanager.domain.enums import Marketplace
from aimanager.pipelines.catalog.files import read_rows
from aimanager.pipelines.catalog.importer import import_catalog
from aimanager.pipelines.catalog.report import CatalogImportError, ImportReport
from aimanager.pipelines.catalog.rows import clean_text
from aimanager.pipelines.services import account_health as health
from aimanager.pipelines.services import directory
from aimanager.pipelines.services.accounts import rotate_credentials, save_account

router = APIRouter(prefix="/v1", tags=["partners"], responses=PROBLEM_RESPONSES)
writer = require("admin", "staff", "partner")
MAX_UPLOAD = 20 * 1024 * 1024  # a 100-SKU catalog is kilobytes; this is only a guard


def _partner_out(row: directory.PartnerRow) -> PartnerOut:
    p = row.partner
    return PartnerOut(
        id=p.id,
        slug=p.slug,
        name=p.name,
        is_active=p.is_active,
        timezone=p.timezone,
        ai_budget_usd=p.ai_budget_usd,
        products=row.products,
        marketplaces=row.marketplaces,
        created_at=p.created_at,
    )


@router.get("/partners", response_model=pg.Page[PartnerOut])
async def list_partners(
    sc: Scope = Depends(scope),
    session: AsyncSession = Depends(db),
    limit: int = Limit,
    cursor: str | None = Cursor,
) -> pg.Page[PartnerOut]:
    after = pg.decode(cursor, (int,))
    rows = await directory.list_partners(
        session, sc.partner_ids, after_id=after[0] if after else None, limit=limit + 1
    )
    return pg.page([_partner_out(r) for r in rows], limit, lambda p: (p.id,))


@router.post("/partners", response_model=PartnerOut, dependencies=[Depends(operator)])
async def upsert_partner(body: PartnerIn, session: AsyncSession = Depends(db)) -> PartnerOut:
    row, _ = await directory.upsert_partner(session, body.slug, body.name, body.ai_budget_usd)
    await session.commit()
    listed = await directory.list_partners(session, {row.id})
    return _partner_out(listed[0])


@router.get("/partners/{partner}", response_model=PartnerOut)
async def get_partner(
    row: Partner = Depends(partner_in_path), session: AsyncSession = Depends(db)
) -> PartnerOut:
    return _partner_out((await directory.list_partners(session, {row.id}))[0])


def _account_out(row: Any, slug: str) -> AccountOut:
    return AccountOut(partner=slug, **directory.account_view(row))


@router.get("/accounts", response_model=pg.Page[AccountOut])
async def list_accounts(
    sc: Scope = Depends(scope),
    session: AsyncSession = Depends(db),
    partner: str | None = Query(None, max_length=64),
    limit: int = Limit,
    cursor: str | None = Cursor,
) -> pg.Page[AccountOut]:
    after = pg.decode(cursor, (int,))
    ids = await sc.narrow(session, partner)
    rows = await directory.list_accounts(session, ids, after_id=after[0] if after else None, limit=limit + 1)
    return pg.page([_account_out(r, slug) for r, slug in rows], limit, lambda a: (a.id,))


@router.post("/partners/{partner}/accounts", response_model=AccountOut, status_code=201)
async def connect_account(
    body: AccountConnect,
    row: Partner = Depends(partner_in_path),
    who: Any = Depends(writer),
    st: AppState = Depends(get_state),
    session: AsyncSession = Depends(db),
) -> AccountOut:
    """Validate the account, test it with one live read (unless ``test`` is false), then save it
    encrypted, replacing the partner's account on that marketplace. Staff may not write credentials."""
    if who.role == "staff":
        raise Forbidden("staff do not handle credentials: an admin or the partner connects accounts")
    account = parse_account(body.marketplace, body.credentials, body.settings)  # ConfigError → 422
    error = await health.check_account(account) if body.test else None
    if error is not None:
        raise Unprocessable(f"{body.marketplace.value}: connection test failed, nothing saved: {error}")
    saved = await save_account(
        session,
        st.box,
        partner_id=row.id,
        marketplace=body.marketplace,
        credentials=body.credentials,
        settings=body.settings,
    )
    saved.integration.token_expires_at = health.token_expiry(body.marketplace, body.credentials)
    await session.flush()
    if body.test:
        await health.record_account_result(session, saved.integration.id, None)
    await session.commit()
    return _account_out(saved.integration, row.slug)


@router.post("/partners/{partner}/accounts/{marketplace}/test", response_model=AccountOut)
async def test_account(
    marketplace: Marketplace,
    row: Partner = Depends(partner_in_path),
    st: AppState = Depends(get_state),
    session: AsyncSession = Depends(db),
) -> AccountOut:
    """Test a stored account with one live read and record the outcome on its health columns."""
    integration = await health.find_integration(session, row.id, marketplace)
    error = await health.check_account(health.open_account(st.box, integration))
    await health.record_account_result(session, integration.id, error)
    await session.commit()
    await session.refresh(integration)
    return _account_out(integration, row.slug)


@router.post("/partners/{partner}/accounts/{marketplace}/rotate", response_model=AccountOut)
async def rotate_account(
    marketplace: Marketplace,
    body: RotateIn,
    row: Partner = Depends(partner_in_path),
    who: Any = Depends(writer),
    st: AppState = Depends(get_state),
    session: AsyncSession = Depends(db),
) -> AccountOut:
    """Replace an account's credentials, its settings and history kept (as ``aimanager accounts
    rotate``): the new ones are validated and tested live first; if the test fails the old ones stay
    and the answer is a 422. Staff may not write credentials."""
    if who.role == "staff":
        raise Forbidden("staff do not handle credentials: an admin or the partner rotates them")
    integration = await health.find_integration(session, row.id, marketplace)
    account = parse_account(marketplace, body.credentials, dict(integration.settings or {}))  # → 422
    await release(session)  # the live test may take seconds: hold no connection meanwhile
    error = await health.check_account(account) if body.test else None
    if error is not None:
        raise Unprocessable(
            f"{marketplace.value}: the new credentials failed the test, the old ones are kept: {error}"
        )
    async with st.sessions() as own, own.begin():
        integration = await health.find_integration(own, row.id, marketplace)
        await rotate_credentials(own, st.box, integration, body.credentials)
        if body.test:
            await health.record_account_result(own, integration.id, None)
    async with st.sessions() as own:
        integration = await health.find_integration(own, row.id, marketplace)
        return _account_out(integration, row.slug)


@router.delete("/partners/{partner}/accounts/{marketplace}", response_model=AccountOut)
async def disconnect_account(
    marketplace: Marketplace,
    row: Partner = Depends(partner_in_path),
    _: Any = Depends(operator),
    session: AsyncSession = Depends(db),
) -> AccountOut:
    """Stop using an account (kept, inactive; connecting again re-activates it)."""
    integration = await health.find_integration(session, row.id, marketplace)
    integration.active = False
    await session.commit()
    return _account_out(integration, row.slug)


def import_out(report: ImportReport) -> ImportOut:
    return ImportOut(
        file=report.file,
        checked=report.checked,
        rows=report.rows,
        imported_rows=report.imported_rows,
        products_created=report.products_created,
        products_updated=report.products_updated,
        listings=report.listings_created + report.listings_updated,
        bad_rows=report.bad_rows,
        errors=[RowErrorOut(row=e.row, field=e.field, cell=e.cell, message=e.message) for e in report.errors],
        warnings=report.warnings,
    )


async def import_upload(st: AppState, slug: str, upload: UploadFile, check: bool) -> ImportReport:
    """Import an uploaded CSV/XLSX for partner ``slug`` through the catalog importer. Every row must
    name that partner: a row naming another is refused before anything is written (the importer
    would create or change the other partner)."""
    name = Path(upload.filename or "catalog.csv").name
    if not name.lower().endswith((".csv", ".xlsx", ".txt")):
        raise Unprocessable(f"{name}: a catalog is a .csv or .xlsx file")
    data = await upload.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        raise Unprocessable(f"{name}: larger than {MAX_UPLOAD // 1024 // 1024} MB")
    with tempfile.TemporaryDirectory(prefix="aim-upload-") as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        try:
            scan = ImportReport(file=name, checked=True)
            mine = ("", slug.lower())
            others = sorted(
                {
                    r.number
                    for r in read_rows(path, scan)
                    if clean_text(str(r.cells.get("partner", ""))).lower() not in mine
                }
            )
            if others:
                raise Forbidden(
                    f"rows {', '.join(map(str, others[:20]))} name another partner than {slug!r}",
                    rows=others[:200],
                )
            return await import_catalog(path, st.engine, check=check)
        except CatalogImportError as exc:
            raise Unprocessable(str(exc)) from None


@router.post("/partners/{partner}/catalog", response_model=ImportOut)
async def upload_catalog(
    row: Partner = Depends(partner_in_path),
    file: UploadFile = File(...),
    check: bool = Query(False, description="Validate and count only; write nothing."),
    _: Any = Depends(writer),
    st: AppState = Depends(get_state),
    session: AsyncSession = Depends(db),
) -> Any:
    """Import a CSV or XLSX catalog for the partner. Good rows are imported in one transaction; bad
    rows are rejected each with its reasons — the answer is then a 422 problem whose ``errors`` lists
    them (row, column, cell, message) and whose ``report`` has the counts."""
    await release(session)
    report = await import_upload(st, row.slug, file, check)
    out = import_out(report)
    if report.errors:
        raise Unprocessable(
            report.summary(),
            errors=[e.model_dump() for e in out.errors],
            report=out.model_dump(exclude={"errors"}),
        )
    return out
