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
    """The kinds of work AI Manager does for a partner (the four of the brief, and images)."""

    CARDS = "cards"
    PRICING = "pricing"
    STOCK = "stock"
    ANALYTICS = "analytics"
    # Product images: fetched, checked, read by the vision tier, rendered and uploaded per marketplace.
    # Planned (after the partner's cards) only for products whose photos can be fetched
    # (``domain.images.fetchable``): placeholder URLs of sample catalogs plan nothing.
    IMAGES = "images"
