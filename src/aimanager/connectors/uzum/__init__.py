"""Uzum Market connector: prices, FBS stocks, finance/products reads, and the XLSX card export."""

from aimanager.connectors.uzum.connector import UzumConnector, from_config
from aimanager.connectors.uzum.limits import BULK_PROFILE

__all__ = ["BULK_PROFILE", "UzumConnector", "from_config"]
