"""``images.upload`` (per partner × marketplace): each product's rendered images go where the marketplace
takes them, unless it already got exactly that set (``state["uploaded"]``).

By URL (``connectors.media``) when the store gives public URLs (a CDN base, or an S3 store). A store
without them (a local folder and no ``AIMANAGER_MEDIA_PUBLIC_URL``) can still serve Wildberries, which
takes the files themselves (``connectors.wildberries.media``: multipart ``media/file``); Ozon, Yandex
Market and Uzum only download from URLs, so their tasks end ``needs_input`` saying what to set.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from aimanager.connectors.base import PushReport
from aimanager.connectors.media import ImageSet, push_images
from aimanager.connectors.wildberries.media import FileSet, PhotoFile, upload_files
from aimanager.db.models import Listing, Product
from aimanager.domain.enums import Capability, Marketplace
from aimanager.jobs import Job
from aimanager.logs import get_logger
from aimanager.media.store import CONTENT_TYPES, ObjectStore
from aimanager.pipelines.services.image_book import (
    input_hash,
    load_state,
    rendered_keys,
    save_state,
    store_of,
)
from aimanager.pipelines.services.runtime import Runtime
from aimanager.pipelines.services.tasks import TaskBook

log = get_logger("aimanager.pipelines.capabilities.images")
CAP = Capability.IMAGES
NAMES = {
    Marketplace.OZON: "Ozon",
    Marketplace.YANDEX: "Yandex Market",
    Marketplace.UZUM: "Uzum",
    Marketplace.WILDBERRIES: "Wildberries",
}


def no_public_url(market: Marketplace) -> str:
    """Why a marketplace that only downloads images cannot get them from this store, and what to set."""
    return (
        f"{NAMES[market]} takes images by URL only and the image store has no public URL: set "
        "AIMANAGER_MEDIA_PUBLIC_URL to the CDN base that serves AIMANAGER_MEDIA_URL, or use an s3:// store"
    )


async def _files(store: ObjectStore, sku: str, keys: list[str]) -> FileSet | None:
    files = []
    for key in keys:
        data = await store.get(key)
        if data is None:  # removed from the store since it was rendered: the next prepare redraws it
            return None
        ext = key.rsplit(".", 1)[-1]
        files.append(PhotoFile(key.rsplit("/", 1)[-1], data, CONTENT_TYPES.get(ext, "image/jpeg")))
    return FileSet(sku, tuple(files))


async def upload(rt: Runtime, job: Job) -> dict[str, Any]:
    """Handler of ``images.upload``: payload ``{"marketplace"}``; every product of the partner with
    rendered images for it, sent unless the marketplace already has exactly that set."""
    partner_id, market = int(job.partner_id or 0), Marketplace(job.payload["marketplace"])
    store = store_of(rt)
    async with rt.sessions() as session:
        skus = (
            (
                await session.execute(
                    select(Product.sku)
                    .join(Listing, Listing.product_id == Product.id)
                    .where(
                        Listing.partner_id == partner_id,
                        Listing.marketplace == market.value,
                        Product.is_active,
                    )
                )
            )
            .scalars()
            .all()
        )
    book = TaskBook(partner_id, job.id)
    sets: list[ImageSet] = []
    files: list[FileSet] = []
    sent_as: dict[str, str] = {}  # sku → the input hash of what goes out (recorded once accepted)
    states: dict[str, dict[str, Any]] = {}
    for sku in sorted(skus):
        state = await load_state(store, partner_id, sku)
        keys = rendered_keys(state, market)
        if not keys:
            continue
        urls = [store.public_url(k) for k in keys]
        if all(urls):
            sent = input_hash(urls)
        elif market is Marketplace.WILDBERRIES:
            sent = input_hash("file", keys)  # the bytes are content-addressed: the keys name them
        else:
            book.failed(CAP, market, sku, no_public_url(market), "needs_input")
            continue
        if state["uploaded"].get(market.value) == sent:
            book.done(CAP, market, sku)
            continue
        if all(urls):
            sets.append(ImageSet(sku, tuple(u for u in urls if u)))
        elif (fileset := await _files(store, sku, keys)) is not None:
            files.append(fileset)
        else:
            book.failed(CAP, market, sku, "a rendered image is missing from the store: run images again")
            continue
        states[sku], sent_as[sku] = state, sent
    requests = 0
    if (sets or files) and not rt.dry_run:
        conn = await rt.connectors.get(partner_id, market)
        reports: list[PushReport] = []
        if sets:
            reports.append(await push_images(conn, sets))
        if files:
            reports.append(await upload_files(conn, files))
        refused = {e.offer_id: e for r in reports for e in r.failed}
        for sku, state in states.items():
            if sku in refused:
                error = refused[sku]
                book.failed(CAP, market, sku, f"{error.code}: {error.message}")
                continue
            state["uploaded"][market.value] = sent_as[sku]
            await save_state(store, partner_id, state)
            book.done(CAP, market, sku)
        requests = sum(r.requests for r in reports)
        for r in reports:
            if r.export_path is not None:
                log.info("images.uzum_photo_file", partner_id=partner_id, path=str(r.export_path))
    async with rt.sessions() as session, session.begin():
        await book.write(session)
    book.publish(rt.progress)
    return {"sent": len(states), "files": len(files), "requests": requests}
