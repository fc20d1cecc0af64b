"""Uzum card export: the seller cabinet's bulk XLSX template, filled from our cards.

Uzum's public API cannot create or edit cards (``reference/marketplace-apis.md`` §2.2), so a card "push"
produces the cabinet's bulk-upload file instead. The cabinet template is one category per file and one
row per SKU, with Russian *and* Uzbek (Latin) name, short description and description, plus IKPU, prices in
whole UZS, weight and dimensions (§2.4). We write one workbook per category:

* sheet ``Товары`` — row 1 the column labels (``*`` = required, as in the cabinet), data from row 2;
* sheet ``Колонки`` — key ↔ label of every column, so a program can read the file back without parsing
  labels (tests do);
* category filters (colour, material …) become extra ``Фильтр: <name>`` columns after the fixed ones.

Rows that cannot be valid in the cabinet (missing IKPU, non-integer price, empty Uzbek text…) are left out
of the file and returned as per-item problems, so the file itself is always ready to upload.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from aimanager.connectors.uzum.money import NonIntegerPrice, PriceRounding, to_uzs
from aimanager.domain.cards import CardDraft

SHEET_ROWS = "Товары"
SHEET_COLUMNS = "Колонки"
GROUP_KEY_MAX = 100
SHORT_DESCRIPTION_MAX = 300  # the cabinet's field is "1–2 selling sentences"; we cut at a sentence
IKPU_RE = re.compile(r"^\d{16,17}$")  # 16 digits per Uzum's template, 17 with the packaging code (YM)


@dataclass(frozen=True)
class UzumCardRow:
    """One SKU to export: the generated card plus the catalogue facts the template requires."""

    sku: str
    category: str
    card: CardDraft
    brand: str
    ikpu: str
    sell_price: Decimal
    full_price: Decimal
    photos: tuple[str, ...] = ()
    country: str = "Узбекистан"
    group_key: str | None = None  # SKUs of one product share it; defaults to the SKU
    barcode: str | None = None
    colour: str | None = None
    size: str | None = None
    weight_g: int | None = None
    height_mm: int | None = None
    width_mm: int | None = None
    length_mm: int | None = None
    filters: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ExportProblem:
    """Why one SKU was left out of the file."""

    sku: str
    field: str
    message: str


@dataclass(frozen=True)
class TemplateFile:
    """One category's workbook, ready for the cabinet's bulk upload."""

    category: str
    filename: str
    content: bytes
    skus: tuple[str, ...]


@dataclass(frozen=True)
class _Column:
    key: str
    label: str
    required: bool
    get: Callable[[UzumCardRow], object]


def short_description(text: str, limit: int = SHORT_DESCRIPTION_MAX) -> str:
    """The first one or two sentences of ``text`` (HTML stripped), within ``limit`` characters."""
    plain = re.sub(r"<[^>]+>", " ", text)
    plain = re.sub(r"\s+", " ", plain).strip()
    sentences = re.split(r"(?<=[.!?])\s+", plain)
    out = ""
    for sentence in sentences[:2]:
        candidate = f"{out} {sentence}".strip()
        if len(candidate) > limit:
            break
        out = candidate
    return out or plain[:limit].rstrip()


def _lines(items: Iterable[str]) -> str:
    return "\n".join(i.strip() for i in items if i.strip())


COLUMNS: tuple[_Column, ...] = (
    _Column("seller_item_code", "Артикул продавца", True, lambda r: r.sku),
    _Column("group_key", "Ключ группировки SKU", True, lambda r: (r.group_key or r.sku)[:GROUP_KEY_MAX]),
    _Column("category", "Категория", True, lambda r: r.category),
    _Column("name_ru", "Название (RU)", True, lambda r: r.card.ru.title),
    _Column("name_uz", "Nomi (UZ)", True, lambda r: r.card.uz.title),
    _Column("brand", "Бренд", True, lambda r: r.brand),
    _Column("country", "Страна производства", True, lambda r: r.country),
    _Column("short_ru", "Краткое описание (RU)", True, lambda r: short_description(r.card.ru.description)),
    _Column("short_uz", "Qisqa tavsif (UZ)", True, lambda r: short_description(r.card.uz.description)),
    _Column("description_ru", "Описание (RU)", True, lambda r: r.card.ru.description),
    _Column("description_uz", "Tavsif (UZ)", True, lambda r: r.card.uz.description),
    _Column("features_ru", "Характеристики (RU)", False, lambda r: _lines(r.card.ru.bullets)),
    _Column("features_uz", "Xususiyatlar (UZ)", False, lambda r: _lines(r.card.uz.bullets)),
    _Column("keywords_ru", "Ключевые слова (RU)", False, lambda r: ", ".join(r.card.ru.keywords)),
    _Column("keywords_uz", "Kalit so'zlar (UZ)", False, lambda r: ", ".join(r.card.uz.keywords)),
    _Column("photos", "Фото (ссылки через запятую)", True, lambda r: ", ".join(r.photos)),
    _Column("barcode", "Штрихкод", False, lambda r: r.barcode),
    _Column("ikpu", "ИКПУ", True, lambda r: r.ikpu),
    _Column("colour", "Цвет", False, lambda r: r.colour),
    _Column("size", "Размер", False, lambda r: r.size),
    _Column("sell_price", "Цена продажи, сум", True, lambda r: to_uzs(r.sell_price)),
    _Column("full_price", "Цена до скидки, сум", True, lambda r: to_uzs(r.full_price)),
    _Column("weight_g", "Вес, г", True, lambda r: r.weight_g),
    _Column("height_mm", "Высота, мм", True, lambda r: r.height_mm),
    _Column("width_mm", "Ширина, мм", True, lambda r: r.width_mm),
    _Column("length_mm", "Длина, мм", True, lambda r: r.length_mm),
)


def validate_row(row: UzumCardRow, rounding: PriceRounding = PriceRounding.REJECT) -> list[ExportProblem]:
    """Every reason the cabinet would refuse ``row``; empty when the row can be uploaded."""
    problems: list[ExportProblem] = []

    def bad(name: str, message: str) -> None:
        problems.append(ExportProblem(row.sku, name, message))

    for column in COLUMNS:
        if column.key in {"sell_price", "full_price"}:
            continue
        value = column.get(row)
        if column.required and (value is None or (isinstance(value, str) and not value.strip())):
            bad(column.key, f"required column '{column.label}' is empty")
    if row.ikpu and not IKPU_RE.match(row.ikpu):
        bad("ikpu", "IKPU must be 16 digits (17 with the packaging code)")
    prices: dict[str, int] = {}
    for name, value in (("sell_price", row.sell_price), ("full_price", row.full_price)):
        try:
            prices[name] = to_uzs(value, rounding=rounding)
        except NonIntegerPrice as exc:
            bad(name, str(exc))
    if len(prices) == 2 and prices["full_price"] < prices["sell_price"]:
        bad("full_price", "the pre-discount price is below the selling price")
    if len(row.group_key or row.sku) > GROUP_KEY_MAX:
        bad("group_key", f"longer than {GROUP_KEY_MAX} characters")
    return problems


def _safe_filename(category: str) -> str:
    slug = re.sub(r"[^\w-]+", "_", category, flags=re.UNICODE).strip("_")
    return f"uzum_{slug or 'category'}.xlsx"


def _filter_column(name: str) -> _Column:
    return _Column(f"filter:{name}", f"Фильтр: {name}", False, lambda r: r.filters.get(name))


def build_workbook(category: str, rows: list[UzumCardRow], rounding: PriceRounding) -> bytes:
    """One category's workbook in the cabinet template shape (rows assumed valid)."""
    filter_names = sorted({name for row in rows for name in row.filters})
    columns = list(COLUMNS) + [_filter_column(name) for name in filter_names]
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = SHEET_ROWS
    sheet.append([c.label + ("*" if c.required else "") for c in columns])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for row in rows:
        values: list[object] = []
        for column in columns:
            if column.key in {"sell_price", "full_price"}:
                values.append(to_uzs(getattr(row, column.key), rounding=rounding))
            else:
                values.append(column.get(row))
        sheet.append(values)
    sheet.freeze_panes = "A2"
    for index, column in enumerate(columns, start=1):
        wide = column.key.startswith(("description", "features", "short"))
        sheet.column_dimensions[get_column_letter(index)].width = 60 if wide else 22
    legend = book.create_sheet(SHEET_COLUMNS)
    legend.append(["key", "label", "required"])
    for column in columns:
        legend.append([column.key, column.label, "yes" if column.required else "no"])
    book.properties.title = f"Uzum bulk template: {category}"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def export_folder(root: Path, partner_slug: str, shop_id: object) -> Path:
    """Where a shop's exports go: ``<root>/<partner slug>/uzum-<shop id>`` (names made file-safe), so
    an operator with hundreds of partners finds each one's files by name."""
    return root / _safe_part(partner_slug) / f"uzum-{_safe_part(str(shop_id))}"


def _safe_part(text: str) -> str:
    cleaned = re.sub(r"[^\w.-]+", "-", text, flags=re.UNICODE).strip(".-")
    return cleaned or "unnamed"


def export_cards(
    rows: Iterable[UzumCardRow], *, rounding: PriceRounding = PriceRounding.REJECT
) -> tuple[list[TemplateFile], list[ExportProblem]]:
    """Group ``rows`` by category and build one template file per category.

    Returns the files and the problems of the rows left out. The order of files follows the first
    appearance of each category; rows keep their input order.
    """
    by_category: dict[str, list[UzumCardRow]] = {}
    problems: list[ExportProblem] = []
    for row in rows:
        found = validate_row(row, rounding)
        if found:
            problems.extend(found)
            continue
        by_category.setdefault(row.category, []).append(row)
    files = [
        TemplateFile(
            category=category,
            filename=_safe_filename(category),
            content=build_workbook(category, members, rounding),
            skus=tuple(r.sku for r in members),
        )
        for category, members in by_category.items()
    ]
    return files, problems
