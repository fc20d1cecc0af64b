"""Creating, listing and revoking API keys and console users — shared by the CLI and the API."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from aimanager.api.auth import check_role, hash_password, new_token, token_hash
from aimanager.api.tables import ApiKey, User
from aimanager.errors import ConfigError
from aimanager.pipelines.services.directory import find_partner


async def partner_id_of(session: AsyncSession, ref: str | None) -> int | None:
    if ref is None:
        return None
    row = await find_partner(session, ref)
    if row is None:
        raise ConfigError(f"no partner {ref!r}")
    return row.id


async def create_key(
    session: AsyncSession, name: str, role: str, partner: str | None = None
) -> tuple[ApiKey, str]:
    """A new key and its token (shown once; only its SHA-256 is stored). The caller commits."""
    partner_id = await partner_id_of(session, partner)
    try:
        check_role(role, partner_id)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    token = new_token()
    row = ApiKey(
        name=name, prefix=token[:10], token_sha256=token_hash(token), role=role, partner_id=partner_id
    )
    session.add(row)
    await session.flush()
    return row, token


async def list_keys(session: AsyncSession) -> list[ApiKey]:
    return list((await session.execute(select(ApiKey).order_by(ApiKey.id))).scalars())


async def revoke_key(session: AsyncSession, key_id: int) -> ApiKey:
    row = await session.get(ApiKey, key_id)
    if row is None:
        raise ConfigError(f"no API key {key_id}")
    if row.revoked_at is None:
        row.revoked_at = datetime.now(UTC)
    await session.flush()
    return row


async def add_user(
    session: AsyncSession,
    login: str,
    password: str,
    role: str,
    partner: str | None = None,
    language: str = "ru",
) -> User:
    """Add a console login (or reset its password, role and language). The caller commits."""
    partner_id = await partner_id_of(session, partner)
    try:
        check_role(role, partner_id)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    if len(password) < 8:
        raise ConfigError("a console password has at least 8 characters")
    row = (await session.execute(select(User).where(User.login == login))).scalar_one_or_none()
    if row is None:
        row = User(login=login)
        session.add(row)
    row.password_hash = hash_password(password)
    row.role, row.partner_id, row.language, row.active = role, partner_id, language, True
    await session.flush()
    return row


async def list_users(session: AsyncSession) -> list[User]:
    return list((await session.execute(select(User).order_by(User.id))).scalars())
