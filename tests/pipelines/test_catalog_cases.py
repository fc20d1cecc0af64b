"""Import never guesses: every case of issue 12, each asserting the row-level message (or the file's
one error) and that nothing else in the database changed.

Each test starts from a stored catalog (two products, KR-1 and KR-2, with listings), imports a file
whose good row moves KR-1's stock and whose bad rows try to change KR-2, and compares the whole
database before and after: only KR-1's stock may differ.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from aimanager.db.models import Listing, Partner, Product
from aimanager.pipelines.catalog.importer import CatalogImportError, import_catalog
from aimanager.pipelines.catalog.rates import load_rates

COLUMNS = [
    "partner", "sku", "barcode", "name", "brand", "category", "description", "attributes", "images",
    "cost_price", "currency", "stock", "wb_id", "wb_price", "wb_commission_pct", "wb_logistics",
    "uzum_price", "uzum_commission_pct",
]  # fmt: skip
BASE = {
    "KR-1": {
        "partner": "acme", "sku": "KR-1", "barcode": "4600000000015", "name": "Чайник электрический Bosch",
        "brand": "Bosch", "category": "Электрочайники", "description": "Мощность 2400 Вт.",
        "attributes": "Вес, г=1050; Цвет=белый", "images": "https://img.example/1.jpg",
        "cost_price": "250000", "currency": "UZS", "stock": "12", "wb_id": "111", "wb_price": "390000",
        "wb_commission_pct": "17.5", "wb_logistics": "9000", "uzum_price": "380000",
        "uzum_commission_pct": "12",
    },
    "KR-2": {
        "partner": "acme", "sku": "KR-2", "barcode": "4006381333931", "name": "Кружка керамическая Luminarc",
        "brand": "Luminarc", "category": "Кружки", "description": "Объём 350 мл.",
        "attributes": "Объём, мл=350; Цвет=синий", "images": "https://img.example/2.jpg",
        "cost_price": "30000", "currency": "UZS", "stock": "40", "wb_id": "222", "wb_price": "59000",
        "wb_commission_pct": "15", "wb_logistics": "6000", "uzum_price": "57000",
        "uzum_commission_pct": "10",
    },
}  # fmt: skip


def write_csv(path: Path, rows: list[dict[str, str]], *, columns: list[str] = COLUMNS,
              encoding: str = "utf-8", delimiter: str = ",") -> Path:  # fmt: skip
    with path.open("w", newline="", encoding=encoding) as fh:
        writer = csv.writer(fh, delimiter=delimiter)
        writer.writerow(columns)
        writer.writerows([[r.get(c, "") for c in columns] for r in rows])
    return path


def good_row(stock: str = "99") -> dict[str, str]:
    """The row every case imports beside its bad ones: KR-1 with a new stock, nothing else."""
    return {"partner": "acme", "sku": "KR-1", "name": BASE["KR-1"]["name"], "stock": stock}


def kr2(**over: str) -> dict[str, str]:
    return {"partner": "acme", "sku": "KR-2", "name": BASE["KR-2"]["name"], **over}


async def snapshot(engine: AsyncEngine) -> dict[Any, dict[str, Any]]:
    """Every partner, product and listing, column by column (timestamps left out)."""
    skip = {"created_at", "updated_at"}
    out: dict[Any, dict[str, Any]] = {}
    async with engine.connect() as conn:
        for model, key in ((Partner, "slug"), (Product, "sku")):
            for row in (await conn.execute(select(model))).mappings():
                out[(model.__tablename__, row[key])] = {k: v for k, v in row.items() if k not in skip}
        listings = await conn.execute(select(Listing, Product.sku).join(Product))
        for row in listings.mappings():
            out[("listings", row["sku"], row["marketplace"])] = {
                k: v for k, v in row.items() if k not in skip
            }
    return out


async def expect_only(engine: AsyncEngine, before: dict[Any, dict[str, Any]], **kr1: Any) -> None:
    """The database equals ``before`` except KR-1's product columns given in ``kr1``."""
    after = await snapshot(engine)
    expected = {k: dict(v) for k, v in before.items()}
    expected[("products", "KR-1")].update(kr1)
    assert after == expected


@pytest.fixture
async def engine(sqlite_url: str) -> AsyncIterator[AsyncEngine]:
    from aimanager.db.engine import make_engine
    from aimanager.schema.migrate import upgrade

    engine = make_engine(sqlite_url)
    await upgrade(engine)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
async def stored(engine: AsyncEngine, tmp_path: Path) -> dict[Any, dict[str, Any]]:
    """The base catalog imported; returns the database snapshot."""
    report = await import_catalog(write_csv(tmp_path / "base.csv", list(BASE.values())), engine)
    assert report.ok and report.products_created == 2 and report.listings_created == 4, report.errors
    return await snapshot(engine)


def messages(report: Any) -> list[str]:
    return [str(e) for e in report.errors]


# --- encoding -------------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1251"])
async def test_whole_file_encodings(engine: AsyncEngine, tmp_path: Path, encoding: str) -> None:
    path = write_csv(tmp_path / "c.csv", list(BASE.values()), encoding=encoding, delimiter=";")
    report = await import_catalog(path, engine)
    assert report.ok, report.errors
    async with engine.connect() as conn:
        names = {sku: name for sku, name in (await conn.execute(select(Product.sku, Product.name))).all()}
        attrs = (await conn.execute(select(Product.attributes).where(Product.sku == "KR-2"))).scalar_one()
    assert names == {"KR-1": BASE["KR-1"]["name"], "KR-2": BASE["KR-2"]["name"]}
    assert attrs["Объём, мл"] == "350" and attrs["description"] == "Объём 350 мл."


async def test_utf8_file_with_one_cp1251_row_is_refused(
    engine: AsyncEngine, stored: dict[Any, dict[str, Any]], tmp_path: Path
) -> None:
    head = write_csv(tmp_path / "m.csv", [good_row(), kr2(brand="Люминарк")]).read_bytes()
    pasted = ",".join(["acme", "KR-3", "", "Сковорода Tefal"] + [""] * (len(COLUMNS) - 4)).encode("cp1251")
    path = tmp_path / "m.csv"
    path.write_bytes(head + pasted + b"\r\n")
    offset = len(head) + len("acme,KR-3,,")  # the first byte of "Сковорода" in Windows-1251
    with pytest.raises(CatalogImportError) as info:
        await import_catalog(path, engine)
    assert str(info.value) == (
        f"m.csv: mixed encodings: row 4 (line 4, byte 0xD1 at offset {offset}) is not UTF-8 but row 2 "
        "is UTF-8; nothing imported — save the whole file in one encoding (CSV UTF-8)"
    )
    assert await snapshot(engine) == stored


async def test_bom_file_with_a_cp1251_row_and_cp1251_file_with_a_utf8_row(
    engine: AsyncEngine, stored: dict[Any, dict[str, Any]], tmp_path: Path
) -> None:
    bom = write_csv(tmp_path / "b.csv", [good_row()], encoding="utf-8-sig").read_bytes()
    (tmp_path / "b.csv").write_bytes(bom + "acme,KR-2,,Кружка".encode("cp1251") + b"," * 14 + b"\r\n")
    with pytest.raises(CatalogImportError, match=r"b\.csv: mixed encodings: row 3 \(line 3, byte 0xCA at "
                       r"offset \d+\) is not UTF-8 but the file starts with a UTF-8 BOM"):  # fmt: skip
        await import_catalog(tmp_path / "b.csv", engine)
    old = write_csv(tmp_path / "w.csv", [good_row(), kr2(brand="Люминарк")], encoding="cp1251").read_bytes()
    (tmp_path / "w.csv").write_bytes(old + "acme,KR-3,,Сковорода".encode() + b"," * 14 + b"\r\n")
    with pytest.raises(CatalogImportError, match=r"w\.csv: mixed encodings: row 2 \(line 2, byte 0xD7 at "
                       r"offset \d+\) is not UTF-8 but row 4 is UTF-8"):  # fmt: skip
        await import_catalog(tmp_path / "w.csv", engine)
    assert await snapshot(engine) == stored


# --- identifiers ----------------------------------------------------------------------------------


async def test_sku_and_barcode_keep_leading_zeros_in_csv(engine: AsyncEngine, tmp_path: Path) -> None:
    row = {**BASE["KR-1"], "sku": "00123", "barcode": "0012345678905", "wb_id": "000777"}
    report = await import_catalog(write_csv(tmp_path / "z.csv", [row]), engine)
    assert report.ok, report.errors
    async with engine.connect() as conn:
        product = (await conn.execute(select(Product.sku, Product.barcode))).one()
        wb_id = (
            await conn.execute(select(Listing.external_id).where(Listing.marketplace == "wildberries"))
        ).scalar()
    assert tuple(product) == ("00123", "0012345678905") and wb_id == "000777"


async def test_barcode_lost_to_scientific_notation_is_rejected(
    engine: AsyncEngine, stored: dict[Any, dict[str, Any]], tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "e.csv", [good_row(), kr2(barcode="4.6E+12", brand="New")])
    report = await import_catalog(path, engine)
    assert messages(report) == [
        "e.csv: row 3: barcode (C3): '4.6E+12' is a number in scientific notation: a spreadsheet dropped "
        "its digits when it saved the file; format the column as Text and type it again"
    ]
    await expect_only(engine, stored, stock=99)


def xlsx(path: Path, rows: list[list[Any]], formats: dict[str, str] | None = None,
         header: list[str] | None = None) -> Path:  # fmt: skip
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(
        header or ["partner", "sku", "barcode", "name", "stock", "wb_commission_pct", "uzum_commission_pct"]
    )
    for r in rows:
        ws.append(r)
    for ref, fmt in (formats or {}).items():
        ws[ref].number_format = fmt
    wb.save(path)
    return path


async def test_xlsx_numeric_identifiers(
    engine: AsyncEngine, stored: dict[Any, dict[str, Any]], tmp_path: Path
) -> None:
    path = xlsx(
        tmp_path / "ids.xlsx",
        [
            ["acme", "KR-1", None, BASE["KR-1"]["name"], 99],  # row 2: good
            ["acme", "KR-2", 4600000000000, BASE["KR-2"]["name"], 1],  # row 3: 4.6e12, digits lost
            ["acme", "KR-2", "4006381333931", BASE["KR-2"]["name"], 12.5],  # row 4: fractional stock
            ["acme", 12.5, None, "Товар", 1],  # row 5: an SKU Excel turned into 12.5
            ["acme", dt.datetime(2024, 1, 2), None, "Товар", 1],  # row 6: "1-2" became a date
            ["acme", 12345678901234567, None, "Товар", 1],  # row 7: 17 digits
            ["acme", 123, 12345670, "Кружка 00123", 1],  # row 8: good, zero-padded SKU, EAN-8 number
            ["acme", 777, None, "Кружка 777", 1],  # row 9: good, General number SKU (warned)
        ],
        {"B8": "00000"},
    )
    report = await import_catalog(path, engine)
    assert messages(report) == [
        "ids.xlsx: row 3: barcode (C3): the cell holds the number 4600000000000, not text, and "
        "4600000000000 is not a valid GTIN (digits or leading zeros were lost); format the column as "
        "Text and type the barcode again",
        "ids.xlsx: row 4: stock (E4): stock must be a whole number ≥ 0, got 12.5",
        "ids.xlsx: row 5: sku (B5): the cell holds the number 12.5, not text; format the column as Text",
        "ids.xlsx: row 6: sku (B6): the cell holds a date or time (2024-01-02T00:00:00), not text: the "
        "spreadsheet turned the identifier into a date; format the column as Text and type it again",
        "ids.xlsx: row 7: sku (B7): the cell holds the 17-digit number 12345678901234600; Excel keeps only "
        "15 digits, so some were lost — format the column as Text and type it again",
    ]
    assert report.warnings == [
        "ids.xlsx: 1 SKU/id cell(s) are numbers, not text (B9): taken as the digits Excel shows; if they "
        "had leading zeros, format the column as Text and type them again"
    ]
    after = await snapshot(engine)
    assert after[("products", "00123")]["barcode"] == "12345670"
    assert after[("products", "777")]["name"] == "Кружка 777"
    del after[("products", "00123")], after[("products", "777")]
    expected = {k: dict(v) for k, v in stored.items()}
    expected[("products", "KR-1")]["stock"] = 99
    assert after == expected


# --- numbers, percent, currency -------------------------------------------------------------------


async def test_locale_numbers_and_ambiguous_ones(
    engine: AsyncEngine, stored: dict[Any, dict[str, Any]], tmp_path: Path
) -> None:
    rows = [
        {**good_row("1 250"), "cost_price": "1\u00a0250\u202f000", "wb_price": "1 500 000",
         "wb_logistics": "9000.00", "wb_commission_pct": "17,5"},  # row 2: good
        kr2(cost_price="1,250"),  # row 3
        kr2(wb_price="1.250"),  # row 4
        kr2(stock="1,250"),  # row 5
        kr2(wb_logistics="12 50"),  # row 6
    ]  # fmt: skip
    report = await import_catalog(write_csv(tmp_path / "n.csv", rows), engine)
    assert messages(report) == [
        "n.csv: row 3: cost_price (J3): ambiguous number '1,250': 1250 or 1.25? write 1250 (or 1 250) for "
        "the thousands, or 1,25 for the fraction",
        "n.csv: row 4: wb_price (N4): ambiguous number '1.250': 1250 or 1.25? write 1250 (or 1 250) for "
        "the thousands, or 1.25 for the fraction",
        "n.csv: row 5: stock (L5): not a whole number: ambiguous number '1,250': 1250 or 1.25? write 1250 "
        "(or 1 250) for the thousands, or 1,25 for the fraction",
        "n.csv: row 6: wb_logistics (P6): misplaced thousands separator in '12 50'",
    ]
    expected = {k: dict(v) for k, v in stored.items()}
    expected[("products", "KR-1")].update(stock=1250, cost_price=Decimal("1250000"))
    expected[("listings", "KR-1", "wildberries")].update(
        price=Decimal("1500000"), logistics_cost=Decimal("9000"), commission_pct=Decimal("17.5")
    )
    assert await snapshot(engine) == expected


async def test_percent_cells_read_as_percent(engine: AsyncEngine, tmp_path: Path) -> None:
    rows = [
        {**BASE["KR-1"], "wb_commission_pct": "15", "uzum_commission_pct": "15 %"},
        {**BASE["KR-2"], "wb_commission_pct": "15%", "uzum_commission_pct": "12,5\u00a0%"},
    ]
    assert (await import_catalog(write_csv(tmp_path / "p.csv", rows), engine)).ok
    path = xlsx(
        tmp_path / "p.xlsx",
        [
            ["acme", "KR-3", None, "Товар три", 1, 0.15, 0.125],
            ["acme", "KR-4", None, "Товар четыре", 1, 15, 7],
        ],
        {"F2": "0%", "G2": "0.0%"},
    )
    assert (await import_catalog(path, engine)).ok
    async with engine.connect() as conn:
        rows_ = await conn.execute(
            select(Product.sku, Listing.marketplace, Listing.commission_pct).join(Product)
        )
        got = {(sku, mp): pct for sku, mp, pct in rows_.all()}
    assert got == {
        ("KR-1", "wildberries"): 15, ("KR-1", "uzum"): 15, ("KR-2", "wildberries"): 15,
        ("KR-2", "uzum"): Decimal("12.5"), ("KR-3", "wildberries"): 15, ("KR-3", "uzum"): Decimal("12.5"),
        ("KR-4", "wildberries"): 15, ("KR-4", "uzum"): 7,
    }  # fmt: skip


async def test_cost_in_another_currency_needs_a_stated_rate(
    engine: AsyncEngine, stored: dict[Any, dict[str, Any]], tmp_path: Path
) -> None:
    rows = [good_row(), kr2(cost_price="2 000,50", currency="RUB", uzum_price="61000"),
            kr2(cost_price="25.5", currency="USD")]  # fmt: skip
    path = write_csv(tmp_path / "fx.csv", rows)
    report = await import_catalog(path, engine)
    assert messages(report) == [
        "fx.csv: row 3: cost_price (J3): the cost is in RUB but uzum prices are in UZS; write the cost in "
        'UZS or give a rates file (--rates) with a "RUB/UZS" rate',
        "fx.csv: row 4: cost_price (J4): the cost is in USD but the marketplaces' prices are in UZS; write "
        'the cost in UZS or give a rates file (--rates) with a "USD/UZS" rate',
    ]
    await expect_only(engine, stored, stock=99)

    # An inverse quote is not a stated rate: UZS/RUB does not convert a RUB cost.
    (tmp_path / "inverse.toml").write_text('"UZS/RUB" = "0.0071"\n')
    report = await import_catalog(path, engine, rates=load_rates(tmp_path / "inverse.toml"))
    assert [e.field for e in report.errors] == ["cost_price", "cost_price"]

    (tmp_path / "rates.toml").write_text('# CBU, 2025-05-01\n"RUB/UZS" = 140.07\n"USD/UZS" = "12 650"\n')
    report = await import_catalog(
        write_csv(tmp_path / "fx2.csv", rows[1:2]), engine, rates=load_rates(tmp_path / "rates.toml")
    )
    assert report.ok and report.notes() == ["1 cost price(s) converted RUB→UZS at 140.07 (rates.toml)"]
    expected = {k: dict(v) for k, v in stored.items()}
    expected[("products", "KR-1")]["stock"] = 99
    # 2000.50 × 140.07 = 280210.035 → rounded up to the whole sum: a floor never falls below cost.
    expected[("products", "KR-2")].update(cost_price=Decimal("280211"), currency="UZS")
    expected[("listings", "KR-2", "uzum")]["price"] = Decimal("61000")
    assert await snapshot(engine) == expected


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('"USD-UZS" = 12650\n', "r.toml: 'USD-UZS' is not a currency pair like \"USD/UZS\""),
        ('"USD/UZS" = 0\n', "r.toml: USD/UZS: the rate must be above zero"),
        ('"USD/UZS" = "12,650"\n', "r.toml: USD/UZS: ambiguous number '12,650'"),
        ("USD/UZS = 1\n", "r.toml: not a TOML rates file"),
        ("", "r.toml: no rates in the file"),
    ],
)
def test_bad_rates_file(tmp_path: Path, content: str, message: str) -> None:
    (tmp_path / "r.toml").write_text(content)
    with pytest.raises(CatalogImportError) as info:
        load_rates(tmp_path / "r.toml")
    assert str(info.value).startswith(message)


async def test_fractional_uzs_is_rejected(
    engine: AsyncEngine, stored: dict[Any, dict[str, Any]], tmp_path: Path
) -> None:
    rows = [{**good_row(), "uzum_price": "380 000,00"}, kr2(uzum_price="125 000,50"),
            kr2(cost_price="1000.5"), kr2(wb_logistics="99,99")]  # fmt: skip
    report = await import_catalog(write_csv(tmp_path / "uzs.csv", rows), engine)
    assert messages(report) == [
        "uzs.csv: row 3: uzum_price (Q3): 125000.50 UZS has a fraction; UZS prices are whole sums (no "
        "marketplace takes tiyin)",
        "uzs.csv: row 4: cost_price (J4): 1000.5 UZS has a fraction; UZS prices are whole sums (no "
        "marketplace takes tiyin)",
        "uzs.csv: row 5: wb_logistics (P5): 99.99 UZS has a fraction; UZS prices are whole sums (no "
        "marketplace takes tiyin)",
    ]
    await expect_only(engine, stored, stock=99)  # "380 000,00" is the stored whole sum


# --- row shape ------------------------------------------------------------------------------------


async def test_short_and_long_rows_are_rejected(
    engine: AsyncEngine, stored: dict[Any, dict[str, Any]], tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "shape.csv", [good_row()])
    width = len(COLUMNS)
    with path.open("a", encoding="utf-8", newline="") as fh:
        fh.write("acme,KR-2,,Кружка керамическая Luminarc,Luminarc,Кружки\r\n")  # row 3: short
        # row 4: an unquoted comma splits "Объём 0,35 л" in two: every later cell moves one right.
        fh.write(
            "acme,KR-2,,Кружка керамическая Luminarc,Luminarc,Кружки,Объём 0,35 л"
            + "," * (width - 7)
            + "5\r\n"
        )
    report = await import_catalog(path, engine)
    assert messages(report) == [
        f"shape.csv: row 3: cells: 6 cells but the header has {width}: a short row (a missing delimiter, "
        "or a line break inside an unquoted cell?)",
        f"shape.csv: row 4: cells: {width + 1} cells but the header has {width}: the extra cells (S4) would "
        "be lost — quote cells that contain the delimiter",
    ]
    await expect_only(engine, stored, stock=99)


async def test_xlsx_value_under_no_header_is_rejected(
    engine: AsyncEngine, stored: dict[Any, dict[str, Any]], tmp_path: Path
) -> None:
    path = xlsx(tmp_path / "wide.xlsx", [["acme", "KR-1", None, BASE["KR-1"]["name"], 99],
                                         ["acme", "KR-2", None, BASE["KR-2"]["name"], 1, None, None, "note"]],
                header=["partner", "sku", "barcode", "name", "stock"])  # fmt: skip
    report = await import_catalog(path, engine)
    assert messages(report) == [
        "wide.xlsx: row 3: cells: value(s) in column(s) with no header (H3) would be lost"
    ]
    await expect_only(engine, stored, stock=99)


async def test_unknown_columns_are_warned(
    engine: AsyncEngine, stored: dict[Any, dict[str, Any]], tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "u.csv", [{**good_row(), "colour": "red", "wb_prise": "1"}],
                     columns=[*COLUMNS, "colour", "wb_prise"])  # fmt: skip
    report = await import_catalog(path, engine)
    assert report.ok and report.warnings == ["u.csv: unknown column(s) ignored: colour, wb_prise"]
    await expect_only(engine, stored, stock=99)


# --- re-import merges -----------------------------------------------------------------------------


async def test_reimport_never_wipes_what_the_file_does_not_give(
    migrated_engine: AsyncEngine, tmp_path: Path
) -> None:
    engine = migrated_engine
    assert (await import_catalog(write_csv(tmp_path / "base.csv", list(BASE.values())), engine)).ok
    stored = await snapshot(engine)
    # Only partner, sku, name, stock columns; and a full-width file with every optional cell empty.
    narrow = write_csv(tmp_path / "narrow.csv", [good_row("5")], columns=["partner", "sku", "name", "stock"])
    assert (await import_catalog(narrow, engine)).ok
    empty = write_csv(tmp_path / "empty.csv", [good_row("5")])
    report = await import_catalog(empty, engine)
    assert report.ok and report.products_updated == 1
    await expect_only(engine, stored, stock=5)


async def test_a_dash_clears_a_field_on_purpose(migrated_engine: AsyncEngine, tmp_path: Path) -> None:
    engine = migrated_engine
    assert (await import_catalog(write_csv(tmp_path / "base.csv", list(BASE.values())), engine)).ok
    stored = await snapshot(engine)
    rows = [
        {**good_row(), "brand": "-", "description": "-", "attributes": "Цвет=-; Материал=сталь",
         "images": "-", "barcode": "-", "wb_logistics": "-"},  # row 2: clears
        kr2(name="-"),  # row 3: a required field cannot be cleared
        kr2(stock="-"),  # row 4
    ]  # fmt: skip
    report = await import_catalog(write_csv(tmp_path / "clear.csv", rows), engine)
    assert messages(report) == [
        "clear.csv: row 3: name (D3): '-' clears a field, but name cannot be cleared, it is required",
        "clear.csv: row 4: stock (L4): '-' clears a field, but stock cannot be cleared, write 0",
    ]
    expected = {k: dict(v) for k, v in stored.items()}
    expected[("products", "KR-1")].update(
        stock=99, brand=None, barcode=None, images=[], attributes={"Вес, г": "1050", "Материал": "сталь"}
    )
    expected[("listings", "KR-1", "wildberries")]["logistics_cost"] = None
    assert await snapshot(engine) == expected


# --- check, atomicity -----------------------------------------------------------------------------


async def test_check_reports_and_writes_nothing(
    engine: AsyncEngine, stored: dict[Any, dict[str, Any]], tmp_path: Path
) -> None:
    rows = [good_row(), {**BASE["KR-2"], "sku": "KR-9", "wb_price": "1,250"},
            {**BASE["KR-2"], "partner": "beta", "sku": "B-1"}]  # fmt: skip
    path = write_csv(tmp_path / "chk.csv", rows)
    report = await import_catalog(path, engine, check=True)
    assert report.checked and report.bad_rows == [3]
    assert (report.partners_created, report.products_created, report.products_updated) == (1, 1, 1)
    assert (report.listings_created, report.listings_updated) == (2, 0)
    assert report.summary() == (
        "chk.csv: check only, nothing written: 2/3 rows would be imported (1 products new, 1 updated, "
        "2 listings), 1 rows rejected"
    )
    assert await snapshot(engine) == stored
    alone = await import_catalog(path, None, check=True)  # no database: the file alone
    assert alone.bad_rows == [3] and alone.products_created == 0


async def test_database_error_leaves_nothing_half_imported(
    migrated_engine: AsyncEngine, tmp_path: Path
) -> None:
    from sqlalchemy import text

    engine = migrated_engine
    async with engine.begin() as conn:  # the listings insert will fail after the products went in
        await conn.execute(text("ALTER TABLE listings RENAME TO listings_gone"))
    with pytest.raises(CatalogImportError, match="database rejected the import, nothing written"):
        await import_catalog(write_csv(tmp_path / "a.csv", list(BASE.values())), engine)
    async with engine.connect() as conn:
        counts = [
            (await conn.execute(text(f"SELECT count(*) FROM {t}"))).scalar() for t in ("partners", "products")
        ]
        await conn.execute(text("ALTER TABLE listings_gone RENAME TO listings"))
        await conn.commit()
    assert counts == [0, 0]


# --- photo files ----------------------------------------------------------------------------------


async def test_photo_files_are_resolved_next_to_the_catalog_and_a_missing_one_is_the_rows_error(
    engine: AsyncEngine, stored: dict[Any, dict[str, Any]], tmp_path: Path
) -> None:
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "kr1.jpg").write_bytes(b"\xff\xd8\xff")  # the fetch checks the format, not import
    rows = [
        {**BASE["KR-1"], "images": "photos/kr1.jpg; https://img.example/1b.jpg"},
        {**BASE["KR-2"], "images": "photos/missing.jpg"},
    ]
    report = await import_catalog(write_csv(tmp_path / "photos.csv", rows), engine)
    assert [e.row for e in report.errors] == [3]
    assert "no such photo file" in messages(report)[0] and "I3" in messages(report)[0]
    after = await snapshot(engine)
    assert after[("products", "KR-1")]["images"] == [
        (tmp_path / "photos" / "kr1.jpg").resolve().as_uri(),
        "https://img.example/1b.jpg",
    ]
    # The bad row changed nothing of its product.
    assert after[("products", "KR-2")] == stored[("products", "KR-2")]


async def test_a_scheme_that_is_neither_http_nor_a_file_is_refused(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    rows = [{**BASE["KR-1"], "images": "ftp://img.example/1.jpg"}]
    report = await import_catalog(write_csv(tmp_path / "ftp.csv", rows), engine)
    assert not report.ok and "not an http(s) URL or a file path" in messages(report)[0]
