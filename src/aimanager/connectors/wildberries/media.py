"""Wildberries photos as files: ``POST /content/v3/media/file`` (reference §3: Content API, 100/min).

For a store that has no public URL (a local folder without a CDN base) WB is the one marketplace that
takes the bytes themselves: one multipart request per photo, field ``uploadfile``, the card by its
``X-Nm-Id`` header and the position by ``X-Photo-Number`` (1 = the main photo; a photo already at that
position is replaced). The other marketplaces only download from URLs.

Unlike ``media/save`` a set is not applied as a whole: photos 1..k may land and photo k+1 be refused.
Such an offer is reported failed (with WB's reason) and sent again whole next time; re-sending a photo
to its position replaces it, so nothing is doubled.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aimanager.connectors.base import ItemError, PushReport
from aimanager.connectors.errors import MarketplaceHTTPError

MAX_PHOTOS = 30  # WB: ≤30 images per card


@dataclass(frozen=True, slots=True)
class PhotoFile:
    """One photo to upload: a file name (for WB's records), its bytes and content type."""

    name: str
    data: bytes
    content_type: str = "image/jpeg"


@dataclass(frozen=True, slots=True)
class FileSet:
    """One offer's photos as files, main photo first."""

    offer_id: str
    files: tuple[PhotoFile, ...]


async def upload_files(conn: Any, sets: Sequence[FileSet]) -> PushReport:
    """Upload each set's photos to its WB card (``conn``: a ``WildberriesConnector``)."""
    known = await conn._resolve([s.offer_id for s in sets])
    accepted: list[str] = []
    failed: list[ItemError] = []
    requests = 0
    for item in sets:
        card = known.get(item.offer_id)
        if card is None:
            failed.append(ItemError(offer_id=item.offer_id, code="no_card", message="no WB card yet"))
            continue
        if not 1 <= len(item.files) <= MAX_PHOTOS:
            message = f"{len(item.files)} photo(s): WB takes 1 to {MAX_PHOTOS}"
            failed.append(ItemError(offer_id=item.offer_id, code="photo_count", message=message))
            continue
        error: ItemError | None = None
        for number, photo in enumerate(item.files, start=1):
            requests += 1
            try:
                await conn.http.request(
                    "POST",
                    "/content/v3/media/file",
                    group="content_read",
                    host="content",
                    headers={"X-Nm-Id": str(card["nmID"]), "X-Photo-Number": str(number)},
                    files={"uploadfile": (photo.name, photo.data, photo.content_type)},
                )
            except MarketplaceHTTPError as exc:
                code = str(getattr(exc, "code", None) or "refused")
                error = ItemError(offer_id=item.offer_id, code=code, message=f"photo {number}: {exc}"[:500])
                break
        if error is None:
            accepted.append(item.offer_id)
        else:
            failed.append(error)
    return PushReport(accepted=accepted, failed=failed, requests=requests)
