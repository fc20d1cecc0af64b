"""Card versions for people: lists, one product's history on a marketplace, a diff of two versions.

Read-only (approving, rejecting and rolling back belong to the review service). ``partner_ids`` is
the set of partners the caller may see (``None``: all), resolved by the face; a version outside it
is "not found", never "forbidden", so its existence does not leak.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from aimanager.db.models import CardVersion, Product


async def list_cards(
    session: AsyncSession,
    partner_ids: Collection[int] | None,
    *,
    status: str | None = None,
    marketplace: str | None = None,
    sku: str | None = None,
    after_id: int | None = None,
    limit: int = 50,
) -> list[tuple[CardVersion, str]]:
    """Card versions with their product's SKU, newest first (keyset on id)."""
    query = select(CardVersion, Product.sku).join(Product, Product.id == CardVersion.product_id)
    if partner_ids is not None:
        query = query.where(CardVersion.partner_id.in_(list(partner_ids)))
    if status is not None:
        query = query.where(CardVersion.status == status)
    if marketplace is not None:
        query = query.where(CardVersion.marketplace == marketplace)
    if sku is not None:
        query = query.where(Product.sku == sku)
    if after_id is not None:
        query = query.where(CardVersion.id < after_id)
    query = query.order_by(CardVersion.id.desc()).limit(limit)
    return list((await session.execute(query)).all())


async def get_card(
    session: AsyncSession, version_id: int, partner_ids: Collection[int] | None
) -> tuple[CardVersion, str] | None:
    row = (
        await session.execute(
            select(CardVersion, Product.sku)
            .join(Product, Product.id == CardVersion.product_id)
            .where(CardVersion.id == version_id)
        )
    ).first()
    if row is None or (partner_ids is not None and row[0].partner_id not in partner_ids):
        return None
    return row[0], row[1]


async def history(session: AsyncSession, card: CardVersion) -> list[CardVersion]:
    """Every version of the card's product on its marketplace, newest first."""
    query = (
        select(CardVersion)
        .where(CardVersion.product_id == card.product_id, CardVersion.marketplace == card.marketplace)
        .order_by(CardVersion.version.desc(), CardVersion.id.desc())
    )
    return list((await session.execute(query)).scalars())


@dataclass(frozen=True)
class FieldDiff:
    field: str
    old: Any
    new: Any
    lines: list[str]  # a unified diff of the two values' text, for long texts


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, indent=1, sort_keys=True, default=str)


def diff_content(old: dict[str, Any], new: dict[str, Any]) -> list[FieldDiff]:
    """The fields that differ between two card contents, in a stable order."""
    out = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if a == b:
            continue
        lines = list(
            difflib.unified_diff(_text(a).splitlines(), _text(b).splitlines(), "old", "new", lineterm="", n=1)
        )
        out.append(FieldDiff(key, a, b, lines[2:]))
    return out
