"""Sandbox accounts and seed catalogs shared by the sandbox tests."""

from __future__ import annotations

import uuid
from decimal import Decimal

from aimanager.connectors.registry import parse_credentials
from aimanager.domain.categories import known_categories
from aimanager.domain.enums import Marketplace
from aimanager_sandbox.common.seeding import SeedOffer

CATEGORIES = known_categories()


def account(mp: Marketplace) -> tuple[str, dict[str, str]]:
    """Fresh connector credentials and the account key they open (Ozon: the Client-Id)."""
    token = f"tok-{uuid.uuid4().hex}"
    if mp is Marketplace.OZON:
        credentials = {"client_id": str(uuid.uuid4().int % 10**9), "api_key": "key"}
    else:
        credentials = {"api_key": token} if mp is Marketplace.YANDEX else {"token": token}
    return parse_credentials(mp, credentials).account_key(), credentials


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
