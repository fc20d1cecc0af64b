"""Pushing card versions to the marketplaces (``cards.push``), batched per partner and marketplace.

``cards.generate`` queues these jobs keyed by partner + marketplace; the engine hands them over in
batches sized to the marketplace's bulk limit (WB takes 100 cards per call: 5 jobs of 20). A card the
marketplace refuses is a failed task, and its job fails naming it.

The card's pictures are the product's rendered images for that marketplace when the images capability
has made them and the store gives them public URLs (``image_book.rendered_urls``), else the catalog's
photos: a card push never puts the raw photos back over an images upload.

A card is sent only when its text differs from what the marketplace holds (``listings.card_pushed_hash``,
set on every confirmed push): an unchanged card is recorded as live with no call. A version waiting for
a reviewer (``pending_approval``) or refused by one is never sent, whoever queued it.

``cards_not_live`` is what pricing and stock ask before they push: a listing whose card we began but
that is not on its marketplace yet (no confirmed push, no marketplace id from the import) gets no price
and no stock — the marketplace would refuse them ("product not found"), or worse, accept a quantity
for an offer no buyer can see. Their tasks end ``skipped`` naming the card's state; once the card lands,
the next pricing and stock run (the run's follow-up, or the schedule) sets them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from aimanager.connectors.base import CardChannel, CardPush
from aimanager.connectors.errors import CurrencyNotConfirmed
from aimanager.db.models import CardVersion, Listing, Product, TaskRecord
from aimanager.domain.cards import CardDraft, card_text_hash
from aimanager.domain.categories import category_for
from aimanager.domain.enums import Capability, Marketplace
from aimanager.domain.money import currency_for
from aimanager.errors import ConnectorError
from aimanager.jobs import Job, PermanentFailure
from aimanager.logs import get_logger
from aimanager.pipelines.services.account_health import record_account_use
from aimanager.pipelines.services.image_book import rendered_urls, store_of
from aimanager.pipelines.services.runtime import Runtime, cooperatively, load_by_id
from aimanager.pipelines.services.tasks import TaskBook, bounded

log = get_logger("aimanager.pipelines.capabilities.card_push")
PUSH_JOBS_PER_CALL = 5  # 5 push jobs × 20 cards = WB's 100-card upload
WAITING_FOR_CARD = "waiting for its card"
# Card versions in these states are on their marketplace (the listing then carries card_version_id).
_LIVE = ("pushed", "exported")


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
    # Rendered images replace the catalog photos once they exist (an images upload would otherwise
    # be undone by the next card push, which sends the card's pictures with it on Ozon and YM).
    photos = await rendered_urls(
        store_of(rt), partner_id, sorted({p.sku for _, p, _ in rows if p.images}), market
    )
    pushes: list[CardPush] = []
    skipped: dict[str, str] = {}
    held: dict[str, str] = {}  # sku → why this version is not sent (a reviewer's turn)
    live: set[int] = set()  # card version ids whose text the marketplace holds already
    async for cv, product, listing in cooperatively(rows):
        if cv.status == "pending_approval" or (
            cv.status == "rejected"
            and any(e.startswith("rejected by reviewer") for e in cv.validation_errors)
        ):
            held[product.sku] = "waiting for approval" if cv.status == "pending_approval" else "rejected"
            continue
        if listing.card_pushed_hash is not None and listing.card_pushed_hash == card_text_hash(
            cv.content["variant"]
        ):
            live.add(cv.id)
            continue
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
            images=photos.get(product.sku) or list(product.images or []),
            attributes=variant.get("attributes", {}),
            extra={"ikpu": ikpu} if (ikpu := variant.get("canonical_attributes", {}).get("ikpu")) else {},
            **card_dimensions(product.attributes or {}),
        )
        pushes.append(card.model_copy(update={"title": variant["title"]}))
    book = TaskBook(partner_id, jobs[0].id)
    for sku, why in held.items():
        if why == "waiting for approval":
            book.failed(
                Capability.CARDS, market, sku, "waiting for approval (aimanager review list)", "skipped"
            )
    if rt.dry_run:
        book.done(Capability.CARDS, market, *(c.offer_id for c in pushes))
        async with rt.sessions() as session, session.begin():
            await book.write(session)
        book.publish(rt.progress)
        return None
    conn = await rt.connectors.get(partner_id, market)
    exported = conn.capabilities.cards is CardChannel.EXPORT
    failed: dict[str, str] = dict(skipped)
    export_path = None
    answered = False  # the marketplace answered a call (the account works), per-item refusals or not
    if pushes:
        try:
            report = await conn.push_cards(pushes, wait=True)
            failed |= {e.offer_id: f"{e.code}: {e.message}" for e in report.failed}
            export_path = report.export_path
            answered = True
        except CurrencyNotConfirmed as exc:  # nothing was sent: the prices would be in the wrong money
            failed |= {c.offer_id: exc.reason for c in pushes}
        except ConnectorError as exc:  # the call itself failed: the account shows it, the engine retries
            async with rt.sessions() as session, session.begin():
                await record_account_use(session, partner_id, market, str(exc))
            raise
    sent = {c.offer_id for c in pushes}
    now = rt.now()
    rejected: dict[int, str] = {}  # card version id → the marketplace's reason
    async with rt.sessions() as session, session.begin():
        if answered:
            await record_account_use(session, partner_id, market, None)
        versions = await load_by_id(session, CardVersion, (cv.id for cv, _, _ in rows))
        listings = await load_by_id(session, Listing, (li.id for _, _, li in rows))
        for cv, product, listing in rows:
            stored = versions.get(cv.id)
            if stored is None or product.sku in held:
                continue
            if cv.id in live and product.sku not in sent:
                # Its text is on the marketplace already: live without a call.
                stored.status = "exported" if exported else "pushed"
                stored.pushed_at = stored.pushed_at or now
                if (current := listings.get(listing.id)) is not None:
                    current.card_version_id = cv.id
                book.done(Capability.CARDS, market, product.sku)
                continue
            if product.sku in failed:
                rejected[cv.id] = f"{product.sku}: {failed[product.sku]}"
                stored.status = "rejected"
                stored.validation_errors = [*stored.validation_errors, failed[product.sku]]
                book.failed(Capability.CARDS, market, product.sku, failed[product.sku])
            else:
                stored.status = "exported" if exported else "pushed"
                stored.pushed_at = now
                current = listings.get(listing.id)
                if current is not None:
                    current.card_version_id = cv.id
                    current.card_pushed_hash = card_text_hash(cv.content["variant"])
                book.done(Capability.CARDS, market, product.sku)
        await book.write(session)
    book.publish(rt.progress)
    if export_path is not None:
        log.info("cards.exported", partner_id=partner_id, path=str(export_path), cards=len(pushes))
    if live:
        log.info("cards.unchanged", partner_id=partner_id, marketplace=market.value, cards=len(live))
    return _push_failures(jobs, market, rejected)


async def cards_not_live(
    session: AsyncSession, partner_id: int, rows: Sequence[tuple[Listing, Product]]
) -> dict[int, str]:
    """Listings of ``rows`` whose card is not on their marketplace yet: listing id → the reason their
    price and stock wait, ``waiting for its card (<the card task's status: reason>)``.

    A listing is live when a card push was confirmed (``card_version_id``) or the import gave its
    marketplace id (``external_id``: the product was there before us). A listing with neither and no
    card version at all is left to the marketplace: we never began its card, so it may well exist (a
    seller's catalog imported without ids); the push's answer tells."""
    unknown = [(li, p) for li, p in rows if li.card_version_id is None and li.external_id is None]
    if not unknown:
        return {}
    product_ids = sorted({p.id for _, p in unknown})
    latest: dict[tuple[int, str], str] = {}
    for pid, market, status in (
        await session.execute(
            select(CardVersion.product_id, CardVersion.marketplace, CardVersion.status)
            .where(CardVersion.partner_id == partner_id, CardVersion.product_id.in_(product_ids))
            .order_by(CardVersion.id)
        )
    ).all():
        latest[(pid, market)] = status
    tasks = {
        (market, sku): (status, reason)
        for market, sku, status, reason in (
            await session.execute(
                select(TaskRecord.marketplace, TaskRecord.sku, TaskRecord.status, TaskRecord.reason).where(
                    TaskRecord.partner_id == partner_id,
                    TaskRecord.capability == Capability.CARDS.value,
                    TaskRecord.sku.in_(sorted({p.sku for _, p in unknown})),
                )
            )
        ).all()
    }
    out: dict[int, str] = {}
    for listing, product in unknown:
        version = latest.get((product.id, listing.marketplace))
        if version is None or version in _LIVE:
            continue
        status, reason = tasks.get((listing.marketplace, product.sku), (f"card {version}", None))
        if reason and reason.startswith(status.replace("_", " ")):
            detail = reason  # "needs input: Бренд" says its status already
        else:
            detail = f"{status}: {reason}" if reason else status
        out[listing.id] = f"{WAITING_FOR_CARD} ({detail})"
    return out


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
