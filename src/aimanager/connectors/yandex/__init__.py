"""Yandex Market (Market Yandex Go) connector (thin client on ``connectors.http``); limits in ``limits``."""

from aimanager.connectors.yandex.connector import YandexMarketConnector, from_config
from aimanager.connectors.yandex.limits import BULK_PROFILE

__all__ = ["BULK_PROFILE", "YandexMarketConnector", "from_config"]
