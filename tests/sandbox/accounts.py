"""Sandbox accounts and seed catalogs shared by the sandbox tests."""

from __future__ import annotations

import uuid
from decimal import Decimal

from aimanager.domain.categories import known_categories
from aimanager.domain.enums import Marketplace
from aimanager_sandbox.marketplaces.seeding import SeedOffer

CATEGORIES = known_categories()


def account(mp: Marketplace) -> tuple[str, dict[str, str]]:
    """A fresh account key (Ozon: the Client-Id) and the connector credentials for it."""
    if mp is Marketplace.OZON:
        client_id = str(uuid.uuid4().int % 10**9)
        return client_id, {"client_id": client_id, "api_key": "key"}
    token = f"tok-{uuid.uuid4().hex}"
    return token, {"api_key": token} if mp is Marketplace.YANDEX else {"token": token}


def sample_offers(prefix: str, n: int, barcode_stem: str) -> list[SeedOffer]:
    """``n`` offers across our categories; ``barcode_stem`` keeps barcodes apart between tests."""
    return [
        SeedOffer(
            offer_id=f"{prefix}-{i}",
            title=f"Товар {i} ({CATEGORIES[i % len(CATEGORIES)]})",
            category=CATEGORIES[i % len(CATEGORIES)],
            price=Decimal(100_000 + 10_000 * i),
            barcode=f"{barcode_stem}{i}",
            stock=3 + i,
        )
        for i in range(n)
    ]
