"""Wildberries connector (thin client on ``connectors.http``); limits and bulk sizes in ``limits``."""

from aimanager.connectors.wildberries.connector import WildberriesConnector, from_config
from aimanager.connectors.wildberries.limits import BULK_PROFILE

__all__ = ["BULK_PROFILE", "WildberriesConnector", "from_config"]
