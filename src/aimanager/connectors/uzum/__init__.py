"""Uzum Market connector: prices, FBS stocks, finance/products reads, and the XLSX card export."""

from aimanager.connectors.uzum.config import UzumCredentials, UzumSettings
from aimanager.connectors.uzum.connector import UzumConnector, from_config
from aimanager.connectors.uzum.limits import BULK_PROFILE

# The registry's names for this marketplace's account models (see ``connectors.registry``).
CREDENTIALS = UzumCredentials
SETTINGS = UzumSettings

__all__ = [
    "BULK_PROFILE",
    "CREDENTIALS",
    "SETTINGS",
    "UzumConnector",
    "UzumCredentials",
    "UzumSettings",
    "from_config",
]
