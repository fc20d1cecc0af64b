"""Uzum card exports land in ``<exports_dir>/<partner slug>/uzum-<shop id>/``, never the system temp dir."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path

from cryptography.fernet import Fernet
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aimanager.connectors.base import CardPush
from aimanager.connectors.uzum import UzumConnector
from aimanager.connectors.uzum.config import default_export_dir
from aimanager.db.crypto import CredentialBox
from aimanager.db.engine import make_engine, session_factory
from aimanager.db.models import Partner
from aimanager.domain.enums import Marketplace
from aimanager.pipelines.services.accounts import save_account
from aimanager.pipelines.services.connector_pool import ConnectorPool
from aimanager.schema.migrate import upgrade
from aimanager.settings import Settings


@asynccontextmanager
async def partner_acme(
    url: str, tmp_path: Path
) -> AsyncIterator[tuple[async_sessionmaker[AsyncSession], CredentialBox, int]]:
    """A fresh schema with partner ``acme``: its sessions, the credential box and the partner's id."""
    engine = make_engine(url)
    key = SecretStr(Fernet.generate_key().decode())  # a shared database needs the key given
    box = CredentialBox.from_settings(Settings(database_url=url, secret_key=key))
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


def card(offer: str) -> CardPush:
    return CardPush(
        offer_id=offer,
        category_id="Чайники",
        title="Чайник электрический Tefal KO1 1,7 л",
        description="Чайник быстро кипятит воду. Корпус из стали.",
        title_uz="Tefal KO1 elektr choynagi 1,7 l",
        description_uz="Choynak suvni tez qaynatadi.",
        brand="Tefal",
        price=Decimal(250000),
        images=["https://img.example/1.jpg"],
        weight_g=1200,
        length_mm=220,
        width_mm=160,
        height_mm=250,
        attributes={"Цвет": "белый"},
        extra={"ikpu": "1234567890123456"},
    )


async def test_exports_are_filed_by_partner_and_shop(db_url: str, tmp_path: Path) -> None:
    root = tmp_path / "exports"
    async with partner_acme(db_url, tmp_path) as (sessions, box, acme):
        async with sessions() as session, session.begin():
            other = Partner(slug="bobo-savdo", name="Bobo")
            session.add(other)
            await session.flush()
            for partner_id, shop in ((acme, 4242), (other.id, 77)):
                await save_account(
                    session,
                    box,
                    partner_id=partner_id,
                    marketplace=Marketplace.UZUM,
                    credentials={"token": "uzum-token-0123456789"},
                    settings={"shop_id": shop},
                )
            other_id = other.id
        pool = ConnectorPool(sessions, box, exports_dir=root)
        try:
            paths = []
            for partner_id in (acme, other_id):
                conn = await pool.get(partner_id, Marketplace.UZUM)
                assert isinstance(conn, UzumConnector)
                report = await conn.push_cards([card(f"SKU-{partner_id}")])
                assert report.export_path is not None and report.failed == []
                paths.append(report.export_path)
        finally:
            await pool.aclose()
    assert paths[0].parent == root / "acme" / "uzum-4242"
    assert paths[1].parent == root / "bobo-savdo" / "uzum-77"
    assert all(p.is_file() and p.suffix == ".xlsx" for p in paths)


async def test_an_accounts_own_export_dir_wins(db_url: str, tmp_path: Path) -> None:
    own = tmp_path / "cabinet-uploads"
    async with partner_acme(db_url, tmp_path) as (sessions, box, acme):
        async with sessions() as session, session.begin():
            await save_account(
                session,
                box,
                partner_id=acme,
                marketplace=Marketplace.UZUM,
                credentials={"token": "uzum-token-0123456789"},
                settings={"shop_id": 5, "export_dir": str(own)},
            )
        pool = ConnectorPool(sessions, box, exports_dir=tmp_path / "exports")
        try:
            conn = await pool.get(acme, Marketplace.UZUM)
            report = await conn.push_cards([card("SKU-1")])
        finally:
            await pool.aclose()
    assert report.export_path is not None and report.export_path.parent == own


def test_the_setting_defaults_to_a_folder_beside_the_operator() -> None:
    assert Settings().exports_dir == Path("exports")
    assert default_export_dir() == Path("exports")
