"""The catalog template ``aimanager import --template PATH`` writes: every column, what it holds, and
every marketplace's required attributes per category, so nobody has to read the code to fill it in.

* ``.xlsx`` — sheet ``catalog`` (the header; identifier columns formatted as Text so Excel keeps
  leading zeros and long barcodes), sheet ``columns`` (what each column holds, its format and
  currency) and sheet ``required attributes`` (marketplace × category → the attributes its card
  needs, under the names the ``attributes`` column accepts). Only the first sheet is imported.
* ``.csv`` — the header row, then comment rows (first cell ``# …``, the rest empty) with the same
  notes; the importer skips comment rows, so the filled-in template imports as it is.

The tables come from :mod:`aimanager.domain.rules` and :mod:`aimanager.domain.categories`, the same
rules the card validator applies, so the template cannot drift from them.
"""

from __future__ import annotations

import csv
from pathlib import Path

from aimanager.domain.categories import category_for, known_categories
from aimanager.domain.enums import Marketplace
from aimanager.domain.money import CURRENCY_PLACES, currency_for
from aimanager.domain.rules import ATTRIBUTE_ALIASES, MARKETPLACE_LABELS, rules_for
from aimanager.pipelines.catalog.files import IDENTIFIER_COLUMNS
from aimanager.pipelines.catalog.report import CatalogImportError
from aimanager.pipelines.catalog.rows import CLEAR, LISTING_FIELDS, PRODUCT_COLUMNS, REQUIRED_COLUMNS

# The prefix the template writes for each marketplace (the importer also takes wildberries_ and ym_).
TEMPLATE_PREFIX = {
    Marketplace.WILDBERRIES: "wb",
    Marketplace.OZON: "ozon",
    Marketplace.UZUM: "uzum",
    Marketplace.YANDEX: "yandex",
}
_PRODUCT_HELP = {
    "partner": ("text", "partner slug: latin letters, digits, - _ . (created on first import)"),
    "partner_name": ("text", "the partner's display name (used when the partner is created)"),
    "sku": ("text", "your article number; kept exactly as written (00123 stays 00123)"),
    "barcode": ("text", "EAN-8/13, UPC-A or GTIN-14, 8-14 digits; keep the column as Text"),
    "name": ("text", "product name as you sell it"),
    "brand": ("text", "brand; every marketplace requires it"),
    "category": ("text", "one of: " + ", ".join(known_categories())),
    "description": ("text", "facts for the card writer; several lines allowed"),
    "attributes": ("k=v; k=v or JSON", "characteristics, e.g. Вес, г=1050; Страна производства=Китай"),
    "images": (
        "URLs or files",
        "http(s) image URLs or photo files (paths relative to this file) separated by ; (at most 30)",
    ),
    "cost_price": ("number", "what one unit costs you, in the currency column's currency"),
    "currency": ("code", "currency of cost_price: " + ", ".join(CURRENCY_PLACES) + " (empty = UZS)"),
    "stock": ("whole number", "units you have, one pool for every marketplace"),
}
_LISTING_HELP = {
    "id": ("text", "the marketplace's id of the product (nmID, product_id, …) once it has one"),
    "sku": ("text", "your SKU on that marketplace when it differs (offer id, vendor code)"),
    "price": ("number", "current price"),
    "commission_pct": ("percent", "marketplace commission: 15, 15 % or an Excel percent cell"),
    "logistics": ("number", "logistics cost per unit"),
    "min_margin_pct": ("percent", "margin the repricer never goes below"),
    "max_price": ("number", "highest price the repricer may set"),
    "competitor_price": ("number", "a competitor's price, if you track one"),
}
_NUMBERS = (
    "Numbers: 1 250 000,50 or 1250000.50 or 1,250,000.50; a lone , or . before exactly three digits "
    "(1,250) is ambiguous and rejected. UZS amounts are whole sums."
)
_CLEARING = (
    f"Re-import: an empty cell or a missing column keeps the stored value; a cell with only {CLEAR} "
    f"clears it (in attributes, name={CLEAR} removes one attribute)."
)


def template_columns() -> list[tuple[str, str, str, str]]:
    """(column, required?, format, what it holds) of every catalog column, in template order."""
    rows = [(c, "required" if c in REQUIRED_COLUMNS else "", *_PRODUCT_HELP[c]) for c in PRODUCT_COLUMNS]
    for mp, prefix in TEMPLATE_PREFIX.items():
        for suffix in LISTING_FIELDS:
            kind, text = _LISTING_HELP[suffix]
            if kind == "number":
                text += f", in {currency_for(mp)} ({mp.value}'s currency)"
            rows.append((f"{prefix}_{suffix}", "", kind, f"{mp.value}: {text}"))
    return rows


def required_attributes() -> list[tuple[str, str, str, str, str, str]]:
    """(marketplace, category, marketplace category, attribute, marketplace label, names accepted)."""
    rows = []
    for category in known_categories():
        for mp in Marketplace:
            ref = category_for(category, mp)
            where = "" if ref is None else ref.category_id + (f" / type {ref.type_id}" if ref.type_id else "")
            for key in rules_for(mp).required_attributes:
                label = MARKETPLACE_LABELS.get(mp, {}).get(key, key)
                accepted = (
                    "the brand column" if key == "brand" else "; ".join(ATTRIBUTE_ALIASES.get(key, (key,)))
                )
                rows.append((mp.value, category, where, key, label, accepted))
    return rows


def marketplace_rules() -> list[str]:
    """One line per marketplace: the card rules beyond the required attributes."""
    lines = []
    for mp in Marketplace:
        r = rules_for(mp)
        extra = [f"title ≤ {r.title_max} characters", f"description ≤ {r.description_max}"]
        if r.title_min_words > 1:
            extra.append(f"title of at least {r.title_min_words} words")
        if r.min_attributes:
            extra.append(f"at least {r.min_attributes} characteristics")
        extra.append("languages " + " + ".join(r.languages))
        lines.append(f"{mp.value}: " + ", ".join(extra))
    return lines


def write_template(path: str | Path) -> Path:
    """Write the catalog template as XLSX (three sheets) or CSV (header + comment rows)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        raise CatalogImportError(f"{path.name}: the template is written as .xlsx or .csv")
    if path.exists():  # never over a catalog someone filled in
        raise CatalogImportError(f"{path}: already exists; remove it or choose another path")
    if not path.parent.is_dir():
        raise CatalogImportError(f"{path.parent}: no such directory")
    columns = template_columns()
    if suffix == ".csv":
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow([c for c, *_ in columns])
            for line in _comment_lines(columns):
                writer.writerow([f"# {line}"])
        return path
    _write_xlsx(path, columns)
    return path


def _comment_lines(columns: list[tuple[str, str, str, str]]) -> list[str]:
    lines = ["Catalog template: one row per product; delete these # rows or leave them (they are skipped).",
             _NUMBERS, _CLEARING]  # fmt: skip
    lines += [f"{c}: {'(required) ' if req else ''}{kind}; {text}" for c, req, kind, text in columns]
    lines.append("Required attributes per marketplace and category (attribute: marketplace label ← names "
                 "accepted in the attributes column):")  # fmt: skip
    by_group: dict[tuple[str, str, str], list[str]] = {}
    for mp, category, where, key, label, accepted in required_attributes():
        by_group.setdefault((mp, category, where), []).append(f"{key}: {label} ← {accepted}")
    lines += [f"{mp} / {cat} (category {where or '?'}): " + " | ".join(attrs)
              for (mp, cat, where), attrs in by_group.items()]  # fmt: skip
    lines += marketplace_rules()
    return lines


def _write_xlsx(path: Path, columns: list[tuple[str, str, str, str]]) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    catalog = wb.active
    assert catalog is not None
    catalog.title = "catalog"
    catalog.append([c for c, *_ in columns])
    for i, (column, required, *_) in enumerate(columns, start=1):
        letter = get_column_letter(i)
        catalog[f"{letter}1"].font = Font(bold=bool(required))
        catalog.column_dimensions[letter].width = max(12, len(column) + 2)
        if column in IDENTIFIER_COLUMNS:
            # Text format on the column: Excel keeps 00123 and 13-digit barcodes as typed.
            catalog.column_dimensions[letter].number_format = "@"
    catalog.freeze_panes = "A2"

    help_sheet = wb.create_sheet("columns")
    help_sheet.append(["column", "required", "format", "what it holds"])
    for column_row in columns:
        help_sheet.append(list(column_row))
    help_sheet.append([])
    for line in (_NUMBERS, _CLEARING, *marketplace_rules()):
        help_sheet.append([line])

    required = wb.create_sheet("required attributes")
    required.append(["marketplace", "category", "marketplace category", "attribute", "marketplace label",
                     "write it in attributes as (any of)"])  # fmt: skip
    for row in required_attributes():
        required.append(list(row))
    for sheet in (help_sheet, required):
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        sheet.freeze_panes = "A2"
    wb.save(path)
