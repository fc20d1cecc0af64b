"""Product cards: generate once per product, validate per marketplace, keep versions, push or export.

``cards.generate`` (a batch handler) writes every product of its jobs through the LLM gateway in one
go, so the packer fills its calls; each draft is cut into one variant per marketplace the product is
listed on, validated against that marketplace's rules, and stored as a card version. In the same
transaction it queues ``cards.push`` jobs keyed by partner + marketplace, which the engine hands over in
batches (``card_push``).

Incremental: each marketplace's card has an input hash (facts + that marketplace's rules version +
prompt version + the languages it carries, ``domain.cards.card_input_hash``); a card whose newest
version has the same hash is not written again (no LLM call), and its task is told from that version.
Review mode (the partner's ``autopilot.cards`` off): new cards are stored ``pending_approval`` and not
pushed; ``aimanager review approve`` queues their push.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from typing import Any

from sqlalchemy import select, update

from aimanager.db.models import CardVersion, Listing, Product
from aimanager.domain.cards import CardDraft, ProductFacts
from aimanager.domain.enums import Capability, Marketplace
from aimanager.domain.readiness import readiness
from aimanager.domain.rules import variant_for
from aimanager.domain.validate import validate_card, validator_for
from aimanager.jobs import Job, JobSpec, PermanentFailure, Priority, Retry, Snooze
from aimanager.llm import CardRequest, CardResult
from aimanager.llm.prompts import CARD_PROMPT_VERSION
from aimanager.logs import get_logger
from aimanager.pipelines.capabilities.card_inputs import WAITING, changed_markets, latest_versions
from aimanager.pipelines.catalog.importer import product_facts
from aimanager.pipelines.services.partner_settings import settings_for
from aimanager.pipelines.services.runtime import Runtime
from aimanager.pipelines.services.tasks import TaskBook, bounded

log = get_logger("aimanager.pipelines.capabilities.cards")
# After an outage or a run of 429s, the next attempt of the products whose calls failed waits this long:
# about the gateway's model cooldown, so the retry finds the provider back rather than still down.
CALL_RETRY_DELAY_S = 30.0
# How soon a job whose products wait in a provider batch looks again: a tenth of how long it has waited
# so far, between these bounds. A batch of a minute is seen within seconds of its end; one of hours is
# looked at once a minute, not thousands of times (each look is a claim and a read of the batch store).
BATCH_LOOK_S = 60.0
BATCH_LOOK_MIN_S = 5.0
BATCH_LOOK_SHARE = 0.1


def batch_look_in(waiting_since: float, now: float) -> float:
    """Seconds until a job waiting on a batch since ``waiting_since`` looks again."""
    return min(BATCH_LOOK_S, max(BATCH_LOOK_MIN_S, BATCH_LOOK_SHARE * (now - waiting_since)))


def push_key(partner_id: int, marketplace: Marketplace) -> str:
    """Batch key of a partner's card pushes to one marketplace."""
    return f"p{partner_id}:{marketplace.value}:cards"


async def generate(rt: Runtime, jobs: list[Job]) -> dict[int, BaseException] | None:
    """Batch handler of ``cards.generate``: one gateway call set for all the jobs' products.

    Every product ends one of three ways, and its job says so: cards stored (and pushes queued); the
    LLM work failed (the job is retried with only those products: ``Retry``); or it cannot be done
    until someone acts — facts missing for a marketplace ("needs input", no LLM call made) or the
    partner's AI budget used up — and the job ends failed with only those products and the reasons
    (``PermanentFailure``), for an operator to fix and retry. A product missing a fact only one of its
    marketplaces requires still gets its cards on the others.

    A job acts only on its own partner's products, whatever its payload says."""
    wanted = {int(pid): job for job in jobs for pid in job.payload["product_ids"]}
    async with rt.sessions() as session:
        found = (await session.execute(select(Product).where(Product.id.in_(list(wanted))))).scalars().all()
        products = [p for p in found if p.partner_id == wanted[p.id].partner_id]
        listings = (
            (await session.execute(select(Listing).where(Listing.product_id.in_(list(wanted)))))
            .scalars()
            .all()
        )
        latest = await latest_versions(session, list(wanted))
        prefs = await settings_for(session, {p.partner_id for p in products}, rt.settings)
    by_product: dict[int, list[Listing]] = defaultdict(list)
    for listing in listings:
        by_product[listing.product_id].append(listing)
    outcome = _Outcome()
    book = TaskBook(int(jobs[0].partner_id or 0), jobs[0].id)
    requests = []
    ready_markets: dict[int, list[Marketplace]] = {}
    digests: dict[tuple[int, Marketplace], str] = {}
    for product in products:
        facts = product_facts(product)
        ready, needs = readiness([Marketplace(li.marketplace) for li in by_product[product.id]], facts)
        for market, missing in needs.items():
            reason = f"needs input: {', '.join(missing)}"
            outcome.hold(product, market, reason)
            book.failed(
                Capability.CARDS, market, product.sku, reason, "needs_input", partner_id=product.partner_id
            )
            previous = latest.get((product.id, market.value))
            if previous is None or (previous.status, previous.input_hash) != (
                "needs_input",
                facts.facts_hash(),
            ):
                version = (previous.version if previous else 0) + 1
                outcome.versions.append(_needs_input(product, market, version, missing))
        ready = changed_markets(
            product, facts, ready, prefs[product.partner_id], latest, digests, book, outcome.repush
        )
        ready_markets[product.id] = ready
        if ready:
            requests.append(
                CardRequest(
                    item_id=str(product.id),
                    partner_id=product.partner_id,
                    facts=facts,
                    priority_low=wanted[product.id].priority is Priority.LOW,
                    validator=validator_for(ready),
                )
            )
    results = {r.item_id: r for r in await rt.gateway.generate_cards(requests)} if requests else {}
    # Cut outside any transaction: on SQLite a write transaction holds the one write lock (job claims
    # included) for as long as it is open. No second validation here: the gateway returns a draft only
    # when it passed ``validator_for`` the product's ready marketplaces.
    hashes: list[dict[str, Any]] = []
    for product in products:
        await asyncio.sleep(0)  # a few ms of CPU per product: let claims and heartbeats run between
        result = results.get(str(product.id))
        if result is None:
            continue
        markets = ready_markets[product.id]
        facts = product_facts(product)
        chosen, markets = _usable(result, facts, markets, product, book, outcome)
        if chosen is None:
            continue
        draft = chosen.model_dump()
        review = prefs[product.partner_id].wants_review("cards")
        for market in markets:
            card = variant_for(market, chosen, facts)
            previous = latest.get((product.id, market.value))
            outcome.versions.append(
                CardVersion(
                    partner_id=product.partner_id,
                    product_id=product.id,
                    marketplace=market.value,
                    version=(previous.version if previous else 0) + 1,
                    content={"draft": draft, "variant": card.model_dump(mode="json")},
                    model=result.model,
                    prompt_version=CARD_PROMPT_VERSION,
                    input_hash=digests[(product.id, market)],
                    # Review mode: stored, not pushed, until a reviewer approves it.
                    status="pending_approval" if review else "validated",
                    validation_errors=[],
                )
            )
            if review:
                book.failed(
                    Capability.CARDS, market, product.sku, WAITING, "skipped", partner_id=product.partner_id
                )
        if product.id not in outcome.held:
            hashes.append({"id": product.id, "facts_hash": facts.facts_hash()})
    await _store(rt, jobs, outcome.versions, hashes, book, outcome.repush)
    book.publish(rt.progress)
    failures = outcome.job_failures(jobs) or {}
    foreign = _foreign(jobs, {p.id for p in found}, {p.id for p in products})
    for job_id, exc in foreign.items():
        failures.setdefault(job_id, exc)
    return failures or None


def _foreign(jobs: list[Job], found: set[int], own: set[int]) -> dict[int, BaseException]:
    """Jobs whose payload names products of another partner, or none at all: a permanent failure that
    says which (the products that are the job's own were still done)."""
    failures: dict[int, BaseException] = {}
    for job in jobs:
        ids = [int(pid) for pid in job.payload["product_ids"]]
        other = [pid for pid in ids if pid in found and pid not in own]
        unknown = [pid for pid in ids if pid not in found]
        if other or unknown:
            parts = []
            if other:
                parts.append(
                    f"product(s) {other} belong to another partner than the job's ({job.partner_id})"
                )
            if unknown:
                parts.append(f"product(s) {unknown} do not exist")
            failures[job.id] = PermanentFailure("; ".join(parts) + "; nothing was done for them")
    return failures


def _usable(
    result: CardResult,
    facts: ProductFacts,
    markets: list[Marketplace],
    product: Product,
    book: TaskBook,
    outcome: _Outcome,
) -> tuple[CardDraft | None, list[Marketplace]]:
    """The draft to store and the marketplaces it is good for; the others' tasks recorded as failed.

    A draft that kept failing one marketplace's rule (Yandex Market's capitals, say) is still a good
    card for the others: it goes to those, and only the marketplace it breaks fails, with its errors
    (the job is retried for the product, as for any answer that kept failing)."""
    if result.draft is not None:
        return result.draft, markets
    reason = result.error or "no draft"
    if result.failure == "pending":  # not failed: its batch is still running
        outcome.failed(product, reason, "pending")
        return None, []
    partial = result.rejected_draft if result.failure == "answer" else None
    errors = {m: validate_card(m, facts, partial) for m in markets} if partial is not None else {}
    good = [m for m in markets if partial is not None and not errors[m]]
    for market in markets:
        if market not in good:
            why = "; ".join(errors[market]) if errors.get(market) else reason
            book.failed(Capability.CARDS, market, product.sku, why, partner_id=product.partner_id)
            if good:
                # Answers that kept failing may be a run of slips (an imperfect model's): the job is
                # retried for the product, not ended; its good marketplaces keep their cards meanwhile.
                outcome.failed(product, f"{market.value} card failed its rules: {why}", "answer")
    if not good:
        outcome.failed(product, reason, result.failure or "answer")
        return None, []
    return partial, good


class _Outcome:
    """What a ``cards.generate`` call leaves to do, per product, and the versions it stores."""

    def __init__(self) -> None:
        self.versions: list[CardVersion] = []
        self.retry: dict[int, str] = {}  # product id → why its LLM work failed (try again)
        self.pending: dict[int, str] = {}  # product id → in a provider batch still running (look again)
        self.held: dict[int, list[str]] = defaultdict(list)  # product id → what someone must do first
        self.skus: dict[int, str] = {}
        self.call_wait: float | None = None
        # Unchanged versions written but not yet confirmed on their marketplace: pushed (again).
        self.repush: dict[tuple[int, Marketplace], list[int]] = defaultdict(list)

    def hold(self, product: Product, market: Marketplace | None, reason: str) -> None:
        self.skus[product.id] = product.sku
        self.held[product.id].append(f"{market.value} {reason}" if market else reason)

    def failed(self, product: Product, reason: str, failure: str, retry_after: float | None = None) -> None:
        if failure == "budget":
            self.hold(product, None, reason)
            return
        self.skus[product.id] = product.sku
        if failure == "pending":
            self.pending[product.id] = reason
            return
        self.retry[product.id] = reason
        if failure == "call":
            # An outage or the limits: the provider needs time, not the engine's quick first retry; a
            # spend-cap pause says how long.
            self.call_wait = max(self.call_wait or 0.0, retry_after or CALL_RETRY_DELAY_S)

    def job_failures(self, jobs: list[Job]) -> dict[int, BaseException] | None:
        failures: dict[int, BaseException] = {}
        for job in jobs:
            ids = [int(pid) for pid in job.payload["product_ids"]]
            retry = [pid for pid in ids if pid in self.retry]
            pending = [pid for pid in ids if pid in self.pending]
            held = [pid for pid in ids if pid in self.held and pid not in self.retry]
            if not retry and not pending and not held:
                continue
            reasons = [f"{self.skus[p]}: {self.retry[p]}" for p in retry]
            reasons += [f"{self.skus[p]}: {'; '.join(self.held[p])}" for p in held]
            left = len(retry) + len(pending) + len(held)
            summary = f"{left} of {len(ids)} products not done: " + bounded(reasons)
            payload = {**job.payload, "product_ids": retry + pending + held}
            if retry:
                failures[job.id] = Retry(summary, delay=self.call_wait, payload=payload)
            elif pending:
                # Nothing failed: the batch is running. The job waits without using an attempt, and
                # its next look polls the same batch.
                why = f"{len(pending)} products in a provider batch still running"
                now = time.time()
                since = float(job.payload.get("batch_since") or now)
                payload["batch_since"] = since
                failures[job.id] = Snooze(why, delay=batch_look_in(since, now), payload=payload)
            else:
                failures[job.id] = PermanentFailure(summary, payload=payload)
        return failures or None


async def _store(
    rt: Runtime,
    jobs: list[Job],
    versions: list[CardVersion],
    hashes: list[dict[str, Any]],
    book: TaskBook,
    repush: dict[tuple[int, Marketplace], list[int]],
) -> None:
    """Card versions, facts hashes and the pushes of the validated versions: all land, or none."""
    push: dict[tuple[int, Marketplace], list[int]] = defaultdict(list)
    for key, ids in repush.items():
        push[key].extend(ids)
    async with rt.sessions() as session, session.begin():
        if hashes:
            await session.execute(update(Product), hashes)
        await book.write(session)
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


def _needs_input(product: Product, market: Marketplace, version: int, missing: list[str]) -> CardVersion:
    return CardVersion(
        partner_id=product.partner_id,
        product_id=product.id,
        marketplace=market.value,
        version=version,
        content={},
        status="needs_input",
        validation_errors=[f"needs input: {m}" for m in missing],
        input_hash=product_facts(product).facts_hash(),
    )
