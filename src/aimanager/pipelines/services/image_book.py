"""Where a product's image work stands, and the review of attributes the vision tier extracted.

The state of one product is a small JSON document in the object store beside its images
(``state/p<partner>/<hash of SKU>.json``): its photos as checked, what the vision tier saw, what was
rendered per marketplace (from which inputs) and what each marketplace last received. Kept there because
it describes objects of that store and moves with it; it is not a source of truth for anything the
database holds (a schema change can move it into a table without changing the capability).

Review: attributes the vision tier extracted stay ``extracted`` until a person approves or rejects them.
Approving writes the attribute into the product's catalog facts only where the seller gave none — a
seller's fact is never overwritten — and the next images run draws it (and the next cards run uses it).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aimanager.db.models import Product
from aimanager.domain.enums import Marketplace
from aimanager.domain.images import extracted_to_add, fact_key
from aimanager.errors import PipelineError
from aimanager.media.store import ObjectStore, open_store
from aimanager.pipelines.services.runtime import Runtime

# The catalog attribute name an approved extraction is stored under (Russian, like catalog columns).
CATALOG_NAMES = {
    "color": "Цвет",
    "material": "Материал",
    "pack_count": "Количество в упаковке",
    "shape": "Форма",
}
DECISIONS = ("approved", "rejected")


def store_of(rt: Runtime) -> ObjectStore:
    """The runtime's object store (built once per runtime from its settings)."""
    store: ObjectStore | None = getattr(rt, "_image_store", None)
    if store is None:
        store = open_store(rt.settings.media_url, rt.settings.media_public_url)
        rt._image_store = store  # type: ignore[attr-defined]
    return store


def state_key(partner_id: int, sku: str) -> str:
    return f"state/p{partner_id}/{hashlib.sha256(sku.encode()).hexdigest()[:32]}.json"


def input_hash(*parts: Any) -> str:
    """A stable hash of JSON-able inputs (what decides whether work is redone)."""
    blob = json.dumps(parts, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


async def load_state(store: ObjectStore, partner_id: int, sku: str) -> dict[str, Any]:
    raw = await store.get(state_key(partner_id, sku))
    state: dict[str, Any] = json.loads(raw) if raw else {}
    state.setdefault("sku", sku)
    for part in ("vision", "rendered", "uploaded"):
        state.setdefault(part, {})
    return state


async def save_state(store: ObjectStore, partner_id: int, state: dict[str, Any]) -> None:
    data = json.dumps(state, ensure_ascii=False, sort_keys=True, indent=1).encode()
    await store.put(state_key(partner_id, state["sku"]), data, "application/json")


def rendered_keys(state: dict[str, Any], market: Marketplace) -> list[str]:
    """The store keys of the images rendered for ``market`` (main image first; [] when none)."""
    return [str(k) for k in state["rendered"].get(market.value, {}).get("keys") or []]


async def rendered_urls(
    store: ObjectStore, partner_id: int, skus: list[str], market: Marketplace
) -> dict[str, list[str]]:
    """SKU → the public URLs of its rendered images for ``market``, for the SKUs that have them all
    (a store without public URLs gives none: the caller keeps what it had)."""
    out: dict[str, list[str]] = {}
    if store.public_url("img/probe.jpg") is None:
        return out  # no public URLs at all (a folder without a CDN base): no state worth reading
    for sku in skus:
        keys = rendered_keys(await load_state(store, partner_id, sku), market)
        urls = [store.public_url(k) for k in keys]
        if keys and all(urls):
            out[sku] = [u for u in urls if u]
    return out


def merge_extracted(
    state: dict[str, Any], seller: dict[str, str], seen: list[tuple[str, str, float]]
) -> None:
    """Record what the vision tier saw: only attributes the seller lacks; a value already decided keeps
    its decision, a changed value is ``extracted`` (for review) again."""
    keep = extracted_to_add(seller, [(name, value) for name, value, _ in seen])
    confidence = {fact_key(name): c for name, _, c in seen}
    old = state["vision"].get("attributes", {})
    fresh: dict[str, Any] = {}
    for key, value in keep.items():
        before = old.get(key)
        status = before["status"] if before and before.get("value") == value else "extracted"
        fresh[key] = {"value": value, "confidence": confidence.get(key, 0.0), "status": status}
    state["vision"]["attributes"] = fresh


def approved_facts(state: dict[str, Any]) -> dict[str, str]:
    """Extracted attributes a person approved (canonical key → value)."""
    return {
        key: entry["value"]
        for key, entry in state["vision"].get("attributes", {}).items()
        if entry.get("status") == "approved"
    }


@dataclass(frozen=True)
class Extraction:
    """One extracted attribute waiting for (or past) review."""

    partner_id: int
    sku: str
    name: str
    value: str
    confidence: float
    status: str


async def extractions(
    sessions: async_sessionmaker[AsyncSession],
    store: ObjectStore,
    partner_id: int,
    status: str | None = "extracted",
) -> list[Extraction]:
    """The partner's extracted attributes (``status`` None: all of them)."""
    async with sessions() as session:
        skus = (
            (await session.execute(select(Product.sku).where(Product.partner_id == partner_id)))
            .scalars()
            .all()
        )
    out = []
    for sku in sorted(skus):
        state = await load_state(store, partner_id, sku)
        for name, entry in sorted(state["vision"].get("attributes", {}).items()):
            if status is None or entry.get("status") == status:
                out.append(
                    Extraction(
                        partner_id,
                        sku,
                        name,
                        entry["value"],
                        float(entry.get("confidence", 0)),
                        entry["status"],
                    )
                )
    return out


async def decide(
    sessions: async_sessionmaker[AsyncSession],
    store: ObjectStore,
    partner_id: int,
    sku: str,
    name: str,
    decision: str,
) -> Extraction:
    """Approve or reject one extracted attribute; an approval becomes a catalog fact (never over one
    the seller gave: then the extraction is rejected instead and says why)."""
    if decision not in DECISIONS:
        raise PipelineError(f"decision must be one of {', '.join(DECISIONS)}, not {decision!r}")
    state = await load_state(store, partner_id, sku)
    entry = state["vision"].get("attributes", {}).get(name)
    if entry is None:
        raise PipelineError(f"{sku}: no extracted attribute {name!r}")
    async with sessions() as session, session.begin():
        product = (
            await session.execute(select(Product).where(Product.partner_id == partner_id, Product.sku == sku))
        ).scalar_one_or_none()
        if product is None:
            raise PipelineError(f"partner {partner_id} has no product {sku!r}")
        seller = {str(k): str(v) for k, v in (product.attributes or {}).items()}
        if decision == "approved":
            if extracted_to_add(seller, [(name, entry["value"])]):
                product.attributes = {**seller, CATALOG_NAMES.get(name, name): entry["value"]}
            else:
                decision = "rejected"  # the seller has given this fact since: theirs stands
        entry["status"] = decision
        await save_state(store, partner_id, state)
    return Extraction(partner_id, sku, name, entry["value"], float(entry.get("confidence", 0)), decision)
