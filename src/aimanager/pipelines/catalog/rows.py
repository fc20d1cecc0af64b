"""Catalog rows: the columns, the pydantic row models and the per-row validation with error locations.

Hostile text is cleaned (control characters and HTML tags removed) or, when a value is longer than its
limit, the row is rejected with the column and the reason. See :mod:`aimanager.pipelines.catalog.importer`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

from aimanager.domain.enums import Marketplace
from aimanager.domain.money import CURRENCY_PLACES, MoneyError, to_decimal
from aimanager.errors import PipelineError

MAX_FILE_BYTES = 200 * 1024 * 1024
MAX_CELL = 20_000  # longer cells are hostile or broken; reject before any parsing
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


_TAGS = re.compile(r"<[^>]*>")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
_BARCODE = re.compile(r"^\d{8,14}$")


class CatalogImportError(PipelineError):
    """The file as a whole cannot be imported (not CSV/XLSX, corrupt, no header, database refused)."""


@dataclass(frozen=True)
class RowError:
    """One problem of one row: ``file:row N: field: message``."""

    file: str
    row: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: row {self.row}: {self.field}: {self.message}"


@dataclass
class ImportReport:
    """What an import did: counts, the rows it rejected and why, and warnings about the file."""

    file: str
    rows: int = 0
    imported_rows: int = 0
    partners_created: int = 0
    products_created: int = 0
    products_updated: int = 0
    listings_created: int = 0
    listings_updated: int = 0
    errors: list[RowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def bad_rows(self) -> list[int]:
        """Numbers of the rejected rows, ascending."""
        return sorted({e.row for e in self.errors})

    @property
    def ok(self) -> bool:
        """True when every row was imported."""
        return not self.errors

    def summary(self) -> str:
        """One line for a CLI."""
        return (
            f"{self.file}: {self.imported_rows}/{self.rows} rows imported "
            f"({self.products_created} products new, {self.products_updated} updated, "
            f"{self.listings_created + self.listings_updated} listings), {len(self.bad_rows)} rows rejected"
        )


def clean_text(value: str, *, multiline: bool = False) -> str:
    """Control characters and HTML tags removed, whitespace collapsed (newlines kept if ``multiline``)."""
    value = _CONTROL.sub("", _TAGS.sub(" ", value))
    if multiline:
        lines = [" ".join(line.split()) for line in value.splitlines()]
        return "\n".join(line for line in lines if line)
    return " ".join(value.split())


def _text(limit: int, *, multiline: bool = False) -> Any:
    def check(value: Any) -> str | None:
        text = clean_text(str(value), multiline=multiline)
        if len(text) > limit:
            raise ValueError(f"{len(text)} characters, limit {limit}")
        return text or None

    return BeforeValidator(check)


def _money(value: Any) -> Decimal | None:
    if value is None or str(value).strip() == "":
        return None
    try:
        amount = to_decimal(str(value))
    except MoneyError as exc:
        raise ValueError(str(exc)) from None
    if amount < 0:
        raise ValueError("must not be negative")
    return amount


def _percent(value: Any) -> Decimal | None:
    amount = _money(str(value).strip().rstrip("%") if value is not None else None)
    if amount is not None and amount >= 100:
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
            if not re.match(r"^https?://[^\s<>\"']+$", url) or len(url) > 2000:
                raise ValueError(f"not an http(s) URL: {url[:60]!r}")
        if len(urls) > 30:
            raise ValueError(f"{len(urls)} images, at most 30 (WB/Ozon/YM limit)")
        return urls

    @field_validator("currency", mode="before")
    @classmethod
    def _currency(cls, value: Any) -> str:
        code = str(value or "UZS").strip().upper() or "UZS"
        if code not in CURRENCY_PLACES:
            raise ValueError(f"unknown currency {code[:10]!r}; expected one of {', '.join(CURRENCY_PLACES)}")
        return code

    @field_validator("stock", mode="before")
    @classmethod
    def _stock(cls, value: Any) -> int:
        text = str(value if value is not None else "").strip() or "0"
        try:
            number = to_decimal(text)
        except MoneyError:
            raise ValueError(f"not a whole number: {text[:20]!r}") from None
        if number != number.to_integral_value() or number < 0:
            raise ValueError(f"stock must be a whole number ≥ 0, got {text[:20]}")
        return int(number)


class ListingRow(BaseModel):
    """One marketplace's part of a row (columns ``<prefix>_<field>``)."""

    external_id: Annotated[str | None, _text(128)] = None
    external_sku: Annotated[str | None, _text(128)] = None
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
    row: int
    product: ProductRow
    listings: dict[Marketplace, dict[str, Any]]


def validate_row(file: str, row_no: int, cells: dict[str, str], report: ImportReport) -> GoodRow | None:
    """Validate one row completely; record its errors and return None if it has any."""
    errors: list[RowError] = []
    product: ProductRow | None = None
    for name, value in cells.items():
        if len(value) > MAX_CELL:
            errors.append(RowError(file, row_no, name, f"{len(value)} characters, cell limit {MAX_CELL}"))
    if errors:
        report.errors.extend(errors)
        return None
    try:
        product = ProductRow.model_validate({k: v for k, v in cells.items() if k in PRODUCT_COLUMNS and v})
    except ValidationError as exc:
        errors.extend(_row_errors(file, row_no, exc, ""))
    listings: dict[Marketplace, dict[str, Any]] = {}
    for prefix, mp in PREFIXES.items():
        raw = {
            LISTING_FIELDS[col[len(prefix) + 1 :]]: v for col, v in cells.items() if _of(col, prefix) and v
        }
        if not raw:
            continue
        try:
            listing = ListingRow.model_validate(raw)
        except ValidationError as exc:
            errors.extend(_row_errors(file, row_no, exc, prefix + "_"))
            continue
        listings.setdefault(mp, {}).update(listing.model_dump(exclude_none=True))
    if errors or product is None:
        report.errors.extend(errors)
        return None
    return GoodRow(row_no, product, listings)


def _of(column: str, prefix: str) -> bool:
    return column.startswith(prefix + "_") and column[len(prefix) + 1 :] in LISTING_FIELDS


def _row_errors(file: str, row_no: int, exc: ValidationError, prefix: str) -> list[RowError]:
    reverse = {v: k for k, v in LISTING_FIELDS.items()}
    out = []
    for err in exc.errors():
        name = str(err["loc"][0]) if err["loc"] else "row"
        column = prefix + reverse.get(name, name) if prefix else name
        message = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "missing":
            message = "required value is empty"
        elif err["type"] == "string_type" and err.get("input") is None:
            message = "empty once markup and control characters are removed"
        out.append(RowError(file, row_no, column, message))
    return out
