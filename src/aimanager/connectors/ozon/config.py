"""Ozon account: ``Client-Id`` + ``Api-Key`` headers; the Client-Id names the seller account."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field, StringConstraints

from aimanager.connectors.config import MarketplaceCredentials, Secret, WarehouseSettings
from aimanager.connectors.ozon import limits as L
from aimanager.domain.enums import Marketplace


class OzonCredentials(MarketplaceCredentials):
    """``client_id``: the seller's Client-Id (digits, not secret); ``api_key``: its API key."""

    marketplace: ClassVar[Marketplace] = Marketplace.OZON

    client_id: Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\d+$")]
    api_key: Secret

    def account_key(self) -> str:
        """Ozon files an account (and counts its limits) under the Client-Id, whatever the key."""
        return self.client_id


class OzonSettings(WarehouseSettings):
    """``vat`` goes on every card; ``page_size`` (reads) is capped at the API's 1,000. Import tasks
    can take an hour, hence the longer ``task_timeout``.

    ``currency_code``: the cabinet's settlement currency. ``None`` (the default) reads it from the
    account (the ``currency_code`` of its prices); a value pins it, and must then agree with what the
    account reports. Ozon documents RUB, BYN, KZT, EUR, USD and CNY; whether an Uzbek cabinet settles
    in UZS is not confirmed, so nothing assumes it (see ``OzonConnector.account_currency``)."""

    marketplace: ClassVar[Marketplace] = Marketplace.OZON

    currency_code: str | None = None
    vat: str = "0"
    page_size: int = Field(default=L.READ_PAGE, gt=0)
    task_timeout: float = Field(default=3600.0, gt=0)
