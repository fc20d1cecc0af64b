"""Catalog import from CSV or XLSX: validate every row, then upsert the good ones in one transaction.

Columns (header names are case-insensitive; unknown columns are reported and ignored):

* ``partner`` (slug, required), ``partner_name``; ``sku`` (required), ``barcode``, ``name`` (required),
  ``brand``, ``category``, ``description``;
* ``attributes`` — a JSON object or ``k=v; k=v``; ``images`` — ``;``-separated http(s) URLs;
* ``cost_price``, ``currency`` (default UZS), ``stock``;
* per marketplace, prefix ``wb_``/``wildberries_``, ``ozon_``, ``uzum_``, ``yandex_``/``ym_`` +
  ``id``, ``sku``, ``price``, ``commission_pct``, ``logistics``, ``min_margin_pct``, ``max_price``,
  ``competitor_price``. A listing is created for a marketplace when any of its columns is filled.

Transactions: the whole file is read and every row validated first (pydantic) — nothing is written for
a row with any error, and a bad row never blocks the good ones. The good rows are then written in ONE
transaction per file: either all of them land or, if the database refuses something, none does and the
import raises. Row numbers count the header as row 1, as a spreadsheet shows them.

Upsert key: partner slug + SKU. Product columns are the truth of the file (an empty optional cell
clears the value; ``products`` has no description column, so a description is kept in the
attributes under ``"description"`` — :func:`product_facts` moves it back); listing columns only
overwrite what they fill, because prices and pushed stock are also written by the pricing and stock
pipelines and a re-import must not wipe them.
Hostile text: control characters and HTML tags are removed; a value longer than its limit rejects the
row with the reason; CSV may be UTF-8 or Windows-1251 (Russian Excel), delimited by , ; or tab.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from aimanager.db.models import Listing, Partner, Product
from aimanager.domain.cards import ProductFacts
from aimanager.pipelines.catalog.files import read_rows
from aimanager.pipelines.catalog.rows import (
    CatalogImportError,
    GoodRow,
    ImportReport,
    ProductRow,
    RowError,
    validate_row,
)

__all__ = ["CatalogImportError", "ImportReport", "RowError", "import_catalog", "import_rows", "product_facts"]

CHUNK = 400  # keys per IN (...) query: well under SQLite's variable limit


async def import_catalog(
    path: str | Path, target: AsyncEngine | async_sessionmaker[AsyncSession]
) -> ImportReport:
    """Import a CSV or XLSX catalog; returns the report (bad rows listed), raises on a bad file."""
    path = Path(path)
    report = ImportReport(file=path.name)
    return await _import(read_rows(path, report), target, report)


async def import_rows(
    rows: Iterable[Mapping[str, str]],
    target: AsyncEngine | async_sessionmaker[AsyncSession],
    *,
    name: str = "rows",
) -> ImportReport:
    """Import catalog rows given as ``{column: text}`` dicts (same rules as a file; row 2 = first)."""
    report = ImportReport(file=name)
    numbered = ((i, {k.lower(): str(v) for k, v in r.items()}) for i, r in enumerate(rows, start=2))
    return await _import(numbered, target, report)


async def _import(
    rows: Iterable[tuple[int, dict[str, str]]],
    target: AsyncEngine | async_sessionmaker[AsyncSession],
    report: ImportReport,
) -> ImportReport:
    good: list[GoodRow] = []
    seen: dict[tuple[str, str], int] = {}
    for row_no, cells in rows:
        report.rows += 1
        parsed = validate_row(report.file, row_no, cells, report)
        if parsed is None:
            continue
        key = (parsed.product.partner, parsed.product.sku)
        if key in seen:
            report.errors.append(RowError(report.file, row_no, "sku", f"duplicate of row {seen[key]}"))
            continue
        seen[key] = row_no
        good.append(parsed)
    factory = target if isinstance(target, async_sessionmaker) else async_sessionmaker(target)
    try:
        async with factory() as session, session.begin():
            await _write(session, good, report)
    except Exception as exc:  # the database refused the file: nothing of it stays
        raise CatalogImportError(
            f"{report.file}: database rejected the import, nothing written: {exc}"
        ) from exc
    report.imported_rows = len(good)
    return report


async def _write(session: AsyncSession, rows: list[GoodRow], report: ImportReport) -> None:
    """Upsert partners, products and listings of the validated rows (caller holds the transaction)."""
    if not rows:
        return
    slugs = sorted({r.product.partner for r in rows})
    partner_ids: dict[str, int] = {}
    for part in _chunks(slugs):
        result = await session.execute(select(Partner.slug, Partner.id).where(Partner.slug.in_(part)))
        partner_ids.update({slug: pid for slug, pid in result.all()})
    names = {r.product.partner: r.product.partner_name or r.product.partner for r in rows}
    for slug in slugs:
        if slug not in partner_ids:
            partner = Partner(slug=slug, name=names[slug])
            session.add(partner)
            await session.flush()
            partner_ids[slug] = partner.id
            report.partners_created += 1

    keys = [(partner_ids[r.product.partner], r.product.sku) for r in rows]
    product_ids: dict[tuple[int, str], int] = {}
    for part in _chunks(keys):
        found = await session.execute(
            select(Product.partner_id, Product.sku, Product.id).where(
                tuple_(Product.partner_id, Product.sku).in_(part)
            )
        )
        product_ids.update({(pid, sku): id_ for pid, sku, id_ in found.all()})

    updates: list[dict[str, Any]] = []
    new_products: list[tuple[tuple[int, str], Product]] = []
    for r, key in zip(rows, keys, strict=True):
        values = _product_values(r.product)
        if key in product_ids:
            updates.append({"id": product_ids[key], **values})
        else:
            product = Product(partner_id=key[0], **values)
            session.add(product)
            new_products.append((key, product))
    if updates:
        await session.execute(update(Product), updates)
    await session.flush()
    product_ids.update({key: p.id for key, p in new_products})
    report.products_created += len(new_products)
    report.products_updated += len(updates)
    await _write_listings(session, rows, keys, product_ids, report)


async def _write_listings(
    session: AsyncSession,
    rows: list[GoodRow],
    keys: list[tuple[int, str]],
    product_ids: dict[tuple[int, str], int],
    report: ImportReport,
) -> None:
    wanted = [
        (product_ids[key], key[0], mp, fields)
        for r, key in zip(rows, keys, strict=True)
        for mp, fields in r.listings.items()
    ]
    existing: dict[tuple[int, str], int] = {}
    for part in _chunks(sorted({w[0] for w in wanted})):
        result = await session.execute(
            select(Listing.product_id, Listing.marketplace, Listing.id).where(Listing.product_id.in_(part))
        )
        existing.update({(pid, mp): lid for pid, mp, lid in result.all()})
    updates: list[dict[str, Any]] = []
    for product_id, partner_id, mp, fields in wanted:
        listing_id = existing.get((product_id, mp.value))
        if listing_id is None:
            session.add(Listing(partner_id=partner_id, product_id=product_id, marketplace=mp.value, **fields))
            report.listings_created += 1
        elif fields:
            updates.append({"id": listing_id, **fields})
    if updates:
        # Group by key set: an executemany needs the same columns in every parameter set.
        by_shape: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for u in updates:
            by_shape.setdefault(tuple(sorted(u)), []).append(u)
        for group in by_shape.values():
            await session.execute(update(Listing), group)
        report.listings_updated += len(updates)
    await session.flush()


def _product_values(p: ProductRow) -> dict[str, Any]:
    return {
        "sku": p.sku,
        "barcode": p.barcode,
        "name": p.name,
        "brand": p.brand,
        "category": p.category,
        "attributes": {**p.attributes, **({DESCRIPTION_KEY: p.description} if p.description else {})},
        "images": p.images,
        "cost_price": p.cost_price,
        "currency": p.currency,
        "stock": p.stock,
        "is_active": True,
    }


DESCRIPTION_KEY = "description"


def product_facts(product: Product) -> ProductFacts:
    """The card facts of a stored product.

    ``products`` has no description column, so the import keeps the catalog's description under the
    attribute key ``"description"``; this moves it back to :attr:`ProductFacts.description`.
    """
    attributes = {str(k): str(v) for k, v in (product.attributes or {}).items()}
    description = attributes.pop(DESCRIPTION_KEY, None)
    return ProductFacts(
        sku=product.sku,
        name=product.name,
        brand=product.brand,
        category=product.category,
        barcode=product.barcode,
        description=description,
        attributes=attributes,
    )


def _chunks(items: list[Any]) -> Iterator[list[Any]]:
    for i in range(0, len(items), CHUNK):
        yield items[i : i + CHUNK]
