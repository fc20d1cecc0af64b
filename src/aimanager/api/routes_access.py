"""API keys, console users and the audit log: the admin's, never staff's or a partner's."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Query
from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from aimanager.api import access
from aimanager.api import pagination as pg
from aimanager.api.auth import admin_only
from aimanager.api.deps import Cursor, Limit, PathId, db
from aimanager.api.errors import PROBLEM_RESPONSES
from aimanager.api.schemas import ApiKeyCreated, ApiKeyIn, ApiKeyOut, AuditOut, UserIn, UserOut
from aimanager.api.tables import AuditEntry

router = APIRouter(
    prefix="/v1", tags=["access"], responses=PROBLEM_RESPONSES, dependencies=[Depends(admin_only)]
)


@router.get("/keys", response_model=list[ApiKeyOut])
async def keys(session: AsyncSession = Depends(db)) -> list[ApiKeyOut]:
    return [ApiKeyOut.model_validate(k) for k in await access.list_keys(session)]


@router.post("/keys", response_model=ApiKeyCreated, status_code=201)
async def create_key(body: ApiKeyIn, session: AsyncSession = Depends(db)) -> ApiKeyCreated:
    """A new key; its token is in this answer only."""
    row, token = await access.create_key(session, body.name, body.role, body.partner)
    await session.commit()
    return ApiKeyCreated(token=token, **ApiKeyOut.model_validate(row).model_dump())


@router.delete("/keys/{key_id}", response_model=ApiKeyOut)
async def revoke_key(key_id: PathId, session: AsyncSession = Depends(db)) -> ApiKeyOut:
    row = await access.revoke_key(session, key_id)
    await session.commit()
    return ApiKeyOut.model_validate(row)


@router.get("/users", response_model=list[UserOut])
async def users(session: AsyncSession = Depends(db)) -> list[UserOut]:
    return [UserOut.model_validate(u) for u in await access.list_users(session)]


@router.post("/users", response_model=UserOut, status_code=201)
async def add_user(body: UserIn, session: AsyncSession = Depends(db)) -> UserOut:
    row = await access.add_user(session, body.login, body.password, body.role, body.partner, body.language)
    await session.commit()
    return UserOut.model_validate(row)


@router.get("/audit", response_model=pg.Page[AuditOut])
async def audit(
    session: AsyncSession = Depends(db),
    limit: int = Limit,
    cursor: str | None = Cursor,
    actor: str | None = Query(None, max_length=96),
) -> pg.Page[AuditOut]:
    """Every write, newest first (``ix_audit_log_created``)."""
    query = select(AuditEntry)
    after = pg.decode(cursor, (datetime, int))
    if after is not None:
        at, last = after
        query = query.where(
            or_(AuditEntry.created_at < at, and_(AuditEntry.created_at == at, AuditEntry.id < last))
        )
    if actor is not None:
        query = query.where(AuditEntry.actor == actor)
    query = query.order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc()).limit(limit + 1)
    rows = [AuditOut.model_validate(r) for r in (await session.execute(query)).scalars()]
    return pg.page(rows, limit, lambda r: (r.created_at, r.id))
