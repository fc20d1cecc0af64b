"""``aimanager import`` as an operator types it: exit 1 with the count and a per-row list, warnings
shown, ``--check`` writes nothing, ``--rates``, ``--template`` (XLSX and CSV), usage errors exit 2."""

from __future__ import annotations

import csv
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from aimanager.domain.categories import known_categories
from aimanager.domain.enums import Marketplace
from aimanager.domain.rules import RULES
from aimanager.pipelines.catalog.files import KNOWN_COLUMNS

pytestmark = pytest.mark.slow


def cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIMANAGER_")}
    env["AIMANAGER_DATABASE_URL"] = f"sqlite:///{cwd / 'aim.db'}"
    env["COLUMNS"] = "250"
    return subprocess.run(
        [sys.executable, "-m", "aimanager", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def products(cwd: Path) -> list[tuple[str, int]]:
    with sqlite3.connect(cwd / "aim.db") as db:
        return db.execute("SELECT sku, stock FROM products ORDER BY sku").fetchall()


def catalog(path: Path, rows: list[list[str]], header: list[str] | None = None) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header or ["partner", "sku", "name", "cost_price", "currency", "stock", "mystery"])
        writer.writerows(rows)
    return path


@pytest.fixture
def initialised(tmp_path: Path) -> Path:
    res = cli(tmp_path, "init")
    assert res.returncode == 0, res.stderr
    return tmp_path


def test_rejected_rows_exit_1_with_count_and_per_row_list(initialised: Path) -> None:
    path = catalog(
        initialised / "c.csv",
        [
            ["acme", "A-1", "Чайник", "250 000", "UZS", "5", "x"],  # row 2: good
            ["acme", "A-2", "Кружка", "1,250", "UZS", "5", ""],  # row 3: ambiguous
            ["acme", "A-3", "Сковорода", "100", "RUB", "1,5", ""],  # row 4: RUB cost, no rate; 1,5 stock
            ["acme", "A-4", "Рюкзак"],  # row 5: short
        ],
    )
    res = cli(initialised, "import", str(path))
    assert res.returncode == 1, res.stdout + res.stderr
    lines = [ln for ln in res.stdout.splitlines() if "catalog.imported" not in ln]  # the log line
    assert lines == [
        "warning: c.csv: unknown column(s) ignored: mystery",
        "c.csv: 1/4 rows imported (1 products new, 0 updated, 0 listings), 3 rows rejected",
        "3 row(s) rejected, nothing of them imported:",
        "  row 3: cost_price (D3): ambiguous number '1,250': 1250 or 1.25? write 1250 (or 1 250) for the "
        "thousands, or 1,25 for the fraction",
        "  row 4: cost_price (D4): the cost is in RUB but the marketplaces' prices are in UZS; write the "
        'cost in UZS or give a rates file (--rates) with a "RUB/UZS" rate; stock (F4): stock must be a '
        "whole number ≥ 0, got 1.5",
        "  row 5: cells: 3 cells but the header has 7: a short row (a missing delimiter, or a line break "
        "inside an unquoted cell?)",
    ]
    assert products(initialised) == [("A-1", 5)]


def test_check_writes_nothing_and_rates_convert(initialised: Path) -> None:
    path = catalog(initialised / "c.csv", [["acme", "A-1", "Чайник", "100,50", "RUB", "5", ""]])
    (initialised / "rates.toml").write_text('"RUB/UZS" = "140.07"\n')
    check = cli(initialised, "import", "--check", "--rates", "rates.toml", str(path))
    assert check.returncode == 0, check.stdout + check.stderr
    assert "c.csv: check only, nothing written: 1/1 rows would be imported (1 products new" in check.stdout
    assert products(initialised) == []
    res = cli(initialised, "import", "--rates", "rates.toml", str(path))
    assert res.returncode == 0, res.stdout + res.stderr
    assert "note: 1 cost price(s) converted RUB→UZS at 140.07 (rates.toml)" in res.stdout
    with sqlite3.connect(initialised / "aim.db") as db:
        assert db.execute("SELECT cost_price, currency FROM products").fetchall() == [(14078, "UZS")]


def test_check_without_a_database_checks_the_file(tmp_path: Path) -> None:
    path = catalog(tmp_path / "c.csv", [["acme", "A-1", "Чайник", "1.250", "UZS", "5", ""]])
    res = cli(tmp_path, "import", "--check", str(path))
    assert res.returncode == 1
    assert "not initialised" in res.stdout and "row 2: cost_price (D2): ambiguous number" in res.stdout


def test_mixed_encoding_file_is_one_line_error(initialised: Path) -> None:
    path = catalog(initialised / "m.csv", [["acme", "A-1", "Чайник", "1", "UZS", "5", ""]])
    path.write_bytes(path.read_bytes() + "acme,A-2,Кружка,1,UZS,5,\r\n".encode("cp1251"))
    res = cli(initialised, "import", str(path))
    assert res.returncode == 1
    assert res.stderr.strip().splitlines() == [res.stderr.strip()] and res.stderr.startswith(
        "error: m.csv: mixed encodings: row 3 (line 3, byte 0xCA at offset"
    )
    assert products(initialised) == []


@pytest.mark.parametrize(
    "args",
    [(), ("missing.csv",), ("--template", "t.xlsx", "c.csv"), ("c.csv", "--rates", "missing.toml")],
)
def test_usage_errors_exit_2(tmp_path: Path, args: tuple[str, ...]) -> None:
    catalog(tmp_path / "c.csv", [])
    res = cli(tmp_path, "import", *args)
    assert res.returncode == 2, res.stdout + res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and res.stderr.startswith("error: ")
    assert "Traceback" not in res.stderr


def test_xlsx_template_lists_every_column_and_required_attribute(tmp_path: Path) -> None:
    res = cli(tmp_path, "import", "--template", "template.xlsx")
    assert res.returncode == 0, res.stderr
    wb = load_workbook(tmp_path / "template.xlsx")
    assert wb.sheetnames == ["catalog", "columns", "required attributes"]
    header = [c.value for c in wb["catalog"][1]]
    assert set(header) <= KNOWN_COLUMNS and {"partner", "sku", "barcode", "cost_price", "currency"} <= set(
        header
    )
    for prefix in ("wb", "ozon", "uzum", "yandex"):
        for suffix in ("id", "sku", "price", "commission_pct", "logistics", "min_margin_pct", "max_price"):
            assert f"{prefix}_{suffix}" in header
    sku = get_column_letter(header.index("sku") + 1)
    assert wb["catalog"].column_dimensions[sku].number_format == "@"  # SKUs typed stay text
    listed = {(r[0], r[1], r[3]) for r in wb["required attributes"].iter_rows(min_row=2, values_only=True)}
    expected = {
        (mp.value, category, attr)
        for category in known_categories()
        for mp in Marketplace
        for attr in RULES[mp].required_attributes
    }
    assert listed == expected and len(expected) >= 4 * 8 * 2
    again = cli(tmp_path, "import", "--template", "template.xlsx")
    assert again.returncode == 1 and "already exists" in again.stderr


def test_csv_template_imports_once_filled(initialised: Path) -> None:
    res = cli(initialised, "import", "--template", "template.csv")
    assert res.returncode == 0, res.stderr
    rows = list(csv.reader((initialised / "template.csv").open(encoding="utf-8")))
    assert all(len(r) == 1 and r[0].startswith("# ") for r in rows[1:])
    notes = "\n".join(r[0] for r in rows[1:])
    assert (
        "uzum / Кружки (category Посуда): brand: Бренд ← the brand column | country: Страна-производитель"
        in notes
    )
    assert "ikpu: ИКПУ ← ikpu; икпу; mxik; мхик; код икпу" in notes
    empty = cli(initialised, "import", "template.csv")
    assert empty.returncode == 0 and "0/0 rows imported" in empty.stdout
    header = rows[0]
    filled = dict.fromkeys(header, "")
    filled.update(
        partner="acme", sku="00123", name="Кружка керамическая", stock="3", wb_commission_pct="15 %"
    )
    with (initialised / "template.csv").open("a", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerow([filled[h] for h in header])
    res = cli(initialised, "import", "template.csv")
    assert res.returncode == 0, res.stdout + res.stderr
    assert products(initialised) == [("00123", 3)]
