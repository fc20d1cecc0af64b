"""Shared route dependencies: a database session per request and the common query parameters."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Path, Query
from sqlalchemy.ext.asyncio import AsyncSession

from aimanager.api.pagination import MAX_LIMIT
from aimanager.api.state import AppState, get_state


async def db(st: AppState = Depends(get_state)) -> AsyncIterator[AsyncSession]:
    async with st.sessions() as session:
        yield session


async def release(session: AsyncSession) -> None:
    """Give the request's connection back before a service opens its own: on SQLite the engine has
    ONE connection per process, and a route holding it while a service waits for it would wait for
    the pool's timeout."""
    await session.close()


Limit = Query(50, ge=1, le=MAX_LIMIT, description="Items per page.")
Cursor = Query(None, max_length=512, description="`next_cursor` of the previous page.")
PartnerFilter = Query(None, max_length=64, description="A partner id or slug.")

# Row ids are BIGINT on PostgreSQL: a larger number is no row (and must not reach the driver).
MAX_ID = 2**63 - 1
PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
QueryId = Annotated[int, Query(ge=1, le=MAX_ID)]
