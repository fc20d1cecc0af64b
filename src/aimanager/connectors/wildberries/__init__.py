"""Wildberries connector (thin client on ``connectors.http``); limits and bulk sizes in ``limits``."""

from aimanager.connectors.wildberries.config import WildberriesCredentials, WildberriesSettings
from aimanager.connectors.wildberries.connector import WildberriesConnector, from_config
from aimanager.connectors.wildberries.limits import BULK_PROFILE

# The registry's names for this marketplace's account models (see ``connectors.registry``).
CREDENTIALS = WildberriesCredentials
SETTINGS = WildberriesSettings

__all__ = [
    "BULK_PROFILE",
    "CREDENTIALS",
    "SETTINGS",
    "WildberriesConnector",
    "WildberriesCredentials",
    "WildberriesSettings",
    "from_config",
]
