"""Is a partner's marketplace account working? Live tests, recorded outcomes and token expiry.

Three things an operator needs before the first failed push tells them:

* ``check_account`` — one cheap live read (yesterday's and today's orders) with the account's own
  credentials; the error text comes back redacted, ``None`` when the account answered;
* ``record_account_result`` — the outcome of any use of an account on its integration row
  (``last_success_at``, or ``last_error_at`` + a redacted, bounded ``last_error``). ``accounts test``
  and ``accounts rotate`` call it; handlers that use an account should too (see below);
* ``token_expiry`` — a Wildberries token is a JWT that carries its expiry (``exp``): read without
  verifying the signature (no network, no key) and stored in ``token_expires_at`` when an account is
  connected or rotated; ``health_of`` turns a row into what ``accounts list`` shows, with a warning
  ``EXPIRY_WARNING`` ahead of the expiry.

Where pipelines should call ``record_account_result`` (in the handler's own transaction, after the
connector call; the integration id is the row ``ConnectorPool`` opened): ``card_push._push_group``
after ``conn.push_cards``, the pricing and stock pushes after their ``update_prices``/``update_stocks``
call, and the order feed after ``read_orders`` — ``error=None`` when the marketplace answered (even
with per-item rejections: the account works), the error text when the call itself failed (auth,
timeout, 5xx after retries).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from aimanager.connectors.config import MarketplaceAccount
from aimanager.connectors.registry import make_connector, parse_account
from aimanager.db.crypto import CredentialBox
from aimanager.db.models import MarketplaceIntegration
from aimanager.domain.enums import Marketplace
from aimanager.errors import AIManagerError, ConfigError
from aimanager.logs import get_logger
from aimanager.redact import redact

log = get_logger("aimanager.pipelines.services.account_health")

# A connection test is one cheap read; a marketplace that does not answer in this long is "down".
CONNECTION_TEST_S = 30.0
# Warn this long before a token expires: a week leaves time to issue a new one in the cabinet.
EXPIRY_WARNING = timedelta(days=7)
# Stored error texts are bounded: a marketplace error body can be long, the list shows a line of it.
MAX_ERROR_CHARS = 500
SHORT_ERROR_CHARS = 60


def _utcnow() -> datetime:
    return datetime.now(UTC)


def jwt_expiry(token: str) -> datetime | None:
    """The ``exp`` claim of a JWT, as tz-aware UTC; ``None`` if ``token`` is not a JWT or has none.

    The signature is not verified: the expiry is for a warning, and only the marketplace can check it.
    """
    parts = token.strip().split(".")
    if len(parts) != 3:
        return None
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    exp = claims.get("exp") if isinstance(claims, dict) else None
    if isinstance(exp, bool) or not isinstance(exp, int | float):
        return None
    try:
        return datetime.fromtimestamp(exp, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def token_expiry(marketplace: Marketplace | str, credentials: Mapping[str, Any]) -> datetime | None:
    """When the account's token expires, where the token says so (Wildberries' JWTs); else ``None``."""
    if Marketplace(marketplace) is not Marketplace.WILDBERRIES:
        return None
    token = credentials.get("token")
    return jwt_expiry(str(token)) if token else None


def short_error(text: str | None, limit: int = SHORT_ERROR_CHARS) -> str:
    """One line of an error, cut to ``limit`` characters (for tables)."""
    if not text:
        return ""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


async def check_account(
    account: MarketplaceAccount, *, base_url: str | None = None, timeout_s: float = CONNECTION_TEST_S
) -> str | None:
    """One cheap live read with ``account``; the redacted reason it failed, or ``None`` if it answered."""
    connector = make_connector(account, base_url)
    secrets = list(account.credentials.revealed().values())
    try:
        today = _utcnow().date()
        async with asyncio.timeout(timeout_s):
            await connector.read_orders(today - timedelta(days=1), today)
    except (AIManagerError, TimeoutError, OSError) as exc:
        reason = str(exc) or ("no answer in time" if isinstance(exc, TimeoutError) else type(exc).__name__)
        return redact(reason, *secrets)
    finally:
        await connector.aclose()
    return None


async def record_account_result(
    session: AsyncSession, integration_id: int, error: str | None, *, now: datetime | None = None
) -> None:
    """Record one use of an account: a success (``error`` None) or its error, redacted and bounded.

    The caller owns the transaction. An unknown ``integration_id`` (the account was removed meanwhile)
    is ignored: the outcome of a job must not fail on its bookkeeping."""
    row = await session.get(MarketplaceIntegration, integration_id)
    if row is None:
        return
    at = now or _utcnow()
    if error is None:
        row.last_success_at = at
    else:
        row.last_error_at = at
        row.last_error = redact(error)[:MAX_ERROR_CHARS]
    await session.flush()
    log.info(
        "accounts.result",
        integration_id=integration_id,
        partner_id=row.partner_id,
        marketplace=row.marketplace,
        ok=error is None,
    )


async def record_account_use(
    session: AsyncSession, partner_id: int, marketplace: Marketplace, error: str | None
) -> None:
    """:func:`record_account_result` for the partner's active integration on ``marketplace`` — the row
    a handler's connector was opened from (``ConnectorPool``); nothing when there is none."""
    integration_id = await session.scalar(
        select(MarketplaceIntegration.id).where(
            MarketplaceIntegration.partner_id == partner_id,
            MarketplaceIntegration.marketplace == Marketplace(marketplace).value,
            MarketplaceIntegration.active.is_(True),
        )
    )
    if integration_id is not None:
        await record_account_result(session, integration_id, error)


async def find_integration(
    session: AsyncSession, partner_id: int, marketplace: Marketplace
) -> MarketplaceIntegration:
    """The partner's integration on ``marketplace`` (active or not); ConfigError if there is none."""
    row = (
        await session.execute(
            select(MarketplaceIntegration).where(
                MarketplaceIntegration.partner_id == partner_id,
                MarketplaceIntegration.marketplace == marketplace.value,
            )
        )
    ).scalar_one_or_none()
    if row is None:
        raise ConfigError(f"partner {partner_id} has no {marketplace.value} account")
    return row


def open_account(box: CredentialBox, row: MarketplaceIntegration) -> MarketplaceAccount:
    """The validated account stored on ``row`` (credentials decrypted in memory only)."""
    return parse_account(row.marketplace, box.open(row.credentials_encrypted), row.settings or {})


@dataclass(frozen=True)
class AccountHealth:
    """What ``accounts list`` shows about one account."""

    last_success_at: datetime | None
    last_error_at: datetime | None
    last_error: str | None
    token_expires_at: datetime | None
    warning: str | None  # the token expires within EXPIRY_WARNING, or has expired

    @property
    def state(self) -> str:
        """``ok`` (the last use succeeded), ``failing`` (it failed) or ``untested``."""
        if self.last_error_at and (self.last_success_at is None or self.last_error_at > self.last_success_at):
            return "failing"
        return "ok" if self.last_success_at else "untested"


def health_of(row: MarketplaceIntegration, now: datetime | None = None) -> AccountHealth:
    """The health of an integration row at ``now``."""
    at = now or _utcnow()
    warning = None
    expires = row.token_expires_at
    if expires is not None:
        left = expires - at
        if left <= timedelta(0):
            warning = f"token expired {expires:%Y-%m-%d}"
        elif left < EXPIRY_WARNING:
            warning = f"token expires in {max(1, left.days)} day(s) ({expires:%Y-%m-%d})"
    return AccountHealth(
        last_success_at=row.last_success_at,
        last_error_at=row.last_error_at,
        last_error=row.last_error,
        token_expires_at=expires,
        warning=warning,
    )
