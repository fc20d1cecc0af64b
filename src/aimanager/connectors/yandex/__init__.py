"""Yandex Market (Market Yandex Go) connector (thin client on ``connectors.http``); limits in ``limits``."""

from aimanager.connectors.yandex.config import YandexCredentials, YandexSettings
from aimanager.connectors.yandex.connector import YandexMarketConnector, from_config
from aimanager.connectors.yandex.limits import BULK_PROFILE

# The registry's names for this marketplace's account models (see ``connectors.registry``).
CREDENTIALS = YandexCredentials
SETTINGS = YandexSettings

__all__ = [
    "BULK_PROFILE",
    "CREDENTIALS",
    "SETTINGS",
    "YandexCredentials",
    "YandexMarketConnector",
    "YandexSettings",
    "from_config",
]
