"""Review mode: what waits for approval, approving or rejecting it, and rolling a card or price back.

Cards and large price moves of a partner in review mode wait as ``pending_approval`` (see
``capabilities.cards`` and ``capabilities.pricing``). Items are named ``c<id>`` (a card version) and
``p<id>`` (a price change). Approving queues the normal push job in the same transaction as the
status change (a card version becomes ``validated`` → ``cards.push``; a price change ``approved`` →
``pricing.apply`` for its listing, which sends it as it is). Rejecting ends the item and fails its task
with the reviewer's reason. Rolling back is :mod:`aimanager.pipelines.services.rollback`.
"""

from __future__ import annotations

import difflib
import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from aimanager.db.models import CardVersion, Listing, Partner, PriceChange, Product
from aimanager.domain.enums import Capability, Marketplace
from aimanager.domain.partner_settings import move_pct
from aimanager.errors import PipelineError
from aimanager.jobs import Backend, JobSpec, Priority
from aimanager.logs import get_logger
from aimanager.pipelines.services.tasks import TaskBook

log = get_logger("aimanager.pipelines.services.review")
REVIEWER_PREFIX = "rejected by reviewer"  # cards.REVIEWER: a version refused by a person, not a marketplace
# The text fields a reviewer compares, in reading order.
DIFF_FIELDS = ("title", "description", "bullets", "keywords", "title_uz", "description_uz", "bullets_uz")


class ReviewError(PipelineError):
    """An item that does not exist, is not waiting, or cannot be rolled back."""


@dataclass
class ReviewItem:
    """One pending card version or price change, with what a reviewer needs to decide."""

    ref: str  # c<id> | p<id>
    capability: Capability
    partner_id: int
    partner: str
    marketplace: str
    sku: str
    summary: str
    diff: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Filters:
    partner_id: int | None = None
    capability: Capability | None = None
    marketplace: Marketplace | None = None


def card_diff(live: dict[str, Any] | None, new: dict[str, Any]) -> list[str]:
    """Unified diff of a card's text fields, live → new (everything ``+`` for a first card)."""

    def lines(variant: dict[str, Any] | None) -> list[str]:
        out: list[str] = []
        for name in DIFF_FIELDS:
            value = (variant or {}).get(name)
            if not value:
                continue
            items = value if isinstance(value, list) else str(value).splitlines() or [""]
            out += [f"{name}: {item}" for item in items]
        return out

    return list(difflib.unified_diff(lines(live), lines(new), "live", "new", lineterm="", n=1))[
        2:
    ]  # the ---/+++ header says nothing the table does not


async def count_pending(session: AsyncSession, filters: Filters) -> int:
    """How many items wait for approval under ``filters``: an index range of ``pending_approval``
    (``ix_card_versions_status``, ``ix_price_changes_status``), never a walk of every version."""
    total = 0
    if filters.capability in (None, Capability.CARDS):
        q = select(func.count()).select_from(CardVersion).where(CardVersion.status == "pending_approval")
        if filters.partner_id is not None:
            q = q.where(CardVersion.partner_id == filters.partner_id)
        if filters.marketplace is not None:
            q = q.where(CardVersion.marketplace == filters.marketplace.value)
        total += int((await session.execute(q)).scalar() or 0)
    if filters.capability in (None, Capability.PRICING):
        pq = select(func.count()).select_from(PriceChange).where(PriceChange.status == "pending_approval")
        if filters.partner_id is not None:
            pq = pq.where(PriceChange.partner_id == filters.partner_id)
        if filters.marketplace is not None:
            pq = pq.join(Listing, Listing.id == PriceChange.listing_id).where(
                Listing.marketplace == filters.marketplace.value
            )
        total += int((await session.execute(pq)).scalar() or 0)
    return total


def _ids(refs: Sequence[str] | None, kind: str) -> list[int] | None:
    if refs is None:
        return None
    return [int(r[1:]) for r in refs if r[:1] == kind and r[1:].isdigit() and len(r) < 20]


async def pending(
    session: AsyncSession,
    filters: Filters,
    *,
    limit: int | None = None,
    refs: Sequence[str] | None = None,
    diffs: bool = True,
) -> list[ReviewItem]:
    """What waits for approval under ``filters``, oldest first: at most ``limit`` cards and ``limit``
    price moves (a page: the whole queue can hold thousands, each with a diff to compute), only the
    items named in ``refs`` if given, and without diffs when ``diffs`` is false (deciding needs none)."""
    items: list[ReviewItem] = []
    card_ids, price_ids = _ids(refs, "c"), _ids(refs, "p")
    if filters.capability in (None, Capability.CARDS) and card_ids != []:
        q = (
            select(CardVersion, Product.sku, Partner.slug, Listing.card_version_id)
            .join(Product, Product.id == CardVersion.product_id)
            .join(Partner, Partner.id == CardVersion.partner_id)
            .outerjoin(
                Listing,
                (Listing.product_id == CardVersion.product_id)
                & (Listing.marketplace == CardVersion.marketplace),
            )
            .where(CardVersion.status == "pending_approval")
            .order_by(CardVersion.id)
        )
        if filters.partner_id is not None:
            q = q.where(CardVersion.partner_id == filters.partner_id)
        if filters.marketplace is not None:
            q = q.where(CardVersion.marketplace == filters.marketplace.value)
        if card_ids is not None:
            q = q.where(CardVersion.id.in_(card_ids))
        rows = (await session.execute(q.limit(limit))).all()
        live_ids = {lid for *_, lid in rows if lid is not None} if diffs else set()
        live = {
            cv.id: cv.content.get("variant")
            for cv in (
                await session.execute(select(CardVersion).where(CardVersion.id.in_(live_ids)))
            ).scalars()
        }
        for cv, sku, slug, live_id in rows:
            variant = cv.content.get("variant") or {}
            before = live.get(live_id) if live_id is not None else None
            summary = f"v{cv.version}: {variant.get('title', '')[:80]}" + ("" if before else " (first card)")
            items.append(
                ReviewItem(
                    f"c{cv.id}",
                    Capability.CARDS,
                    cv.partner_id,
                    slug,
                    cv.marketplace,
                    sku,
                    summary,
                    card_diff(before, variant) if diffs else [],
                )
            )
    if filters.capability in (None, Capability.PRICING) and price_ids != []:
        pq = (
            select(PriceChange, Listing.marketplace, Product.sku, Partner.slug)
            .join(Listing, Listing.id == PriceChange.listing_id)
            .join(Product, Product.id == Listing.product_id)
            .join(Partner, Partner.id == PriceChange.partner_id)
            .where(PriceChange.status == "pending_approval")
            .order_by(PriceChange.id)
        )
        if filters.partner_id is not None:
            pq = pq.where(PriceChange.partner_id == filters.partner_id)
        if filters.marketplace is not None:
            pq = pq.where(Listing.marketplace == filters.marketplace.value)
        if price_ids is not None:
            pq = pq.where(PriceChange.id.in_(price_ids))
        for ch, market, sku, slug in (await session.execute(pq.limit(limit))).all():
            moved = move_pct(ch.old_price, ch.new_price)
            old = "—" if ch.old_price is None else money(ch.old_price)
            pct = f" ({moved:+}%)" if moved is not None else " (first price)"
            summary = f"{old} → {money(ch.new_price)}{pct}"
            items.append(
                ReviewItem(
                    f"p{ch.id}", Capability.PRICING, ch.partner_id, slug, market, sku, summary, [ch.reason]
                )
            )
    return items


def choose(
    items: list[ReviewItem],
    refs: Sequence[str],
    sample: int | None,
    everything: bool,
    seed: int | None = None,
) -> list[ReviewItem]:
    """The items a decision applies to: named ones (each must be pending), a random sample, or all."""
    if refs:
        by_ref = {i.ref: i for i in items}
        missing = [r for r in refs if r not in by_ref]
        if missing:
            raise ReviewError(f"not waiting for approval (or no such item): {', '.join(missing)}")
        return [by_ref[r] for r in dict.fromkeys(refs)]
    if sample is not None:
        return random.Random(seed).sample(items, min(sample, len(items)))
    return list(items) if everything else []


async def approve(session: AsyncSession, backend: Backend, chosen: list[ReviewItem], reviewer: str) -> int:
    """Approve ``chosen`` and queue their pushes, all in the caller's transaction; returns jobs queued."""
    now = datetime.now(UTC)
    cards: dict[tuple[int, str], list[int]] = defaultdict(list)
    prices: dict[tuple[int, str], list[int]] = defaultdict(list)
    for item in chosen:
        kind, row_id = item.ref[0], int(item.ref[1:])
        if kind == "c":
            cv = await session.get(CardVersion, row_id)
            if cv is None or cv.status != "pending_approval":
                raise ReviewError(f"{item.ref} is no longer waiting for approval")
            cv.status = "validated"
            cv.content = {
                **cv.content,
                "review": {"decision": "approved", "by": reviewer, "at": now.isoformat()},
            }
            cards[(cv.partner_id, cv.marketplace)].append(cv.id)
        else:
            ch = await session.get(PriceChange, row_id)
            if ch is None or ch.status != "pending_approval":
                raise ReviewError(f"{item.ref} is no longer waiting for approval")
            ch.status = "approved"
            ch.reason = f"{ch.reason}; approved by {reviewer}"
            prices[(ch.partner_id, item.marketplace)].append(ch.listing_id)
    specs = push_specs(cards, prices)
    if specs:
        await session.flush()
        await backend.enqueue_many(specs, conn=await session.connection())
    log.info("review.approved", items=len(chosen), reviewer=reviewer, jobs=len(specs))
    return len(specs)


def push_specs(
    cards: dict[tuple[int, str], list[int]], prices: dict[tuple[int, str], list[int]]
) -> list[JobSpec]:
    """The normal push jobs for card versions and for listings with an approved price change."""
    from aimanager.pipelines.capabilities.cards import push_key

    specs = [
        JobSpec(
            kind="cards.push",
            partner_id=pid,
            payload={"marketplace": market, "card_version_ids": ids},
            priority=Priority.HIGH,
            batch_key=push_key(pid, Marketplace(market)),
        )
        for (pid, market), ids in cards.items()
    ]
    specs += [
        JobSpec(
            kind="pricing.apply",
            partner_id=pid,
            payload={"marketplace": market, "listing_ids": sorted(set(ids))},
            priority=Priority.HIGH,
            batch_key=f"p{pid}:{market}:pricing",
        )
        for (pid, market), ids in prices.items()
    ]
    return specs


async def reject(session: AsyncSession, chosen: list[ReviewItem], reason: str, reviewer: str) -> None:
    """Reject ``chosen`` with ``reason``; their tasks fail with it (in the caller's transaction)."""
    why = f"{REVIEWER_PREFIX} {reviewer}: {reason}"
    books: dict[int, TaskBook] = {}
    for item in chosen:
        book = books.setdefault(item.partner_id, TaskBook(item.partner_id))
        kind, row_id = item.ref[0], int(item.ref[1:])
        row: Any = await session.get(CardVersion if kind == "c" else PriceChange, row_id)
        if row is None or row.status != "pending_approval":
            raise ReviewError(f"{item.ref} is no longer waiting for approval")
        row.status = "rejected"
        if kind == "c":
            row.validation_errors = [*row.validation_errors, why]
        else:
            row.error = why
        book.failed(item.capability, Marketplace(item.marketplace), item.sku, why)
    for book in books.values():
        await book.write(session)
    log.info("review.rejected", items=len(chosen), reviewer=reviewer)


def money(value: Decimal) -> str:
    """A price as people write it: ``120000``, ``99.5`` (no trailing zeros, no exponent)."""
    return format(value.normalize(), "f")
