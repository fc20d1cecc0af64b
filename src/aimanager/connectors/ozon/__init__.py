"""Ozon connector (thin client on ``connectors.http``); limits and bulk sizes in ``limits``."""

from aimanager.connectors.ozon.connector import OzonConnector, from_config
from aimanager.connectors.ozon.limits import BULK_PROFILE

__all__ = ["BULK_PROFILE", "OzonConnector", "from_config"]
