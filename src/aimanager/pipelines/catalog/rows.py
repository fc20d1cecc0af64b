"""Catalog rows: the columns, the pydantic row models and the per-row validation with error locations.

Hostile text is cleaned (control characters and HTML tags removed) or, when a value is longer than its
limit, the row is rejected with the column and the reason. Numbers, percents and identifiers are read
by :mod:`aimanager.pipelines.catalog.values` (never guessed); money is checked against its currency
here. See :mod:`aimanager.pipelines.catalog.importer` for the whole picture.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

from aimanager.domain.enums import Marketplace
from aimanager.domain.money import CURRENCY_PLACES, currency_for, step
from aimanager.pipelines.catalog.currency import cost_in_marketplace_currency, fraction_message
from aimanager.pipelines.catalog.report import CatalogImportError, ImportReport, RowError
from aimanager.pipelines.catalog.values import Num, identifier_text, number_of, percent_of

if TYPE_CHECKING:
    from aimanager.pipelines.catalog.rates import RateTable

__all__ = [
    "CLEAR", "LISTING_FIELDS", "MAX_CELL", "MAX_FILE_BYTES", "PREFIXES", "PRODUCT_COLUMNS",
    "REQUIRED_COLUMNS", "CatalogImportError", "GoodRow", "ImportReport", "ListingRow", "ProductRow",
    "RowError", "clean_text", "parse_attributes", "validate_row",
]  # fmt: skip

MAX_FILE_BYTES = 200 * 1024 * 1024
MAX_CELL = 20_000  # longer cells are hostile or broken; reject before any parsing
CLEAR = "-"  # a cell holding only this clears the stored value (an empty cell keeps it)
PREFIXES: dict[str, Marketplace] = {
    "wb": Marketplace.WILDBERRIES,
    "wildberries": Marketplace.WILDBERRIES,
    "ozon": Marketplace.OZON,
    "uzum": Marketplace.UZUM,
    "yandex": Marketplace.YANDEX,
    "ym": Marketplace.YANDEX,
}
LISTING_FIELDS = {
    "id": "external_id",
    "sku": "external_sku",
    "price": "price",
    "commission_pct": "commission_pct",
    "logistics": "logistics_cost",
    "min_margin_pct": "min_margin_pct",
    "max_price": "max_price",
    "competitor_price": "competitor_price",
}
PRODUCT_COLUMNS = (
    "partner", "partner_name", "sku", "barcode", "name", "brand", "category", "description",
    "attributes", "images", "cost_price", "currency", "stock",
)  # fmt: skip
REQUIRED_COLUMNS = ("partner", "sku", "name")
# Product columns a "-" may clear; the others are required or have a value that means "none" (stock 0).
CLEARABLE = frozenset({"barcode", "brand", "category", "description", "attributes", "images", "cost_price"})
# Listing column → (its prefix, the listing field it fills)
_LISTING_COLUMNS = {f"{p}_{suffix}": (p, name) for p in PREFIXES for suffix, name in LISTING_FIELDS.items()}
# Listing amounts are in the marketplace's currency; these must fit its smallest step (whole UZS).
_LISTING_MONEY = ("price", "logistics_cost", "max_price", "competitor_price")

_TAGS = re.compile(r"<[^>]*>")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
_BARCODE = re.compile(r"^\d{8,14}$")


def clean_text(value: str, *, multiline: bool = False) -> str:
    """Control characters and HTML tags removed, whitespace collapsed (newlines kept if ``multiline``)."""
    value = _CONTROL.sub("", _TAGS.sub(" ", value))
    if multiline:
        lines = [" ".join(line.split()) for line in value.splitlines()]
        return "\n".join(line for line in lines if line)
    return " ".join(value.split())


def _text(limit: int, *, multiline: bool = False) -> Any:
    def check(value: Any) -> str | None:
        text = clean_text(value.text() if isinstance(value, Num) else str(value), multiline=multiline)
        if len(text) > limit:
            raise ValueError(f"{len(text)} characters, limit {limit}")
        return text or None

    return BeforeValidator(check)


def _currency_code(value: Any) -> str:
    code = str(value or "UZS").strip().upper() or "UZS"
    if code not in CURRENCY_PLACES:
        raise ValueError(f"unknown currency {code[:10]!r}; expected one of {', '.join(CURRENCY_PLACES)}")
    return code


def _money(value: Any) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    amount = number_of(value)
    if amount < 0:
        raise ValueError("must not be negative")
    return amount


def _percent(value: Any) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    amount = percent_of(value)
    if amount < 0:
        raise ValueError("must not be negative")
    if amount >= 100:
        raise ValueError("a percentage must be below 100")
    return amount


OptText = Annotated[str | None, _text(255)]
OptMoney = Annotated[Decimal | None, BeforeValidator(_money)]
OptPercent = Annotated[Decimal | None, BeforeValidator(_percent)]


class ProductRow(BaseModel):
    """The product part of a row (pydantic v2 validation; errors name the column)."""

    model_config = ConfigDict(str_strip_whitespace=True)

    partner: Annotated[str, _text(64)]
    partner_name: OptText = None
    sku: Annotated[str, _text(128)]
    barcode: Annotated[str | None, _text(64)] = None
    name: Annotated[str, _text(500)]
    brand: OptText = None
    category: OptText = None
    description: Annotated[str | None, _text(5000, multiline=True)] = None
    attributes: dict[str, str] = Field(default_factory=dict)
    images: list[str] = Field(default_factory=list)
    cost_price: OptMoney = None
    currency: str = "UZS"
    stock: int = 0

    @field_validator("partner")
    @classmethod
    def _slug(cls, value: str) -> str:
        value = value.lower()
        if not _SLUG.match(value):
            raise ValueError("partner slug must be latin letters, digits, '-', '_' or '.' (≤ 64)")
        return value

    @field_validator("sku", mode="before")
    @classmethod
    def _sku(cls, value: Any) -> str:
        return identifier_text(value)

    @field_validator("barcode", mode="before")
    @classmethod
    def _barcode_cell(cls, value: Any) -> str:
        return identifier_text(value, barcode=True)

    @field_validator("barcode")
    @classmethod
    def _barcode(cls, value: str | None) -> str | None:
        if value is not None and not _BARCODE.match(value):
            raise ValueError("barcode must be 8-14 digits (EAN-8/13, UPC-A, GTIN-14)")
        return value

    @field_validator("attributes", mode="before")
    @classmethod
    def _attributes(cls, value: Any) -> dict[str, str]:
        return parse_attributes(str(value or ""))

    @field_validator("images", mode="before")
    @classmethod
    def _images(cls, value: Any) -> list[str]:
        urls = [u.strip() for u in str(value or "").split(";") if u.strip()]
        for url in urls:
            scheme = re.match(r"^([a-zA-Z][a-zA-Z0-9+.-]*):", url)
            # A photo is an http(s) URL or a file: a ``file:`` URL or a path (relative to the catalog's
            # folder), resolved and checked by the importer. A Windows drive letter is a path, not a scheme.
            is_path = scheme is None or scheme[1].lower() == "file" or len(scheme[1]) == 1
            if len(url) > 2000 or not (is_path or re.match(r"^https?://[^\s<>\"']+$", url)):
                raise ValueError(f"not an http(s) URL or a file path: {url[:60]!r}")
        if len(urls) > 30:
            raise ValueError(f"{len(urls)} images, at most 30 (WB/Ozon/YM limit)")
        return urls

    @field_validator("currency", mode="before")
    @classmethod
    def _currency(cls, value: Any) -> str:
        return _currency_code(value)

    @field_validator("stock", mode="before")
    @classmethod
    def _stock(cls, value: Any) -> int:
        if value is None or (isinstance(value, str) and not value.strip()):
            return 0
        try:
            number = number_of(value)
        except ValueError as exc:
            raise ValueError(f"not a whole number: {exc}") from None
        if number != number.to_integral_value() or number < 0:
            raise ValueError(f"stock must be a whole number ≥ 0, got {number}")
        return int(number)


class ListingRow(BaseModel):
    """One marketplace's part of a row (columns ``<prefix>_<field>``)."""

    # Annotated before-validators run last-first: the identifier check sees the raw cell.
    external_id: Annotated[str | None, _text(128), BeforeValidator(identifier_text)] = None
    external_sku: Annotated[str | None, _text(128), BeforeValidator(identifier_text)] = None
    price: OptMoney = None
    commission_pct: OptPercent = None
    logistics_cost: OptMoney = None
    min_margin_pct: OptPercent = None
    max_price: OptMoney = None
    competitor_price: OptMoney = None


def parse_attributes(text: str) -> dict[str, str]:
    """``{"k": "v"}`` JSON or ``k=v; k=v`` into a dict of strings; raises ValueError with the reason."""
    text = text.strip()
    if not text:
        return {}
    if text.startswith("{"):
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"invalid JSON ({exc.msg} at char {exc.pos})") from None
        if not isinstance(raw, dict):
            raise ValueError("JSON attributes must be an object")
        pairs = [(str(k), v) for k, v in raw.items()]
    else:
        pairs = []
        for part in text.split(";"):
            if not part.strip():
                continue
            if "=" not in part:
                raise ValueError(f"expected k=v, got {part.strip()[:40]!r}")
            key, value = part.split("=", 1)
            pairs.append((key, value))
    if len(pairs) > 100:
        raise ValueError(f"{len(pairs)} attributes, at most 100")
    out: dict[str, str] = {}
    for key, value in pairs:
        if isinstance(value, (dict, list)):
            raise ValueError(f"attribute {key[:40]!r} must be a plain value")
        k, v = clean_text(key), clean_text("" if value is None else str(value))
        if not k:
            raise ValueError("attribute with an empty name")
        if len(k) > 100 or len(v) > 1000:
            raise ValueError(f"attribute {k[:40]!r} too long (name ≤ 100, value ≤ 1000 characters)")
        out[k] = v
    return out


@dataclass
class GoodRow:
    """A valid row: the product fields it gives, those it clears, and its listings' fields.

    ``given`` names the product columns the row filled; ``cleared`` those it cleared with ``-``. A
    listing's dict maps a column to its value, or to None where the row cleared it.
    """

    row: int
    product: ProductRow
    listings: dict[Marketplace, dict[str, Any]]
    given: frozenset[str] = frozenset()
    cleared: frozenset[str] = frozenset()
    notes: list[str] = field(default_factory=list)


def validate_row(
    file: str,
    row_no: int,
    cells: Mapping[str, object],
    report: ImportReport,
    *,
    letters: Mapping[str, str] | None = None,
    rates: RateTable | None = None,
    problems: Iterable[tuple[str, str]] = (),
) -> GoodRow | None:
    """Validate one row completely; record its errors and return None if it has any.

    ``cells`` maps a column to its text (or a typed spreadsheet number); ``letters`` maps a column
    to its spreadsheet letter so errors name the cell; ``problems`` are the reader's findings about
    the row as a whole (a short or long row), which reject it before any cell is read.
    """

    def error(column: str, message: str) -> RowError:
        ref = f"{letters[column]}{row_no}" if letters and column in letters else None
        return RowError(file, row_no, column, message, ref)

    errors = [error(column, message) for column, message in problems]
    errors += [
        error(name, f"{len(v)} characters, cell limit {MAX_CELL}")
        for name, v in cells.items()
        if isinstance(v, str) and len(v) > MAX_CELL
    ]
    if errors:
        report.errors.extend(errors)
        return None
    product_cells: dict[str, object] = {}
    cleared: set[str] = set()
    listing_cells: dict[str, dict[str, object]] = {}
    for name, value in cells.items():
        if isinstance(value, str) and not value.strip():
            continue
        is_clear = isinstance(value, str) and value.strip() == CLEAR
        if name in PRODUCT_COLUMNS:
            if is_clear and name not in CLEARABLE:
                hint = "write 0" if name == "stock" else "it is required" if name in REQUIRED_COLUMNS else ""
                errors.append(error(name, f"'-' clears a field, but {name} cannot be cleared{', ' + hint}"))
            elif is_clear:
                cleared.add(name)
            else:
                product_cells[name] = value
        elif name in _LISTING_COLUMNS:
            listing_cells.setdefault(name, {})["value"] = None if is_clear else value
    product: ProductRow | None = None
    try:
        product = ProductRow.model_validate(product_cells)
    except ValidationError as exc:
        flagged = {e.field for e in errors}  # a required column given as "-" is reported once
        errors.extend(error(*e) for e in _row_errors(exc, {}) if e[0] not in flagged)
    listings: dict[Marketplace, dict[str, Any]] = {}
    for prefix, mp in PREFIXES.items():
        columns = {c: _LISTING_COLUMNS[c][1] for c in listing_cells if _LISTING_COLUMNS[c][0] == prefix}
        if not columns:
            continue
        raw = {f: listing_cells[c]["value"] for c, f in columns.items()}
        raw = {f: v for f, v in raw.items() if v is not None}
        try:
            listing = ListingRow.model_validate(raw)
        except ValidationError as exc:
            errors.extend(error(*e) for e in _row_errors(exc, {f: c for c, f in columns.items()}))
            continue
        fields = listings.setdefault(mp, {})
        fields.update({f: None for c, f in columns.items() if listing_cells[c]["value"] is None})
        fields.update({f: getattr(listing, f) for f in raw})
        currency = currency_for(mp)
        for column, name in columns.items():
            amount = fields.get(name)
            if name in _LISTING_MONEY and amount is not None and amount != amount.quantize(step(currency)):
                errors.append(error(column, fraction_message(amount, currency)))
    cost = _cost_given(product, product_cells)
    converted = None
    if cost is not None:
        converted = cost_in_marketplace_currency(*cost, set(listings), rates, errors, error)
    if errors or product is None:
        # Left to right as the spreadsheet shows them; problems of the whole row first.
        report.errors.extend(sorted(errors, key=lambda e: (len(e.cell or ""), e.cell or "")))
        return None
    if converted is not None:
        amount, currency, how = converted
        product = product.model_copy(update={"cost_price": amount, "currency": currency})
        report.conversions[how] += 1
    return GoodRow(row_no, product, listings, frozenset(product_cells), frozenset(cleared))


def _cost_given(product: ProductRow | None, cells: Mapping[str, object]) -> tuple[Decimal, str] | None:
    """The row's cost and its currency, also when another column failed (so every problem is said)."""
    if "cost_price" not in cells:
        return None
    if product is not None:
        return None if product.cost_price is None else (product.cost_price, product.currency)
    try:
        amount = _money(cells["cost_price"])
        currency = _currency_code(cells.get("currency"))
    except ValueError:  # already reported by the model
        return None
    return None if amount is None else (amount, currency)


def _row_errors(exc: ValidationError, columns: Mapping[str, str]) -> list[tuple[str, str]]:
    """(column, message) of each pydantic error; ``columns`` maps a listing field to its column."""
    out = []
    for err in exc.errors():
        name = str(err["loc"][0]) if err["loc"] else "row"
        message = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "missing":
            message = "required value is empty"
        elif err["type"] == "string_type" and err.get("input") is None:
            message = "empty once markup and control characters are removed"
        out.append((columns.get(name, name), message))
    return out
