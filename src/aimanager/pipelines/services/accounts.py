"""Saving a partner's marketplace account: validated, credentials encrypted, one integration row.

The one way an account gets into the store. Credentials and settings are validated with the
marketplace's typed models (``connectors.registry.parse_account``) before anything is written, so a
bad account fails here, naming its fields (``AccountConfigError``), and not on the first sync. The
credentials are sealed with the ``CredentialBox``; the settings are stored as given (normalised,
defaults left out, so a later default change reaches the account). ``ConnectorPool`` opens the row
again with the same models::

    async with sessions() as session, session.begin():
        saved = await save_account(
            session, box, partner_id=7, marketplace=Marketplace.UZUM,
            credentials={"token": "…"}, settings={"shop_id": 4242},
        )

``rotate_credentials`` replaces only the credentials of an existing integration (its settings, state
and health history stay); the caller tests the new ones live first (``account_health.check_account``).
Both store the token's expiry where the token carries one (Wildberries' JWTs).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from aimanager.connectors.config import MarketplaceAccount
from aimanager.connectors.registry import parse_account
from aimanager.db.crypto import CredentialBox
from aimanager.db.models import MarketplaceIntegration
from aimanager.domain.enums import Marketplace
from aimanager.pipelines.services.account_health import token_expiry


@dataclass(frozen=True)
class SavedAccount:
    """The stored integration and the validated account it holds."""

    integration: MarketplaceIntegration
    account: MarketplaceAccount
    created: bool  # False: the partner's existing integration for the marketplace was replaced


async def save_account(
    session: AsyncSession,
    box: CredentialBox,
    *,
    partner_id: int,
    marketplace: Marketplace | str,
    credentials: Mapping[str, Any],
    settings: Mapping[str, Any] | None = None,
) -> SavedAccount:
    """Validate and store ``partner_id``'s account on ``marketplace`` (active); returns what was saved.

    A partner has one integration per marketplace: saving again replaces its credentials and
    settings and re-activates it. ``AccountConfigError`` (a ``ConfigError``) if the credentials or
    settings are invalid — raised before the session is touched. The caller owns the transaction.
    """
    market = Marketplace(marketplace)
    account = parse_account(market, credentials, settings)
    sealed = box.seal(account.credentials.revealed())
    row = (
        await session.execute(
            select(MarketplaceIntegration).where(
                MarketplaceIntegration.partner_id == partner_id,
                MarketplaceIntegration.marketplace == market.value,
            )
        )
    ).scalar_one_or_none()
    created = row is None
    if row is None:
        row = MarketplaceIntegration(partner_id=partner_id, marketplace=market.value)
        session.add(row)
    row.credentials_encrypted = sealed
    row.settings = account.stored_settings()
    row.active = True
    row.token_expires_at = token_expiry(market, account.credentials.revealed())
    await session.flush()
    return SavedAccount(integration=row, account=account, created=created)


async def rotate_credentials(
    session: AsyncSession,
    box: CredentialBox,
    row: MarketplaceIntegration,
    credentials: Mapping[str, Any],
) -> MarketplaceAccount:
    """Seal ``credentials`` on ``row`` in place of the old ones; returns the validated account.

    Validated with the row's stored settings first (``AccountConfigError`` before anything changes).
    The old error is cleared: it was about the old credentials. The caller owns the transaction."""
    account = parse_account(row.marketplace, credentials, row.settings or {})
    row.credentials_encrypted = box.seal(account.credentials.revealed())
    row.token_expires_at = token_expiry(row.marketplace, account.credentials.revealed())
    row.last_error = None
    row.last_error_at = None
    await session.flush()
    return account
