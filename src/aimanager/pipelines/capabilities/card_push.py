"""Pushing card versions to the marketplaces (``cards.push``), batched per partner and marketplace.

``cards.generate`` queues these jobs keyed by partner + marketplace; the engine hands them over in
batches sized to the marketplace's bulk limit (WB takes 100 cards per call: 5 jobs of 20). A card the
marketplace refuses is a failed task, and its job fails naming it.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import select

from aimanager.connectors.base import CardChannel, CardPush
from aimanager.connectors.errors import CurrencyNotConfirmed
from aimanager.db.models import CardVersion, Listing, Product
from aimanager.domain.cards import CardDraft
from aimanager.domain.categories import category_for
from aimanager.domain.enums import Capability, Marketplace
from aimanager.domain.money import currency_for
from aimanager.jobs import Job, PermanentFailure
from aimanager.logs import get_logger
from aimanager.pipelines.services.runtime import Runtime, cooperatively, load_by_id
from aimanager.pipelines.services.tasks import TaskBook, bounded

log = get_logger("aimanager.pipelines.capabilities.card_push")
PUSH_JOBS_PER_CALL = 5  # 5 push jobs × 20 cards = WB's 100-card upload


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


async def push(rt: Runtime, jobs: list[Job]) -> dict[int, BaseException] | None:
    """Batch handler of ``cards.push``: one connector call per partner and marketplace of the jobs.

    Jobs are grouped by their own partner and marketplace, whatever batch key brought them together:
    an Ozon card never goes to Wildberries, nor one partner's card to another's account."""
    groups: dict[tuple[int, str], list[Job]] = defaultdict(list)
    for job in jobs:
        groups[(int(job.partner_id or 0), str(job.payload["marketplace"]))].append(job)
    failures: dict[int, BaseException] = {}
    for group in groups.values():
        failures.update(await _push_group(rt, group) or {})
    return failures or None


async def _push_group(rt: Runtime, jobs: list[Job]) -> dict[int, BaseException] | None:
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
            currency=currency_for(market),
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
    book = TaskBook(partner_id, jobs[0].id)
    if rt.dry_run:
        book.done(Capability.CARDS, market, *(c.offer_id for c in pushes))
        async with rt.sessions() as session, session.begin():
            await book.write(session)
        book.publish(rt.progress)
        return None
    conn = await rt.connectors.get(partner_id, market)
    try:
        report = await conn.push_cards(pushes, wait=True)
        failed = {e.offer_id: f"{e.code}: {e.message}" for e in report.failed} | skipped
        export_path = report.export_path
    except CurrencyNotConfirmed as exc:  # nothing was sent: the prices would be in the wrong money
        failed, export_path = {c.offer_id: exc.reason for c in pushes} | skipped, None
    exported = conn.capabilities.cards is CardChannel.EXPORT
    now = rt.now()
    rejected: dict[int, str] = {}  # card version id → the marketplace's reason
    async with rt.sessions() as session, session.begin():
        versions = await load_by_id(session, CardVersion, (cv.id for cv, _, _ in rows))
        listings = await load_by_id(session, Listing, (li.id for _, _, li in rows))
        for cv, product, listing in rows:
            stored = versions.get(cv.id)
            if stored is None:
                continue
            if product.sku in failed:
                rejected[cv.id] = f"{product.sku}: {failed[product.sku]}"
                stored.status = "rejected"
                stored.validation_errors = [*stored.validation_errors, failed[product.sku]]
                book.failed(Capability.CARDS, market, product.sku, failed[product.sku])
            else:
                stored.status = "exported" if exported else "pushed"
                stored.pushed_at = now
                live = listings.get(listing.id)
                if live is not None:
                    live.card_version_id = cv.id
                book.done(Capability.CARDS, market, product.sku)
        await book.write(session)
    book.publish(rt.progress)
    if export_path is not None:
        log.info("cards.exported", partner_id=partner_id, path=str(export_path), cards=len(pushes))
    return _push_failures(jobs, market, rejected)


def _push_failures(
    jobs: list[Job], market: Marketplace, rejected: dict[int, str]
) -> dict[int, BaseException] | None:
    """A card the marketplace refused is a failed task: its job ends failed with only those versions and
    the marketplace's reasons (the card must change before a push can succeed; a retry by hand after
    the fix pushes just them)."""
    failures: dict[int, BaseException] = {}
    for job in jobs:
        ids = [int(i) for i in job.payload["card_version_ids"]]
        bad = [i for i in ids if i in rejected]
        if bad:
            summary = f"{market.value} refused {len(bad)} of {len(ids)} cards: " + bounded(
                [rejected[i] for i in bad]
            )
            failures[job.id] = PermanentFailure(summary, payload={**job.payload, "card_version_ids": bad})
    return failures or None
