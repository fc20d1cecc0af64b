"""``aimanager sandbox up --catalog FILE --accounts-file OUT``: an account per partner of a catalog.

For a fleet (the 1,000-partner benchmark, an operator's rehearsal) one account per marketplace is not
enough: every partner of the catalog gets its own seller account on each marketplace it lists on,
already holding what a real seller's account holds before the product ever sees it:

* its offers at their current prices and stock — on Uzum as live cards (products exist there only
  through the seller cabinet, so a real Uzum shop already has them); on the other three the catalogue
  is left for the product's card push to create (``existing_cards=False``), as
  ``aimanager_lab.environment.connect_partners`` seeds them;
* an order/sales/finance history over those offers (``--history-days``), for analytics to read.

The accounts go to ``OUT`` as JSON Lines in the shape ``aimanager partners import`` reads, one account a
line (credentials included: the file is the operator's hand-over, keep it private)::

    {"partner": "partner-0001", "name": "…", "marketplace": "uzum", "credentials": {"token": "…"},
     "settings": {"shop_id": 4242, "time_scale": 0.05}, "base_url": "http://127.0.0.1:…"}

The catalog is the importer's CSV (``aimanager import --template``): ``partner``, ``partner_name``,
``sku``, ``barcode``, ``name``, ``category``, ``stock`` and per marketplace ``<wb|ozon|yandex|uzum>_price``
(a row without a price on a marketplace is not listed there).
"""

from __future__ import annotations

import csv
import json
import os
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from aimanager.connectors.registry import parse_credentials
from aimanager.domain.enums import Marketplace
from aimanager_sandbox.common.seeding import SeedOffer, seed_catalog

PREFIX = {
    Marketplace.WILDBERRIES: "wb",
    Marketplace.OZON: "ozon",
    Marketplace.YANDEX: "yandex",
    Marketplace.UZUM: "uzum",
}


@dataclass
class PartnerCatalog:
    """One partner's offers per marketplace, read from the catalog."""

    name: str
    offers: dict[Marketplace, list[SeedOffer]] = field(default_factory=lambda: defaultdict(list))


def _int(text: str | None) -> int:
    try:
        return max(0, int(Decimal(text or "0")))
    except InvalidOperation:
        return 0


def read_catalog(path: Path) -> dict[str, PartnerCatalog]:
    """The partners of a catalog CSV with their offers per marketplace, in file order; ``ValueError``
    naming the line for a row the sandbox cannot seed (no partner or SKU, a price that is no number)."""
    partners: dict[str, PartnerCatalog] = {}
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        for cells in reader:
            slug, sku = (cells.get("partner") or "").strip(), (cells.get("sku") or "").strip()
            if not slug or not sku:
                raise ValueError(f"{path.name} line {reader.line_num}: partner and sku are required")
            partner = partners.setdefault(slug, PartnerCatalog((cells.get("partner_name") or slug).strip()))
            for market, prefix in PREFIX.items():
                price_text = (cells.get(f"{prefix}_price") or "").strip()
                if not price_text:
                    continue
                try:
                    price = Decimal(price_text)
                except InvalidOperation:
                    raise ValueError(
                        f"{path.name} line {reader.line_num}: {prefix}_price {price_text!r} is not a number"
                    ) from None
                partner.offers[market].append(
                    SeedOffer(
                        offer_id=sku,
                        title=(cells.get("name") or sku)[:60],
                        category=(cells.get("category") or "").strip(),
                        price=price,
                        barcode=(cells.get("barcode") or "").strip() or None,
                        stock=_int(cells.get("stock")),
                    )
                )
    return partners


def open_partner_accounts(
    apps: dict[str, Any],
    catalog: dict[str, PartnerCatalog],
    *,
    time_scale: float,
    history_days: int,
    seed: int,
    credentials: Any,
) -> list[dict[str, Any]]:
    """Open and seed an account per partner and marketplace; the onboarding rows (without base URLs).

    ``credentials(market, name)``: fresh credentials in the marketplace's shape (``up.sandbox_credentials``).
    """
    rows: list[dict[str, Any]] = []
    for slug, partner in catalog.items():
        for market in Marketplace:
            offers = partner.offers.get(market)
            if not offers:
                continue
            creds = credentials(market, slug)
            key = parse_credentials(market, creds).account_key()  # the product's rule of which key opens it
            settings = seed_catalog(
                market,
                apps[market.value],
                key,
                offers,
                existing_cards=market is Marketplace.UZUM,
                history_days=history_days,
                seed=seed,
            )
            if time_scale != 1.0:
                settings = {**settings, "time_scale": time_scale}
            rows.append(
                {
                    "partner": slug,
                    "name": partner.name,
                    "marketplace": market.value,
                    "credentials": creds,
                    "settings": settings,
                }
            )
    return rows


def write_accounts(path: Path, rows: list[dict[str, Any]], urls: dict[str, str]) -> None:
    """The onboarding file, each row with its marketplace's address; written whole, then renamed, so a
    reader that sees it sees all of it."""
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps({**row, "base_url": urls[row["marketplace"]]}, ensure_ascii=False) + "\n")
    os.replace(tmp, path)
