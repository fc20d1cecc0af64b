"""Ozon connector (thin client on ``connectors.http``); limits and bulk sizes in ``limits``."""

from aimanager.connectors.ozon.config import OzonCredentials, OzonSettings
from aimanager.connectors.ozon.connector import OzonConnector, from_config
from aimanager.connectors.ozon.limits import BULK_PROFILE

# The registry's names for this marketplace's account models (see ``connectors.registry``).
CREDENTIALS = OzonCredentials
SETTINGS = OzonSettings

__all__ = [
    "BULK_PROFILE",
    "CREDENTIALS",
    "SETTINGS",
    "OzonConnector",
    "OzonCredentials",
    "OzonSettings",
    "from_config",
]
