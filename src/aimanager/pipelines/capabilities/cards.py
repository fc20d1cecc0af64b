"""Product cards: generate once per product, validate per marketplace, keep versions, push or export.

``cards.generate`` (a batch handler) writes every product of its jobs through the LLM gateway in one
go, so the packer fills its calls; each draft is cut into one variant per marketplace the product is
listed on, validated against that marketplace's rules, and stored as a card version. In the same
transaction it queues ``cards.push`` jobs keyed by partner + marketplace, which the engine hands over in
batches sized to the marketplace's bulk limit (WB takes 100 cards per call: 5 jobs of 20).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

from sqlalchemy import func, select, update

from aimanager.connectors.base import CardChannel, CardPush
from aimanager.db.models import CardVersion, Listing, Product
from aimanager.domain.cards import CardDraft
from aimanager.domain.categories import category_for
from aimanager.domain.enums import Capability, Marketplace
from aimanager.domain.rules import variant_for
from aimanager.domain.validate import validator_for
from aimanager.jobs import Job, JobSpec, Priority
from aimanager.llm import CardRequest
from aimanager.llm.prompts import CARD_PROMPT_VERSION
from aimanager.logs import get_logger
from aimanager.pipelines.catalog.importer import product_facts
from aimanager.pipelines.services.runtime import Runtime, cooperatively, load_by_id

log = get_logger("aimanager.pipelines.capabilities.cards")
PUSH_JOBS_PER_CALL = 5  # 5 push jobs × 20 cards = WB's 100-card upload


def push_key(partner_id: int, marketplace: Marketplace) -> str:
    """Batch key of a partner's card pushes to one marketplace."""
    return f"p{partner_id}:{marketplace.value}:cards"


async def generate(rt: Runtime, jobs: list[Job]) -> dict[int, BaseException] | None:
    """Batch handler of ``cards.generate``: one gateway call set for all the jobs' products."""
    wanted = {pid: job for job in jobs for pid in job.payload["product_ids"]}
    async with rt.sessions() as session:
        products = (
            (await session.execute(select(Product).where(Product.id.in_(list(wanted))))).scalars().all()
        )
        listings = (
            (await session.execute(select(Listing).where(Listing.product_id.in_(list(wanted)))))
            .scalars()
            .all()
        )
    by_product: dict[int, list[Listing]] = defaultdict(list)
    for listing in listings:
        by_product[listing.product_id].append(listing)
    requests = []
    for product in products:
        markets = [Marketplace(li.marketplace) for li in by_product[product.id]]
        requests.append(
            CardRequest(
                item_id=str(product.id),
                partner_id=product.partner_id,
                facts=product_facts(product),
                priority_low=wanted[product.id].priority is Priority.LOW,
                validator=validator_for(markets),
            )
        )
    results = {r.item_id: r for r in await rt.gateway.generate_cards(requests)}
    async with rt.sessions() as session:
        latest = await _latest_versions(session, [p.id for p in products])
    # Cut outside any transaction: on SQLite a write transaction holds the one write lock (job claims
    # included) for as long as it is open. No second validation here: the gateway returns a draft only
    # when it passed ``validator_for`` the product's marketplaces — content checks over their languages
    # and each marketplace's rules, every per-marketplace check at once — and a draft that kept
    # failing comes back as an error.
    versions: list[CardVersion] = []
    hashes: list[dict[str, Any]] = []
    for product in products:
        await asyncio.sleep(0)  # a few ms of CPU per product: let claims and heartbeats run between
        result = results[str(product.id)]
        facts = product_facts(product)
        draft = result.draft.model_dump() if result.draft is not None else None
        for listing in by_product[product.id]:
            market = Marketplace(listing.marketplace)
            version = latest.get((product.id, market.value), 0) + 1
            if result.draft is None:
                rt.progress.fail(Capability.CARDS, task_key(product.sku, market), result.error or "no draft")
                versions.append(_rejected(product, market, version, [result.error or "no draft"]))
                continue
            card = variant_for(market, result.draft, facts)
            versions.append(
                CardVersion(
                    partner_id=product.partner_id,
                    product_id=product.id,
                    marketplace=market.value,
                    version=version,
                    content={"draft": draft, "variant": card.model_dump(mode="json")},
                    model=result.model,
                    prompt_version=CARD_PROMPT_VERSION,
                    input_hash=facts.facts_hash(),
                    status="validated",
                    validation_errors=[],
                )
            )
        hashes.append({"id": product.id, "facts_hash": facts.facts_hash()})
    push: dict[tuple[int, Marketplace], list[int]] = defaultdict(list)
    async with rt.sessions() as session, session.begin():
        if hashes:
            await session.execute(update(Product), hashes)
        session.add_all(versions)
        await session.flush()
        for cv in versions:
            if cv.status == "validated":
                push[(cv.partner_id, Marketplace(cv.marketplace))].append(cv.id)
        specs = [
            JobSpec(
                kind="cards.push",
                partner_id=partner_id,
                payload={"marketplace": market.value, "card_version_ids": ids},
                priority=jobs[0].priority,
                batch_key=push_key(partner_id, market),
            )
            for (partner_id, market), ids in push.items()
        ]
        if specs:  # queued with the versions: both land, or neither
            await rt.backend.enqueue_many(specs, conn=await session.connection())
    return None


def task_key(sku: str, market: Marketplace) -> str:
    """The user-visible task a card belongs to: one SKU on one marketplace."""
    return f"{sku}@{market.value}"


def _rejected(product: Product, market: Marketplace, version: int, errors: list[str]) -> CardVersion:
    return CardVersion(
        partner_id=product.partner_id,
        product_id=product.id,
        marketplace=market.value,
        version=version,
        content={},
        status="rejected",
        validation_errors=errors,
        input_hash=product_facts(product).facts_hash(),
    )


# Catalog attribute names of the logistics figures marketplaces require on a card (Ozon refuses a card
# without weight and dimensions).
_DIMENSIONS = {
    "weight_g": "Вес, г",
    "length_mm": "Длина, мм",
    "width_mm": "Ширина, мм",
    "height_mm": "Высота, мм",
}


def card_dimensions(attributes: dict[str, Any]) -> dict[str, int]:
    out: dict[str, int] = {}
    for field_name, attr in _DIMENSIONS.items():
        raw = str(attributes.get(attr, "")).strip().replace(" ", "")
        if raw.isdigit() and int(raw) > 0:
            out[field_name] = int(raw)
    return out


async def _latest_versions(session: Any, product_ids: list[int]) -> dict[tuple[int, str], int]:
    """Newest card version number per (product, marketplace), in one query."""
    rows = await session.execute(
        select(CardVersion.product_id, CardVersion.marketplace, func.max(CardVersion.version))
        .where(CardVersion.product_id.in_(product_ids))
        .group_by(CardVersion.product_id, CardVersion.marketplace)
    )
    return {(pid, market): int(v) for pid, market, v in rows}


async def push(rt: Runtime, jobs: list[Job]) -> dict[int, BaseException] | None:
    """Batch handler of ``cards.push``: one connector call for the jobs' card versions."""
    market = Marketplace(jobs[0].payload["marketplace"])
    partner_id = int(jobs[0].partner_id or 0)
    ids = [i for job in jobs for i in job.payload["card_version_ids"]]
    async with rt.sessions() as session:
        rows = (
            await session.execute(
                select(CardVersion, Product, Listing)
                .join(Product, Product.id == CardVersion.product_id)
                .join(Listing, (Listing.product_id == Product.id) & (Listing.marketplace == market.value))
                .where(CardVersion.id.in_(ids), CardVersion.partner_id == partner_id)
            )
        ).all()
    pushes: list[CardPush] = []
    skipped: dict[str, str] = {}
    async for cv, product, listing in cooperatively(rows):
        ref = category_for(product.category, market)
        if ref is None:
            skipped[product.sku] = f"category {product.category!r} has no {market.value} mapping"
            continue
        draft = CardDraft.model_validate(cv.content["draft"])
        variant = cv.content["variant"]
        card = CardPush.from_draft(
            offer_id=product.sku,
            category_id=ref.category_id,
            draft=draft,
            type_id=ref.type_id,
            barcode=product.barcode,
            brand=product.brand,
            price=listing.price,
            images=list(product.images or []),
            attributes=variant.get("attributes", {}),
            extra={"ikpu": ikpu} if (ikpu := variant.get("canonical_attributes", {}).get("ikpu")) else {},
            **card_dimensions(product.attributes or {}),
        )
        pushes.append(card.model_copy(update={"title": variant["title"]}))
    if rt.dry_run:
        rt.progress.ok(Capability.CARDS, *(task_key(c.offer_id, market) for c in pushes))
        return None
    conn = await rt.connectors.get(partner_id, market)
    report = await conn.push_cards(pushes, wait=True)
    failed = {e.offer_id: f"{e.code}: {e.message}" for e in report.failed} | skipped
    exported = conn.capabilities.cards is CardChannel.EXPORT
    now = rt.now()
    async with rt.sessions() as session, session.begin():
        versions = await load_by_id(session, CardVersion, (cv.id for cv, _, _ in rows))
        listings = await load_by_id(session, Listing, (li.id for _, _, li in rows))
        for cv, product, listing in rows:
            stored = versions.get(cv.id)
            if stored is None:
                continue
            if product.sku in failed:
                stored.status = "rejected"
                stored.validation_errors = [*stored.validation_errors, failed[product.sku]]
                rt.progress.fail(Capability.CARDS, task_key(product.sku, market), failed[product.sku])
            else:
                stored.status = "exported" if exported else "pushed"
                stored.pushed_at = now
                live = listings.get(listing.id)
                if live is not None:
                    live.card_version_id = cv.id
                rt.progress.ok(Capability.CARDS, task_key(product.sku, market))
    if report.export_path is not None:
        log.info("cards.exported", partner_id=partner_id, path=str(report.export_path), cards=len(pushes))
    return None
