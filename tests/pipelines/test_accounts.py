"""Saving a partner's marketplace account: validated first, credentials sealed, one row per marketplace."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aimanager.connectors.errors import AccountConfigError
from aimanager.connectors.uzum import UzumConnector
from aimanager.db.crypto import CredentialBox, generate_key
from aimanager.db.engine import make_engine, session_factory
from aimanager.db.models import MarketplaceIntegration, Partner
from aimanager.domain.enums import Marketplace
from aimanager.errors import ConfigError
from aimanager.pipelines.services.accounts import save_account
from aimanager.pipelines.services.connector_pool import ConnectorPool
from aimanager.schema.migrate import upgrade
from aimanager.settings import Settings

SECRET = "uzum-seller-token-3c9d1e7a"


@asynccontextmanager
async def partner_acme(
    url: str, tmp_path: Path
) -> AsyncIterator[tuple[async_sessionmaker[AsyncSession], CredentialBox, int]]:
    """A fresh schema with one partner: its sessions, the credential box and the partner's id."""
    engine = make_engine(url)
    # A shared database (PostgreSQL) needs the key given; SQLite makes a key file.
    key = None if url.startswith("sqlite") else SecretStr(generate_key())
    box = CredentialBox.from_settings(
        Settings(database_url=url, secret_key=key, secret_key_file=tmp_path / "key")
    )
    try:
        await upgrade(engine)
        sessions = session_factory(engine)
        async with sessions() as session, session.begin():
            partner = Partner(slug="acme", name="Acme")
            session.add(partner)
            await session.flush()
            partner_id = partner.id
        yield sessions, box, partner_id
    finally:
        await engine.dispose()


async def test_save_validates_seals_and_replaces(db_url: str, tmp_path: Path) -> None:
    async with partner_acme(db_url, tmp_path) as (sessions, box, partner_id):
        async with sessions() as session, session.begin():
            first = await save_account(
                session,
                box,
                partner_id=partner_id,
                marketplace=Marketplace.UZUM,
                credentials={"token": f" {SECRET}\n"},
                settings={"shop_id": "4242"},
            )
        assert first.created and first.account.marketplace is Marketplace.UZUM
        assert SECRET not in repr(first) and SECRET not in repr(first.account)

        async with sessions() as session:
            row = (await session.execute(select(MarketplaceIntegration))).scalar_one()
        assert row.partner_id == partner_id and row.marketplace == "uzum" and row.active
        assert SECRET.encode() not in row.credentials_encrypted  # encrypted at rest
        assert box.open(row.credentials_encrypted) == {"token": SECRET}  # normalised, then sealed
        assert row.settings == {"shop_id": 4242}

        # The pool opens the stored row with the same typed models.
        pool = ConnectorPool(sessions, box, overrides={Marketplace.UZUM: {"base_url": "http://127.0.0.1:9"}})
        try:
            conn = await pool.get(partner_id, Marketplace.UZUM)
            assert isinstance(conn, UzumConnector) and conn.shop_id == 4242
        finally:
            await pool.aclose()

        async with sessions() as session, session.begin():
            again = await save_account(
                session,
                box,
                partner_id=partner_id,
                marketplace="uzum",
                credentials={"token": SECRET},
                settings={"shop_id": 5151, "price_rounding": "round"},
            )
        assert not again.created and again.integration.id == row.id
        async with sessions() as session:
            row = (await session.execute(select(MarketplaceIntegration))).scalar_one()
        assert row.settings == {"shop_id": 5151, "price_rounding": "round"}


async def test_bad_account_is_refused_and_nothing_is_written(sqlite_url: str, tmp_path: Path) -> None:
    async with partner_acme(sqlite_url, tmp_path) as (sessions, box, partner_id):
        for credentials, settings, field in (
            ({"client_id": "123", "api_key": "  "}, {}, "credentials.api_key"),
            ({"client_id": "12a", "api_key": SECRET}, {}, "credentials.client_id"),
            ({"client_id": "123", "api_key": SECRET}, {"warehous_id": "1"}, "settings.warehous_id"),
        ):
            with pytest.raises(AccountConfigError) as info:
                async with sessions() as session, session.begin():
                    await save_account(
                        session,
                        box,
                        partner_id=partner_id,
                        marketplace=Marketplace.OZON,
                        credentials=credentials,
                        settings=settings,
                    )
            assert isinstance(info.value, ConfigError)
            assert list(info.value.problems) == [field] and field in str(info.value)
            assert "ozon" in str(info.value) and SECRET not in str(info.value)

        async with sessions() as session:
            count = (await session.execute(select(func.count()).select_from(MarketplaceIntegration))).scalar()
        assert count == 0
