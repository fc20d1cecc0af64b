"""Pricing (no LLM): decide every listing's price from its unit economics, push the changes in bulk.

Each ``pricing.apply`` job covers one partner on one marketplace. Decisions come from
``domain.pricing.decide_price`` (floor from cost + commission + logistics + margin, ceiling,
competitor signal, change budget) with the partner's settings (margin target, price bounds, step and
changes per day; a listing's own ``min_margin_pct``/``max_price`` win); every change is a
``price_changes`` row with its reason, pushed in one bulk call, and confirmed from the marketplace's
answer. A price is pushed only when it differs from the live one (or was never confirmed there).

Rows move ``pushed`` (written before the call) → ``confirmed`` | ``failed``; a crash in between is
settled by the next job first (``price_reconcile``). Review mode (``autopilot.prices`` off): a move
above ``large_price_move_pct`` (or a first price) is stored ``pending_approval`` and not pushed; a
reviewer's approval (or a rollback) makes it ``approved``, and the next job for the listing pushes it
as it is, without deciding again. A floor repair is never held back: every sale below the floor loses
money.

A listing whose card is not on its marketplace yet (``card_push.cards_not_live``) is not priced: its
task ends ``skipped`` "waiting for its card (…)", and the next job after the card lands prices it.
Every push's outcome is recorded on the account (``account_health``): success, or the call's error.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from aimanager.connectors.base import PriceUpdate
from aimanager.connectors.errors import CurrencyNotConfirmed
from aimanager.db.models import Listing, PriceChange, Product
from aimanager.domain.enums import Capability, Marketplace
from aimanager.domain.money import currency_for
from aimanager.domain.partner_settings import PartnerSettings, is_large_move, move_pct
from aimanager.domain.pricing import DecisionCode, Fees, PricePolicy, PricingInput, decide_price
from aimanager.errors import ConnectorError
from aimanager.jobs import Job, PermanentFailure, Snooze
from aimanager.pipelines.capabilities.card_push import cards_not_live
from aimanager.pipelines.capabilities.price_reconcile import DRY_RUN_NOTE, reconcile
from aimanager.pipelines.services.account_health import record_account_use
from aimanager.pipelines.services.partner_settings import settings_for
from aimanager.pipelines.services.runtime import Runtime, cooperatively, load_by_id
from aimanager.pipelines.services.tasks import TaskBook, bounded

DEFAULT_MARGIN = Decimal(10)
WAITING = "waiting for approval (aimanager review list)"
# Changes that count toward the 24-hour change budget: sent, whatever the marketplace answered later.
COUNTED = ("pushed", "confirmed")


async def apply(rt: Runtime, job: Job) -> dict[str, int]:
    """Handler of ``pricing.apply``: payload ``{"marketplace", "listing_ids"?}``."""
    market = Marketplace(job.payload["marketplace"])
    partner_id = int(job.partner_id or 0)
    only = job.payload.get("listing_ids")
    book = TaskBook(partner_id, job.id, per_job=True)
    in_flight = await reconcile(rt, partner_id, market, only, book)
    since = rt.now() - timedelta(hours=24)
    problems: dict[int, str] = {}  # listing id → why its price was not set (the job fails naming them)
    async with rt.sessions() as session:
        stmt = (
            select(Listing, Product)
            .join(Product, Product.id == Listing.product_id)
            .where(Listing.partner_id == partner_id, Listing.marketplace == market.value, Product.is_active)
        )
        if only:
            stmt = stmt.where(Listing.id.in_(only))
        rows = (await session.execute(stmt)).all()
        no_card = await cards_not_live(session, partner_id, rows)
        prefs = (await settings_for(session, [partner_id], rt.settings))[partner_id]
        recent = (
            (
                await session.execute(
                    select(PriceChange.listing_id).where(
                        PriceChange.partner_id == partner_id,
                        PriceChange.created_at >= since,
                        PriceChange.status.in_(COUNTED),
                    )
                )
            )
            .scalars()
            .all()
        )
        waiting = await _open_changes(session, partner_id, [li.id for li, _ in rows])
        # Listings whose price the marketplace has confirmed at least once; the others get their
        # price pushed even when it does not change, so the marketplace and the database agree.
        synced = set(
            (
                await session.execute(
                    select(PriceChange.listing_id)
                    .where(PriceChange.partner_id == partner_id, PriceChange.status == "confirmed")
                    .distinct()
                )
            ).scalars()
        )
    changes_24h: dict[int, int] = {}
    for listing_id in recent:
        changes_24h[listing_id] = changes_24h.get(listing_id, 0) + 1
    policy = PricePolicy(max_step_pct=prefs.max_step_pct, max_changes_per_day=prefs.max_changes_per_day)
    # Decide outside any transaction (on SQLite an open write transaction holds the one write lock).
    planned: list[tuple[Listing, PriceChange]] = []
    approved: list[tuple[Listing, PriceChange]] = []  # a reviewer's (or a rollback's): sent as they are
    pending: list[PriceChange] = []
    held = broken = 0
    async for listing, product in cooperatively(rows):
        if listing.id in in_flight:
            continue  # its last push may still be in flight: the next job looks again
        if listing.id in no_card:  # the marketplace would refuse it: "product not found"
            book.failed(Capability.PRICING, market, product.sku, no_card[listing.id], "skipped")
            continue
        open_change = waiting.get(listing.id)
        if open_change is not None and open_change.status == "pending_approval":
            book.failed(Capability.PRICING, market, product.sku, WAITING, "skipped")
            continue
        if open_change is not None:  # approved
            approved.append((listing, open_change))
            continue
        if product.cost_price is None:
            broken += 1
            book.failed(Capability.PRICING, market, product.sku, "needs input: cost price", "needs_input")
            problems[listing.id] = f"{product.sku}: needs input: cost price"
            continue
        decision = decide_price(_input(listing, product, market, prefs, changes_24h), policy)
        if decision.new_price is None or decision.floor is None:
            broken += 1
            book.failed(Capability.PRICING, market, product.sku, decision.reason)
            problems[listing.id] = f"{product.sku}: {decision.reason}"
            continue
        reason = decision.reason
        review = False
        if not decision.changed:
            if listing.id in synced:
                held += 1
                book.done(Capability.PRICING, market, product.sku)
                continue
            reason = f"first push to {market.value}: {decision.reason}"
        else:
            review = (
                prefs.wants_review("prices")
                and decision.code is not DecisionCode.FLOOR_REPAIR
                and is_large_move(listing.price, decision.new_price, prefs.large_price_move_pct)
            )
        change = PriceChange(
            partner_id=partner_id,
            listing_id=listing.id,
            old_price=listing.price,
            new_price=decision.new_price,
            floor=decision.floor,
            ceiling=decision.ceiling,
            reason=reason,
            status="pending_approval" if review else "planned",
        )
        if review:
            pending.append(change)
            moved = move_pct(listing.price, decision.new_price)
            why = f"{WAITING}: {listing.price} → {decision.new_price}" + (f" ({moved:+}%)" if moved else "")
            book.failed(Capability.PRICING, market, product.sku, why, "skipped")
        else:
            planned.append((listing, change))
    products = {listing.id: product for listing, product in rows}
    outgoing = planned + approved
    now = rt.now()
    if rt.dry_run or not outgoing:
        for _, change in planned:
            change.error = DRY_RUN_NOTE  # never meant to be sent: no later job settles it
        book.done(Capability.PRICING, market, *(products[li.id].sku for li, _ in outgoing))
    async with rt.sessions() as session, session.begin():
        if not rt.dry_run:
            # Marked sent before the call: a crash after it leaves a row the next job settles by reading
            # the price back, never one that stays open (see price_reconcile).
            for _, change in planned:
                change.status, change.pushed_at = "pushed", now
            for row in (await load_by_id(session, PriceChange, (c.id for _, c in approved))).values():
                row.status, row.pushed_at = "pushed", now
        session.add_all([change for _, change in planned] + pending)
        if rt.dry_run or not outgoing:
            await book.write(session)
    if rt.dry_run or not outgoing:
        book.publish(rt.progress)
        _snooze_in_flight(job, market, in_flight, problems)
        _raise_problems(job, market, problems)
        return {"changed": len(planned), "held": held, "broken": broken, "pushed": 0, "pending": len(pending)}
    failed, answered = await _send(rt, partner_id, market, [(products[li.id].sku, ch) for li, ch in outgoing])
    await _record(rt, market, outgoing, products, (failed, answered), book, problems)
    book.publish(rt.progress)
    _snooze_in_flight(job, market, in_flight, problems)
    _raise_problems(job, market, problems)
    return {
        "changed": len(outgoing),
        "held": held,
        "broken": broken,
        "pushed": len(outgoing) - len(failed),
        "pending": len(pending),
    }


def _input(
    listing: Listing, product: Product, market: Marketplace, prefs: PartnerSettings, changes: dict[int, int]
) -> PricingInput:
    """One listing's pricing input: the listing's own margin and ceiling win over the partner's."""
    assert product.cost_price is not None
    return PricingInput(
        cost=product.cost_price,
        fees=Fees(
            commission_pct=listing.commission_pct or Decimal(0),
            logistics=listing.logistics_cost or Decimal(0),
        ),
        currency=currency_for(market),
        min_margin_pct=listing.min_margin_pct
        if listing.min_margin_pct is not None
        else prefs.margin_target_pct,
        current_price=listing.price,
        max_price=listing.max_price if listing.max_price is not None else prefs.max_price,
        min_price=prefs.min_price,
        competitor_price=listing.competitor_price,
        changes_last_24h=changes.get(listing.id, 0),
    )


async def _open_changes(
    session: AsyncSession, partner_id: int, listing_ids: list[int]
) -> dict[int, PriceChange]:
    """Per listing, its newest change waiting for a reviewer or approved and not yet sent."""
    if not listing_ids:
        return {}
    rows = (
        (
            await session.execute(
                select(PriceChange)
                .where(
                    PriceChange.partner_id == partner_id,
                    PriceChange.listing_id.in_(listing_ids),
                    PriceChange.status.in_(("pending_approval", "approved")),
                )
                .order_by(PriceChange.id)
            )
        )
        .scalars()
        .all()
    )
    return {row.listing_id: row for row in rows}


async def _send(
    rt: Runtime, partner_id: int, market: Marketplace, items: list[tuple[str, PriceChange]]
) -> tuple[dict[str, str], bool]:
    """One bulk push of ``(sku, change)``; returns the refused SKUs with the marketplace's reasons, and
    whether the marketplace answered (False: nothing was sent)."""
    currency = currency_for(market)
    updates = [PriceUpdate(offer_id=sku, price=ch.new_price, currency=currency) for sku, ch in items]
    try:
        # Shared with any other push to this account in flight (urgent single-SKU requests): one call.
        report = await rt.price_pushes.push((partner_id, market), updates)
    except CurrencyNotConfirmed as exc:
        # Nothing was sent: the number would have landed in the wrong money. Someone must say which
        # currency the account settles in (or reprice in it) before these prices can go out.
        return {u.offer_id: exc.reason for u in updates}, False
    except ConnectorError as exc:  # the call itself failed: the account shows it, the job retries
        async with rt.sessions() as session, session.begin():
            await record_account_use(session, partner_id, market, str(exc))
        raise
    return {e.offer_id: f"{e.code}: {e.message}" for e in report.failed}, True


async def _record(
    rt: Runtime,
    market: Marketplace,
    outgoing: list[tuple[Listing, PriceChange]],
    products: dict[int, Product],
    answer: tuple[dict[str, str], bool],
    book: TaskBook,
    problems: dict[int, str],
) -> None:
    """The marketplace's answer, with the tasks and the account's health, in one transaction."""
    now = rt.now()
    failed, answered = answer
    async with rt.sessions() as session, session.begin():
        if answered:  # per-item refusals included: the account works
            await record_account_use(session, book.partner_id, market, None)
        stored_changes = await load_by_id(session, PriceChange, (c.id for _, c in outgoing))
        live_listings = await load_by_id(session, Listing, (li.id for li, _ in outgoing))
        for listing, change in outgoing:
            sku = products[listing.id].sku
            stored = stored_changes.get(change.id)
            live = live_listings.get(listing.id)
            if stored is None or live is None:
                continue
            if sku in failed:
                stored.status, stored.error = "failed", failed[sku]
                book.failed(Capability.PRICING, market, sku, failed[sku])
                problems[listing.id] = f"{sku}: {failed[sku]}"
            else:
                stored.status, stored.confirmed_at = "confirmed", now
                live.price = stored.new_price
                book.done(Capability.PRICING, market, sku)
        await book.write(session)


# Another job's push of a listing is answered in seconds: this job looks at that listing again then.
IN_FLIGHT_RECHECK_S = 5.0


def _snooze_in_flight(job: Job, market: Marketplace, in_flight: set[int], problems: dict[int, str]) -> None:
    """Listings whose last push (another job's) was still in flight got no price decision here: the job
    waits a few seconds and decides them then (their outcome once that push is settled), rather than
    ending with their tasks open. Its payload keeps them and the listings that failed, which fail
    again, naming their reason, on that run."""
    if in_flight:
        raise Snooze(
            f"{market.value}: {len(in_flight)} price(s) still being sent by another job",
            delay=IN_FLIGHT_RECHECK_S,
            payload={**job.payload, "listing_ids": sorted(in_flight | set(problems))},
        )


def _raise_problems(job: Job, market: Marketplace, problems: dict[int, str]) -> None:
    """Prices that were not set fail the job, naming them; its payload keeps only their listings, so a
    retry once the cause is fixed redoes just those. The others' prices are stored already."""
    if problems:
        reasons = list(problems.values())
        text = bounded(reasons)
        raise PermanentFailure(
            f"{market.value}: {len(problems)} price(s) not set: {text}",
            payload={**job.payload, "listing_ids": sorted(problems)},
        )
