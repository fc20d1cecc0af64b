"""Catalog import from CSV or XLSX: validate every row, then upsert the good ones in one transaction.

Columns (header names are case-insensitive; unknown columns are ignored with a warning):

* ``partner`` (slug, required), ``partner_name``; ``sku`` (required), ``barcode``, ``name`` (required),
  ``brand``, ``category``, ``description``;
* ``attributes`` — a JSON object or ``k=v; k=v``; ``images`` — ``;``-separated http(s) URLs or
  photo files (paths relative to the catalog's folder, checked to exist at import);
* ``cost_price`` in ``currency`` (default UZS), ``stock``;
* per marketplace, prefix ``wb_``/``wildberries_``, ``ozon_``, ``uzum_``, ``yandex_``/``ym_`` +
  ``id``, ``sku``, ``price``, ``commission_pct``, ``logistics``, ``min_margin_pct``, ``max_price``,
  ``competitor_price``; amounts in the marketplace's currency (``domain.money.currency_for``). A
  listing is created for a marketplace when any of its columns is filled.

Nothing is guessed (:mod:`.values`, :mod:`.files`): an ambiguous number, a mixed-encoding file, a
barcode that lost digits, a short or long row, a fractional UZS amount or a cost in another currency
than the marketplace's without a stated rate (:mod:`.rates`) rejects the row (or the file) with the
reason and the cell.

Transactions: the whole file is read and every row validated first — nothing is written for a row
with any error, and a bad row never blocks the good ones. The good rows are then written in ONE
transaction per file: either all of them land or, if the database refuses something, none does and
the import raises. ``check=True`` does the reads (to count what would be created or updated) and
writes nothing. Row numbers count the header as row 1, as a spreadsheet shows them.

Re-import merges (upsert key: partner slug + SKU): a column the file lacks, or an empty cell, keeps
the stored value; a cell holding ``-`` clears it. Attributes merge by name (``key=-`` removes one);
``products`` has no description column, so a description is kept in the attributes under
``"description"`` — :func:`product_facts` moves it back. Listing columns likewise overwrite only what
they fill: prices and pushed stock are also written by the pricing and stock pipelines.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from aimanager.db.models import Listing, Partner, Product
from aimanager.domain.cards import ProductFacts
from aimanager.logs import get_logger
from aimanager.pipelines.catalog.files import KNOWN_COLUMNS, RawRow, read_rows
from aimanager.pipelines.catalog.rates import RateTable
from aimanager.pipelines.catalog.rows import (
    CLEAR,
    LISTING_FIELDS,
    CatalogImportError,
    GoodRow,
    ImportReport,
    RowError,
    validate_row,
)

__all__ = ["CatalogImportError", "ImportReport", "RowError", "import_catalog", "import_rows", "product_facts"]

CHUNK = 400  # keys per IN (...) query: well under SQLite's variable limit
DESCRIPTION_KEY = "description"
log = get_logger(__name__)

Target = AsyncEngine | async_sessionmaker[AsyncSession]


async def import_catalog(
    path: str | Path,
    target: Target | None,
    *,
    check: bool = False,
    rates: RateTable | None = None,
) -> ImportReport:
    """Import a CSV or XLSX catalog; returns the report (bad rows listed), raises on a bad file.

    ``check``: validate and count, write nothing (``target`` may then be None: validation only).
    ``rates``: the stated exchange rates a cost in another currency is converted with.
    """
    path = Path(path)
    report = ImportReport(file=path.name, checked=check)
    return await _import(read_rows(path, report), target, report, rates=rates, base_dir=path.resolve().parent)


async def import_rows(
    rows: Iterable[Mapping[str, str]],
    target: Target | None,
    *,
    name: str = "rows",
    check: bool = False,
    rates: RateTable | None = None,
) -> ImportReport:
    """Import catalog rows given as ``{column: text}`` dicts (same rules as a file; row 2 = first)."""
    report = ImportReport(file=name, checked=check)

    def numbered() -> Iterator[RawRow]:
        for i, r in enumerate(rows, start=2):
            cells: dict[str, object] = {k.lower(): str(v) for k, v in r.items()}
            if i == 2 and (unknown := sorted(set(cells) - KNOWN_COLUMNS)):
                report.warnings.append(f"{name}: unknown column(s) ignored: {', '.join(unknown[:10])}")
            yield RawRow(i, {k: v for k, v in cells.items() if k in KNOWN_COLUMNS})

    return await _import(numbered(), target, report, rates=rates)


async def _import(
    rows: Iterable[RawRow],
    target: Target | None,
    report: ImportReport,
    *,
    rates: RateTable | None,
    base_dir: Path | None = None,
) -> ImportReport:
    good: list[GoodRow] = []
    seen: dict[tuple[str, str], int] = {}
    for raw in rows:
        report.rows += 1
        parsed = validate_row(
            report.file,
            raw.number,
            raw.cells,
            report,
            letters=raw.letters,
            rates=rates,
            problems=raw.problems,
        )
        if parsed is None:
            continue
        if (problem := _photo_files(parsed, base_dir)) is not None:
            ref = f"{raw.letters['images']}{raw.number}" if "images" in raw.letters else None
            report.errors.append(RowError(report.file, raw.number, "images", problem, ref))
            continue
        key = (parsed.product.partner, parsed.product.sku)
        if key in seen:
            ref = f"{raw.letters['sku']}{raw.number}" if "sku" in raw.letters else None
            duplicate = f"duplicate of row {seen[key]}"
            report.errors.append(RowError(report.file, raw.number, "sku", duplicate, ref))
            continue
        seen[key] = raw.number
        good.append(parsed)
    report.errors.sort(key=lambda e: e.row)
    report.imported_rows = len(good)
    if target is None:
        if not report.checked:
            raise ValueError("a database is needed unless check=True")
        return report
    factory = target if isinstance(target, async_sessionmaker) else async_sessionmaker(target)
    try:
        async with factory() as session:
            if report.checked:
                await _Writer(session, good, report).plan()
            else:
                async with session.begin():
                    writer = _Writer(session, good, report)
                    await writer.plan()
                    await writer.apply()
    except Exception as exc:  # the database refused the file: nothing of it stays
        raise CatalogImportError(
            f"{report.file}: database rejected the import, nothing written: {exc}"
        ) from exc
    log.info(
        "catalog.checked" if report.checked else "catalog.imported",
        file=report.file,
        rows=report.rows,
        imported=report.imported_rows,
        rejected=len(report.bad_rows),
    )
    return report


def _photo_files(row: GoodRow, base_dir: Path | None) -> str | None:
    """Photo files made absolute ``file:`` URLs (relative to the catalog's folder) and checked to exist
    now, so a typo is the row's error and not a failed image task later; None when all is well."""
    resolved: list[str] = []
    for source in row.product.images:
        if re.match(r"^https?://", source, re.IGNORECASE):
            resolved.append(source)
            continue
        raw = source[5:] if source.lower().startswith("file:") else source
        raw = raw[2:] if raw.startswith("//") else raw
        path = Path(raw)
        if not path.is_absolute():
            if base_dir is None:
                return f"{source!r}: a photo file of an uploaded catalog must be an absolute path or a URL"
            path = base_dir / path
        if not path.is_file():
            return f"{source!r}: no such photo file ({path})"
        resolved.append(path.resolve().as_uri())
    row.product.images = resolved
    return None


class _Writer:
    """Reads what exists (``plan``: counts only), then merges the rows into it (``apply``)."""

    def __init__(self, session: AsyncSession, rows: list[GoodRow], report: ImportReport) -> None:
        self.session, self.rows, self.report = session, rows, report
        self.partner_ids: dict[str, int] = {}
        self.stored: dict[tuple[str, str], tuple[int, dict[str, Any]]] = {}  # (slug, sku) → id, attributes
        self.listings: dict[tuple[int, str], int] = {}  # (product id, marketplace) → listing id

    async def plan(self) -> None:
        session, rows, report = self.session, self.rows, self.report
        if not rows:
            return
        slugs = sorted({r.product.partner for r in rows})
        for part in _chunks(slugs):
            found = await session.execute(select(Partner.slug, Partner.id).where(Partner.slug.in_(part)))
            self.partner_ids.update({slug: pid for slug, pid in found.all()})
        report.partners_created = len(set(slugs) - set(self.partner_ids))
        known = self.partner_ids
        keys = sorted({(r.product.partner, r.product.sku) for r in rows if r.product.partner in known})
        for part in _chunks(keys):
            products = await session.execute(
                select(Partner.slug, Product.sku, Product.id, Product.attributes)
                .join(Partner, Partner.id == Product.partner_id)
                .where(tuple_(Partner.slug, Product.sku).in_(part))
            )
            self.stored.update({(slug, sku): (pid, attrs or {}) for slug, sku, pid, attrs in products.all()})
        for part in _chunks(sorted(pid for pid, _ in self.stored.values())):
            listings = await session.execute(
                select(Listing.product_id, Listing.marketplace, Listing.id).where(
                    Listing.product_id.in_(part)
                )
            )
            self.listings.update({(pid, mp): lid for pid, mp, lid in listings.all()})
        report.products_updated = sum(1 for r in rows if (r.product.partner, r.product.sku) in self.stored)
        report.products_created = len(rows) - report.products_updated
        for r in rows:
            stored = self.stored.get((r.product.partner, r.product.sku))
            for mp, fields in r.listings.items():
                if stored is not None and (stored[0], mp.value) in self.listings:
                    report.listings_updated += 1
                elif any(v is not None for v in fields.values()):
                    report.listings_created += 1

    async def apply(self) -> None:
        session, rows = self.session, self.rows
        if not rows:
            return
        names = {r.product.partner: r.product.partner_name or r.product.partner for r in rows}
        for slug in sorted(set(names) - set(self.partner_ids)):
            partner = Partner(slug=slug, name=names[slug])
            session.add(partner)
            await session.flush()
            self.partner_ids[slug] = partner.id
        updates: list[dict[str, Any]] = []
        inserts: list[dict[str, Any]] = []
        for r in rows:
            stored = self.stored.get((r.product.partner, r.product.sku))
            if stored is None:
                inserts.append({"partner_id": self.partner_ids[r.product.partner], **_new_values(r)})
            else:
                updates.append({"id": stored[0], **_merged_values(r, stored[1])})
        slug_of = {pid: slug for slug, pid in self.partner_ids.items()}
        product_ids = {key: pid for key, (pid, _) in self.stored.items()}
        if inserts:
            # One bulk INSERT … RETURNING (batched by SQLAlchemy): ORM objects cost a third of the
            # time of a 10,000-row import.
            created = await session.execute(
                insert(Product).returning(Product.id, Product.partner_id, Product.sku), inserts
            )
            product_ids.update({(slug_of[partner], sku): pid for pid, partner, sku in created.all()})
        await _update_grouped(session, Product, updates)
        listing_inserts: list[dict[str, Any]] = []
        listing_updates: list[dict[str, Any]] = []
        for r in rows:
            product_id = product_ids[(r.product.partner, r.product.sku)]
            for mp, fields in r.listings.items():
                listing_id = self.listings.get((product_id, mp.value))
                if listing_id is not None:
                    listing_updates.append({"id": listing_id, **fields})
                elif any(v is not None for v in fields.values()):  # clears alone make no listing
                    listing_inserts.append(
                        {"partner_id": self.partner_ids[r.product.partner], "product_id": product_id,
                         "marketplace": mp.value, **dict.fromkeys(LISTING_FIELDS.values()), **fields}
                    )  # fmt: skip
        if listing_inserts:
            await session.execute(insert(Listing), listing_inserts)
        await _update_grouped(session, Listing, listing_updates)
        await session.flush()


async def _update_grouped(session: AsyncSession, model: type[Any], updates: list[dict[str, Any]]) -> None:
    # Grouped by key set: an executemany needs the same columns in every parameter set.
    by_shape: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for u in updates:
        by_shape.setdefault(tuple(sorted(u)), []).append(u)
    for group in by_shape.values():
        await session.execute(update(model), group)


_SCALARS = ("barcode", "brand", "category", "images", "stock")


def _new_values(r: GoodRow) -> dict[str, Any]:
    p = r.product
    attributes = {k: v for k, v in p.attributes.items() if v != CLEAR}
    if p.description:
        attributes[DESCRIPTION_KEY] = p.description
    return {
        "sku": p.sku,
        "barcode": p.barcode,
        "name": p.name,
        "brand": p.brand,
        "category": p.category,
        "attributes": attributes,
        "images": p.images,
        "cost_price": p.cost_price,
        "currency": p.currency,
        "stock": p.stock,
        "is_active": True,
    }


def _merged_values(r: GoodRow, stored_attributes: Mapping[str, Any]) -> dict[str, Any]:
    """The columns a re-imported row changes: what it gives, what it clears; nothing else."""
    p, given, cleared = r.product, r.given, r.cleared
    values: dict[str, Any] = {"name": p.name, "is_active": True}
    values.update({f: getattr(p, f) for f in _SCALARS if f in given})
    values.update({f: ([] if f == "images" else None) for f in _SCALARS if f in cleared})
    if "cost_price" in given:  # a cost comes with its (converted) currency
        values.update(cost_price=p.cost_price, currency=p.currency)
    elif "cost_price" in cleared:
        values["cost_price"] = None
    if given & {"attributes", "description"} or cleared & {"attributes", "description"}:
        attributes = dict(stored_attributes)
        if "attributes" in cleared:
            attributes = {k: v for k, v in attributes.items() if k == DESCRIPTION_KEY}
        for key, value in p.attributes.items():
            if value == CLEAR:
                attributes.pop(key, None)
            else:
                attributes[key] = value
        if "description" in cleared:
            attributes.pop(DESCRIPTION_KEY, None)
        elif p.description:
            attributes[DESCRIPTION_KEY] = p.description
        values["attributes"] = attributes
    return values


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
