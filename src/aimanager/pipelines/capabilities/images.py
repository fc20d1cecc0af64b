"""Product images: catalog photos → checked → vision attributes for review → infographics per marketplace
→ content-addressed storage → uploaded where each marketplace takes images.

Two job kinds, like any other work (prioritised, batched, retried, visible as ``images`` tasks per
SKU@marketplace):

* ``images.prepare`` (batch handler, ≤20 products a job, jobs of one partner claimed together): fetch the
  catalog's photos, check each (format, size, aspect; repeats by perceptual hash) with a reason per bad
  photo; the first good photo goes to the vision tier (``Gateway.extract_attributes``; cached, ledgered)
  whose findings are kept as ``extracted`` for review and never over a seller's fact; then per
  marketplace a clean photo and one infographic per language are rendered at its size from the catalog's
  facts (plus approved extractions) and stored under content-addressed keys. Each render has an input
  hash: unchanged inputs render nothing. It queues ``images.upload`` per marketplace.
* ``images.upload`` (per partner × marketplace, ``image_upload``): sends each product's public URLs
  (``connectors.media``), or to Wildberries the files themselves when the store has no public URL,
  unless the marketplace already got exactly that set.

A photo that cannot be fetched for a passing reason (timeout, 5xx) retries the job; a bad photo fails
its product's tasks with the reason; a product with no photo at all ``needs_input``.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from aimanager.db.models import Listing, MarketplaceIntegration, Product
from aimanager.domain.enums import Capability, Marketplace
from aimanager.domain.images import RULES, duplicates, infographic_lines, source_problems
from aimanager.jobs import Job, JobSpec, PermanentFailure, Priority, Retry
from aimanager.llm import BudgetExceeded, VisionRequest
from aimanager.llm.calls import CallFailed
from aimanager.llm.errors import ProviderHTTPError
from aimanager.llm.types import ImageInput
from aimanager.logs import get_logger
from aimanager.media.errors import BadImage, FetchFailed
from aimanager.media.fetch import PhotoFetcher
from aimanager.media.imaging import Decoded, decode, for_vision, perceptual_hash
from aimanager.media.render import RENDER_VERSION, clean_photo, infographic
from aimanager.media.store import CONTENT_TYPES, ObjectStore, content_key
from aimanager.pipelines.capabilities.image_upload import upload
from aimanager.pipelines.catalog.importer import product_facts
from aimanager.pipelines.services.image_book import (
    approved_facts,
    input_hash,
    load_state,
    merge_extracted,
    save_state,
    store_of,
)
from aimanager.pipelines.services.runtime import Runtime, load_by_id
from aimanager.pipelines.services.tasks import TaskBook, bounded

log = get_logger("aimanager.pipelines.capabilities.images")
PREPARE_KIND, UPLOAD_KIND = "images.prepare", "images.upload"
__all__ = ["PREPARE_KIND", "UPLOAD_KIND", "plan_images", "prepare", "store_of", "upload"]
PRODUCTS_PER_JOB = 20
FETCH_RETRY_S = 60.0
CAP = Capability.IMAGES


async def plan_images(
    rt: Runtime,
    partner_ids: list[int] | None = None,
    skus: list[str] | None = None,
    priority: Priority = Priority.LOW,
) -> list[JobSpec]:
    """``images.prepare`` jobs for the active catalog (optionally some partners or SKUs)."""
    async with rt.sessions() as session:
        query = select(Product.partner_id, Product.id).where(Product.is_active).order_by(Product.id)
        if partner_ids:
            query = query.where(Product.partner_id.in_(partner_ids))
        if skus:
            query = query.where(Product.sku.in_(skus))
        rows = (await session.execute(query)).all()
    by_partner: dict[int, list[int]] = {}
    for partner_id, product_id in rows:
        by_partner.setdefault(partner_id, []).append(product_id)
    return [
        JobSpec(
            PREPARE_KIND,
            {"product_ids": ids[i : i + PRODUCTS_PER_JOB]},
            partner_id=partner_id,
            priority=priority,
            batch_key=f"p{partner_id}:images",
        )
        for partner_id, ids in by_partner.items()
        for i in range(0, len(ids), PRODUCTS_PER_JOB)
    ]


@dataclass
class _Photo:
    source: str
    decoded: Decoded | None
    problem: str | None


async def _fetch(fetcher: PhotoFetcher, source: str) -> _Photo:
    try:
        decoded = decode(await fetcher.fetch(source))
    except BadImage as exc:
        return _Photo(source, None, str(exc))
    except FetchFailed as exc:
        if exc.transient:
            raise
        return _Photo(source, None, str(exc))
    problems = source_problems(decoded.info)
    return _Photo(source, decoded, "; ".join(problems) or None)


async def prepare(rt: Runtime, jobs: list[Job]) -> dict[int, BaseException] | None:
    """Batch handler of ``images.prepare`` (see the module docstring)."""
    store = store_of(rt)
    errors: dict[int, BaseException] = {}
    async with PhotoFetcher() as fetcher:
        for job in jobs:
            try:
                await _prepare_job(rt, store, fetcher, job)
            except (Retry, PermanentFailure) as exc:
                errors[job.id] = exc
    return errors or None


async def _prepare_job(rt: Runtime, store: ObjectStore, fetcher: PhotoFetcher, job: Job) -> None:
    partner_id = int(job.partner_id or 0)
    ids = [int(i) for i in job.payload.get("product_ids", [])]
    async with rt.sessions() as session:
        products = await load_by_id(session, Product, ids)
        listed = (
            await session.execute(
                select(Listing.product_id, Listing.marketplace).where(Listing.product_id.in_(ids))
            )
        ).all()
        connected = set(
            (
                await session.execute(
                    select(MarketplaceIntegration.marketplace).where(
                        MarketplaceIntegration.partner_id == partner_id,
                        MarketplaceIntegration.active.is_(True),
                    )
                )
            ).scalars()
        )
    markets: dict[int, list[Marketplace]] = {}
    for product_id, market in listed:
        if market in connected:
            markets.setdefault(product_id, []).append(Marketplace(market))
    book = TaskBook(partner_id, job.id)
    uploads: set[Marketplace] = set()
    retry: list[int] = []
    for product_id in ids:
        product = products.get(product_id)
        if product is None or not markets.get(product_id):
            continue
        try:
            if await _prepare_product(rt, store, fetcher, partner_id, product, markets[product_id], book):
                uploads.update(markets[product_id])
        except (FetchFailed, CallFailed) as exc:
            retry.append(product_id)
            for market in markets[product_id]:
                book.failed(CAP, market, product.sku, f"will retry: {exc}")
    async with rt.sessions() as session, session.begin():
        await book.write(session)
    book.publish(rt.progress)
    if uploads:
        # No unique key: keys outlive their jobs, and a later run must queue its upload again. Two
        # uploads queued by one run's jobs cost nothing twice (the second finds the sets already sent).
        await rt.backend.enqueue_many(
            [
                JobSpec(
                    UPLOAD_KIND,
                    {"marketplace": m.value},
                    partner_id=partner_id,
                    priority=job.priority,
                    batch_key=f"p{partner_id}:{m.value}:images",
                )
                for m in sorted(uploads)
            ]
        )
    if retry:
        raise Retry(
            f"{len(retry)} product(s) wait for their photos or the vision model",
            delay=FETCH_RETRY_S,
            payload={"product_ids": retry},
        )


async def _prepare_product(
    rt: Runtime,
    store: ObjectStore,
    fetcher: PhotoFetcher,
    partner_id: int,
    product: Product,
    markets: list[Marketplace],
    book: TaskBook,
) -> bool:
    """One product's photos → vision → renders; True when it has images to upload."""
    sources = [str(s) for s in (product.images or []) if str(s).strip()]
    if not sources:
        for market in markets:
            book.failed(CAP, market, product.sku, "no photo in the catalog (images column)", "needs_input")
        return False
    photos = list(await asyncio.gather(*(_fetch(fetcher, s) for s in sources)))
    hashes = [(p.source, perceptual_hash(p.decoded.image)) for p in photos if p.decoded and not p.problem]
    for repeat, first in duplicates(hashes).items():
        photo = next(p for p in photos if p.source == repeat)
        photo.problem = f"the same picture as {first}"
    problems = [f"{p.source}: {p.problem}" for p in photos if p.problem]
    for problem in problems:
        log.warning("images.photo_refused", partner_id=partner_id, sku=product.sku, problem=problem[:300])
    good = [p for p in photos if p.decoded is not None and not p.problem]
    if not good:
        for market in markets:
            book.failed(CAP, market, product.sku, "no usable photo: " + bounded(problems, 600))
        return False
    main = good[0].decoded
    assert main is not None
    photo_sha = hashlib.sha256(main.data).hexdigest()
    state = await load_state(store, partner_id, product.sku)
    state["photos"] = {"main": good[0].source, "sha256": photo_sha, "problems": problems}
    facts = product_facts(product)
    seller = {k: v for k, v in facts.attributes.items() if k != "description"}
    await _vision(rt, state, partner_id, product.sku, main, photo_sha, facts.model_dump(mode="json"), seller)
    drawn = {**seller, **approved_facts(state), **({"brand": facts.brand} if facts.brand else {})}
    for market in markets:
        await _render(store, state, market, main, photo_sha, product.name, drawn)
    await save_state(store, partner_id, state)
    return True


async def _vision(
    rt: Runtime,
    state: dict[str, Any],
    partner_id: int,
    sku: str,
    photo: Decoded,
    photo_sha: str,
    facts: dict[str, Any],
    seller: dict[str, str],
) -> None:
    """Ask the vision tier once per (photo, facts); keep what it saw for review."""
    wanted = input_hash(photo_sha, facts)
    if state["vision"].get("input") == wanted:
        return
    data, width, height = for_vision(photo.image)
    request = VisionRequest(partner_id, sku, ImageInput(data, "image/jpeg", width, height), facts)
    try:
        result = await rt.gateway.extract_attributes(request)
    except (BudgetExceeded, ProviderHTTPError) as exc:
        # The images go on without new attributes; the next run asks again (input not recorded).
        log.warning("images.vision_skipped", partner_id=partner_id, sku=sku, error=str(exc)[:300])
        return
    merge_extracted(state, seller, [(a.name, a.value, a.confidence) for a in result.attributes])
    state["vision"].update({"input": wanted, "model": result.model})


async def _put(store: ObjectStore, data: bytes) -> str:
    key = content_key(data, "jpg")
    if not await store.exists(key):
        await store.put(key, data, CONTENT_TYPES["jpg"])
    return key


async def _render(
    store: ObjectStore,
    state: dict[str, Any],
    market: Marketplace,
    photo: Decoded,
    photo_sha: str,
    title: str,
    facts: dict[str, str],
) -> None:
    rule = RULES[market]
    lines = {lang: infographic_lines(facts, lang) for lang in rule.languages}
    wanted = input_hash(RENDER_VERSION, photo_sha, market.value, rule.width, rule.height, title, lines)
    done = state["rendered"].get(market.value, {})
    if done.get("input") == wanted and all([await store.exists(k) for k in done.get("keys", [])]):
        return
    images = [clean_photo(photo.image, rule.width, rule.height)]
    images += [
        infographic(photo.image, rule.width, rule.height, title, lines[lang]) for lang in rule.languages
    ]
    keys = [await _put(store, image.data) for image in images]
    state["rendered"][market.value] = {"input": wanted, "keys": keys}
