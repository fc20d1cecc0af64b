"""Yandex Market account: one ``Api-Key`` token; the business and the campaign are settings."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from aimanager.connectors.config import ConnectorSettings, MarketplaceCredentials, Secret
from aimanager.domain.enums import Marketplace


class YandexCredentials(MarketplaceCredentials):
    """``api_key``: the Api-Key token (sent as ``Api-Key``, never as a Bearer token)."""

    marketplace: ClassVar[Marketplace] = Marketplace.YANDEX

    api_key: Secret

    def account_key(self) -> str:
        """YM files an account (and counts its limits) under the Api-Key token."""
        return self.api_key.get_secret_value()


class YandexSettings(ConnectorSettings):
    """``business_id`` (catalogue, prices) and ``campaign_id`` (store: stocks, orders) are required;
    ``currency`` is the cabinet currency prices are sent in."""

    marketplace: ClassVar[Marketplace] = Marketplace.YANDEX

    business_id: int = Field(gt=0)
    campaign_id: int = Field(gt=0)
    currency: str = "UZS"
    poll_interval: float = Field(default=10.0, gt=0)
