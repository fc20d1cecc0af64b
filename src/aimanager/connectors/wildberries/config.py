"""Wildberries account: one API token (sent raw in ``Authorization``) opens one seller account."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from aimanager.connectors.config import MarketplaceCredentials, Secret, WarehouseSettings
from aimanager.connectors.wildberries import limits as L
from aimanager.domain.enums import Marketplace


class WildberriesCredentials(MarketplaceCredentials):
    """``token``: the seller's API token (categories: content, prices, marketplace, statistics)."""

    marketplace: ClassVar[Marketplace] = Marketplace.WILDBERRIES

    token: Secret

    def account_key(self) -> str:
        """WB files an account under its token."""
        return self.token.get_secret_value()


class WildberriesSettings(WarehouseSettings):
    """``country``: ``"uz"`` reads the Uzbekistan commission fields (any other value the Russian
    ones); ``report_page_size``: rows per realisation-report page."""

    marketplace: ClassVar[Marketplace] = Marketplace.WILDBERRIES

    country: str = "uz"
    report_page_size: int = Field(default=L.REPORT_PAGE, gt=0)
