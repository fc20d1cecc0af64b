"""Yandex Market pictures: the ``pictures`` of ``offer-mappings/update`` (1–30 absolute http(s) URLs,
first = main; the whole list replaces the offer's).

YM accepts the update and downloads the pictures afterwards; a picture it cannot use shows later in the
card's state, never as a refusal of the update (reference §5.3). So ``offer-mappings/update`` only
records the URLs (``submitted``) and the download and checks run before a read-back (``settle``). Pixel
rules are a gap (G-3): we hold square pictures at least 500×500, JPEG/PNG, ≤10 MB, as the product
renders 1000×1000 [I].
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request

from aimanager_sandbox.common import media

RULE = media.Rule(frozenset({"JPEG", "PNG"}), 500, 500, 10 * 1024 * 1024, aspect=1.0)
MAX_PICTURES = 30


def submitted(request: Request, items: list[dict[str, Any]]) -> None:
    """Remember the pictures of an accepted update (the last list of an offer replaces earlier ones)."""
    shelf, account = media.shelf_of(request), media.account_key(request)
    for item in items:
        offer = item.get("offer") or {}
        pictures = offer.get("pictures")
        if isinstance(pictures, list) and pictures:
            shelf.pending.setdefault(account, {})[str(offer["offerId"])] = [str(p) for p in pictures]


async def settle(shelf: media.Shelf) -> None:
    """Download and check every pending picture list (what YM does in the background)."""
    for account, offers in list(shelf.pending.items()):
        for offer_id, urls in list(offers.items()):
            offers.pop(offer_id, None)
            if len(urls) > MAX_PICTURES:
                shelf.refuse(account, offer_id, [f"more than {MAX_PICTURES} pictures"])
                continue
            held, problems = await media.fetch_and_check(urls, RULE)
            if problems:
                shelf.refuse(account, offer_id, problems)
            else:
                shelf.put(account, offer_id, held)


def install(app: FastAPI) -> None:
    """The ``/_sandbox/media`` read-back, settling pending downloads first."""
    media.install_media(app, settle)
