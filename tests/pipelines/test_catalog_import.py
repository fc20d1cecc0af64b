"""Catalog import: good + bad rows on SQLite and PostgreSQL, hostile text, corrupt files."""

from __future__ import annotations

import csv
import json
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from aimanager.db.models import Listing, Partner, Product
from aimanager.pipelines.catalog.importer import CatalogImportError, import_catalog, product_facts
from aimanager.pipelines.catalog.rows import parse_attributes

HEADER = [
    "partner", "partner_name", "sku", "barcode", "name", "brand", "category", "attributes", "images",
    "cost_price", "stock", "wb_id", "wb_commission_pct", "wb_logistics", "ozon_id", "ozon_commission_pct",
    "uzum_commission_pct", "uzum_logistics", "yandex_competitor_price",
]  # fmt: skip


def row(**over: str) -> list[str]:
    base = {
        "partner": "acme",
        "partner_name": "ACME LLC",
        "sku": "KR-1",
        "barcode": "4600000000017",
        "name": "Чайник электрический Bosch 1,7 л",
        "brand": "Bosch",
        "category": "Чайники",
        "attributes": "Вес, г=1050; Цвет=белый",
        "images": "https://img.example/1.jpg; https://img.example/2.jpg",
        "cost_price": "250 000",
        "stock": "12",
        "wb_id": "123456",
        "wb_commission_pct": "17.5",
        "wb_logistics": "9000",
        "ozon_id": "",
        "ozon_commission_pct": "",
        "uzum_commission_pct": "12",
        "uzum_logistics": "5250",
        "yandex_competitor_price": "",
    }
    base.update(over)
    return [base[h] for h in HEADER]


def write_csv(path: Path, rows: list[list[str]], delimiter: str = ",", encoding: str = "utf-8") -> Path:
    with path.open("w", newline="", encoding=encoding) as fh:
        writer = csv.writer(fh, delimiter=delimiter)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return path


def catalog_rows() -> list[list[str]]:
    return [
        row(),  # row 2: good
        row(sku="KR-2", cost_price="abc"),  # row 3: bad money
        row(sku="KR-3", attributes='{"Объём, мл": 1700, "Цвет": "чёрный"}', ozon_id="OZ-3",
            ozon_commission_pct="15", yandex_competitor_price="310000"),  # row 4: good, JSON attributes
        row(sku="KR-4", wb_commission_pct="140"),  # row 5: bad percent
        row(sku="", name="Без артикула"),  # row 6: missing sku
        row(sku="KR-6", images="javascript:alert(1)"),  # row 7: bad URL
        row(sku="KR-1", name="Дубль"),  # row 8: duplicate of row 2
        row(partner="beta", sku="B-1", name="<b>Кружка</b> керамическая\x07 350 мл", barcode="",
            stock="3.0"),  # row 9: good after cleaning
    ]  # fmt: skip


async def counts(engine: AsyncEngine) -> tuple[int, int, int]:
    async with engine.connect() as conn:
        p = (await conn.execute(select(func.count()).select_from(Partner))).scalar_one()
        pr = (await conn.execute(select(func.count()).select_from(Product))).scalar_one()
        li = (await conn.execute(select(func.count()).select_from(Listing))).scalar_one()
    return p, pr, li


async def test_good_and_bad_rows(migrated_engine: AsyncEngine, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "catalog.csv", catalog_rows())
    report = await import_catalog(path, migrated_engine)
    assert report.rows == 8 and report.imported_rows == 3
    assert report.bad_rows == [3, 5, 6, 7, 8]
    messages = [str(e) for e in report.errors]
    assert any(m.startswith("catalog.csv: row 3: cost_price (J3): not a number") for m in messages), messages
    assert any(
        m.startswith("catalog.csv: row 5: wb_commission_pct (M5): a percentage must be below 100")
        for m in messages
    ), messages
    assert any(m.startswith("catalog.csv: row 6: sku (C6): required value is empty") for m in messages), (
        messages
    )
    assert any(m.startswith("catalog.csv: row 7: images (I7): not an http(s) URL") for m in messages), (
        messages
    )
    assert "catalog.csv: row 8: sku (C8): duplicate of row 2" in messages
    assert await counts(migrated_engine) == (2, 3, 8)  # KR-1: 2, KR-3: 4, B-1: 2 listings

    async with migrated_engine.connect() as conn:
        products = {p.sku: p for p in (await conn.execute(select(Product))).all()}
        listings = (await conn.execute(select(Listing.marketplace, Listing.commission_pct))).all()
    assert set(products) == {"KR-1", "KR-3", "B-1"}  # nothing of the bad rows
    kr1 = products["KR-1"]
    assert kr1.cost_price == Decimal("250000") and kr1.stock == 12
    assert kr1.attributes == {"Вес, г": "1050", "Цвет": "белый"}
    assert kr1.images == ["https://img.example/1.jpg", "https://img.example/2.jpg"]
    assert products["KR-3"].attributes["Объём, мл"] == "1700"
    assert products["B-1"].name == "Кружка керамическая 350 мл" and products["B-1"].stock == 3
    assert ("wildberries", Decimal("17.5")) in [(m, c) for m, c in listings]


async def test_reimport_updates_without_duplicates(migrated_engine: AsyncEngine, tmp_path: Path) -> None:
    first = write_csv(tmp_path / "a.csv", [row()])
    await import_catalog(first, migrated_engine)
    second = write_csv(tmp_path / "b.csv", [row(stock="30", wb_logistics="", uzum_commission_pct="14")])
    report = await import_catalog(second, migrated_engine)
    assert report.products_updated == 1 and report.products_created == 0 and report.listings_updated == 2
    assert await counts(migrated_engine) == (1, 1, 2)
    async with migrated_engine.connect() as conn:
        stock = (await conn.execute(select(Product.stock))).scalar_one()
        wb = (
            await conn.execute(select(Listing.logistics_cost).where(Listing.marketplace == "wildberries"))
        ).scalar_one()
        uz = (
            await conn.execute(select(Listing.commission_pct).where(Listing.marketplace == "uzum"))
        ).scalar_one()
    assert stock == 30 and wb == Decimal("9000") and uz == Decimal("14")  # empty cell kept the old fee


async def test_xlsx_import_and_product_facts(migrated_engine: AsyncEngine, tmp_path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append([*HEADER, "description", "mystery"])
    values: list[object] = [*row(), "Мощность 2400 Вт.", "x"]
    values[HEADER.index("cost_price")] = 250000.0  # numeric cells arrive as floats
    values[HEADER.index("barcode")] = 4600000000015  # a valid EAN-13 stored as a number
    ws.append(values)
    path = tmp_path / "catalog.xlsx"
    wb.save(path)
    report = await import_catalog(path, migrated_engine)
    assert report.ok and report.imported_rows == 1
    assert any("mystery" in w for w in report.warnings)
    async with migrated_engine.connect() as conn:
        product = (await conn.execute(select(Product))).one()
    assert product.barcode == "4600000000015" and product.cost_price == Decimal("250000")
    facts = product_facts(product)  # type: ignore[arg-type]
    assert facts.description == "Мощность 2400 Вт." and "description" not in facts.attributes


async def test_hostile_text(migrated_engine: AsyncEngine, tmp_path: Path) -> None:
    rows = [
        row(sku="H-1", name="Я" * 100_000),  # 100 KB name
        row(sku="H-2", brand="<script>alert(1)</script>"),  # cleaned to "alert(1)"
        row(sku="H-3", attributes="{not json"),
        row(sku="H-4", name="<p></p>"),  # nothing left after cleaning
        row(sku="H-5", attributes=json.dumps({"k": {"nested": 1}})),
    ]
    path = write_csv(tmp_path / "hostile.csv", rows, delimiter=";", encoding="cp1251")
    report = await import_catalog(path, migrated_engine)
    messages = [str(e) for e in report.errors]
    assert any("row 2: name (E2): 100000 characters, cell limit" in m for m in messages), messages
    assert any("row 4: attributes (H4): invalid JSON" in m for m in messages), messages
    assert any("row 5: name (E5): empty once markup" in m for m in messages), messages
    assert any("row 6: attributes (H6): attribute 'k' must be a plain value" in m for m in messages), messages
    async with migrated_engine.connect() as conn:
        brands = (await conn.execute(select(Product.sku, Product.brand))).all()
    assert brands == [("H-2", "alert(1)")]


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("broken.xlsx", b"PK\x03\x04 this is not really a zip", "not a readable XLSX workbook"),
        ("catalog.pdf", b"%PDF-1.4", "not a CSV or XLSX file"),
        ("binary.csv", b"\x00\x01\x02", "binary content"),
        ("empty.csv", b"", "empty file"),
        ("nohead.csv", b"sku,name\nA,B\n", r"lacks required column\(s\): partner"),
    ],
)
async def test_bad_files_give_one_clear_error(
    sqlite_url: str, tmp_path: Path, name: str, content: bytes, expected: str
) -> None:
    from aimanager.db.engine import make_engine

    path = tmp_path / name
    path.write_bytes(content)
    engine = make_engine(sqlite_url)
    try:
        with pytest.raises(CatalogImportError, match=expected) as info:
            await import_catalog(path, engine)
        assert str(info.value).startswith(name)
    finally:
        await engine.dispose()


def test_parse_attributes() -> None:
    assert parse_attributes("a=1; b = два ;") == {"a": "1", "b": "два"}
    assert parse_attributes('{"a": 1.5, "b": null}') == {"a": "1.5", "b": ""}
    with pytest.raises(ValueError, match="expected k=v"):
        parse_attributes("just text")
