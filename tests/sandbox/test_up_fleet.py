"""``sandbox up --catalog``: an account per partner and marketplace, holding what a real seller's account
holds before the product sees it, listed for ``aimanager partners import``."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from aimanager.cli.onboard_cmd import read_rows
from aimanager.connectors.registry import parse_credentials
from aimanager.domain.enums import Marketplace
from aimanager_lab.sample_catalog import generate_catalog, write_catalog
from aimanager_sandbox.common.snapshot import snapshot
from aimanager_sandbox.up import UpOptions, build_apps, sandbox_credentials
from aimanager_sandbox.up_fleet import open_partner_accounts, read_catalog, write_accounts


def test_every_partner_gets_a_seeded_account_per_marketplace(tmp_path: Path) -> None:
    rows = generate_catalog(2, 3)
    catalog = read_catalog(write_catalog(tmp_path / "catalog.csv", rows))
    assert list(catalog) == ["partner-0001", "partner-0002"]
    apps = build_apps(UpOptions(time_scale=0.01, llm=False, telegram=False))
    accounts = open_partner_accounts(
        apps, catalog, time_scale=0.01, history_days=7, seed=7, credentials=sandbox_credentials
    )
    assert len(accounts) == 8
    urls = {m.value: f"http://127.0.0.1:{9000 + i}" for i, m in enumerate(Marketplace)}
    out = tmp_path / "accounts.jsonl"
    write_accounts(out, accounts, urls)

    # The file is what `partners import` reads: every row parses, each with its marketplace's address.
    parsed, bad = read_rows(out)
    assert bad == [] and len(parsed) == 8
    assert {(r.partner, r.marketplace) for r in parsed} == {
        (p, m) for p in ("partner-0001", "partner-0002") for m in Marketplace
    }
    for row in parsed:
        assert row.settings["base_url"] == urls[row.marketplace.value]
        assert row.settings["time_scale"] == 0.01
    uzum = next(r for r in parsed if r.marketplace is Marketplace.UZUM and r.partner == "partner-0002")
    assert "shop_id" in uzum.settings  # the connector needs it, as a real cabinet shows it

    # Uzum shops already hold the partner's products as live cards at the catalog's price and stock;
    # Wildberries (like Ozon and Yandex Market) waits for the product's card push.
    first = rows[3]  # partner-0002's first SKU
    key = parse_credentials(Marketplace.UZUM, uzum.credentials).account_key()
    held = snapshot(Marketplace.UZUM, apps["uzum"], key)
    assert sorted(held) == sorted(r["sku"] for r in rows[3:])
    assert held[first["sku"]].price == Decimal(first["uzum_price"])
    assert held[first["sku"]].stock == int(first["stock"])
    wb = next(r for r in parsed if r.marketplace is Marketplace.WILDBERRIES and r.partner == "partner-0002")
    wb_key = parse_credentials(Marketplace.WILDBERRIES, wb.credentials).account_key()
    assert snapshot(Marketplace.WILDBERRIES, apps["wildberries"], wb_key) == {}
    assert all(json.loads(line)["credentials"] for line in out.read_text().splitlines())


def test_a_catalog_row_the_sandbox_cannot_seed_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "catalog.csv"
    path.write_text("partner,partner_name,sku,uzum_price\nacme,Acme,A-1,100\nacme,Acme,A-2,cheap\n")
    with pytest.raises(ValueError, match=r"catalog.csv line 3: uzum_price 'cheap' is not a number"):
        read_catalog(path)
    path.write_text("partner,partner_name,sku,uzum_price\n,Acme,A-1,100\n")
    with pytest.raises(ValueError, match="line 2: partner and sku are required"):
        read_catalog(path)
