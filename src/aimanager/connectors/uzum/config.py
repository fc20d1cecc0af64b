"""Uzum Market account: one seller token (raw ``Authorization``); the shop is a setting."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import Field

from aimanager.connectors.config import ConnectorSettings, MarketplaceCredentials, Secret
from aimanager.connectors.uzum import models as M
from aimanager.connectors.uzum.money import PriceRounding
from aimanager.domain.enums import Marketplace


def default_export_dir() -> Path:
    """Where card exports go when nothing names a directory: ``./exports``, beside the operator's
    files. The worker names one per partner and shop (``export.export_folder``); never the system
    temp dir, which a reboot empties and nobody looks in."""
    return Path("exports")


class UzumCredentials(MarketplaceCredentials):
    """``token``: the seller API token from the cabinet (sent raw, no ``Bearer``)."""

    marketplace: ClassVar[Marketplace] = Marketplace.UZUM

    token: Secret

    def account_key(self) -> str:
        """Uzum files an account under its token."""
        return self.token.get_secret_value()


class UzumSettings(ConnectorSettings):
    """``shop_id`` is required; ``price_rounding`` is the policy for prices with a sub-sum part (see
    ``money``); ``export_dir`` receives the card XLSX; ``page_size`` is for catalogue and finance reads.
    Uzum answers every write synchronously, so ``poll_interval``/``task_timeout`` have nothing to do."""

    marketplace: ClassVar[Marketplace] = Marketplace.UZUM

    shop_id: int = Field(gt=0)
    price_rounding: PriceRounding = PriceRounding.REJECT
    export_dir: Path = Field(default_factory=default_export_dir)
    page_size: int = Field(default=M.PAGE_SIZE, gt=0)
