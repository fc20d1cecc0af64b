"""Enumerations shared by every layer: marketplaces and capabilities."""

from __future__ import annotations

import enum


class Marketplace(enum.StrEnum):
    """The four marketplaces an Uzbek seller lists on."""

    UZUM = "uzum"
    WILDBERRIES = "wildberries"
    OZON = "ozon"
    YANDEX = "yandex"


class Capability(enum.StrEnum):
    """The four kinds of work AI Manager does for a partner."""

    CARDS = "cards"
    PRICING = "pricing"
    STOCK = "stock"
    ANALYTICS = "analytics"
