"""Putting a product's images where each marketplace takes them (reference/marketplace-apis.md):

* Wildberries — ``POST /content/v3/media/save`` ``{nmId, data: [urls]}``: the whole set by URL, replacing
  the card's (one bad file and none is applied); 100/min, spent from the Content read bucket (same size).
* Ozon — ``POST /v1/product/pictures/import`` ``{product_id, images}``: the full set, replacing; each URL
  answers ``imported`` or ``failed``. The product id comes from ``/v4/product/info/stocks``.
* Yandex Market — ``pictures`` of ``offer-mappings/update`` (``{offerId, pictures}`` only: other fields
  of an existing offer stay as they are); YM downloads them afterwards.
* Uzum — no API: the cabinet's bulk XLSX with the SKU and «Фото (ссылки через запятую)» columns, written
  to the account's export folder for the seller (or operator) to upload (``PushReport.export_path``).

Every set is a list of public URLs (first = main image); a marketplace that refuses one offer's set
reports it as that offer's ``ItemError``, the others go on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from io import BytesIO
from typing import Any

from openpyxl import Workbook

from aimanager.connectors.base import ItemError, PushReport, batches
from aimanager.connectors.errors import MarketplaceHTTPError
from aimanager.domain.enums import Marketplace

PHOTO_LABEL = "Фото (ссылки через запятую)"
YM_BATCH = 100


@dataclass(frozen=True, slots=True)
class ImageSet:
    """One offer's images as public URLs, main image first."""

    offer_id: str
    urls: tuple[str, ...]


@dataclass
class _Tally:
    """A push's outcome while it is being sent (``PushReport`` is immutable)."""

    accepted: list[str] = field(default_factory=list)
    failed: list[ItemError] = field(default_factory=list)
    requests: int = 0

    def done(self) -> PushReport:
        return PushReport(accepted=self.accepted, failed=self.failed, requests=self.requests)


def _refused(offer_id: str, exc: MarketplaceHTTPError) -> ItemError:
    return ItemError(
        offer_id=offer_id, code=str(getattr(exc, "code", None) or "refused"), message=str(exc)[:500]
    )


async def push_images(conn: Any, sets: Sequence[ImageSet]) -> PushReport:
    """Send each set to ``conn``'s marketplace (see the module docstring)."""
    market = Marketplace(conn.marketplace)
    if market is Marketplace.WILDBERRIES:
        return await _wildberries(conn, sets)
    if market is Marketplace.OZON:
        return await _ozon(conn, sets)
    if market is Marketplace.YANDEX:
        return await _yandex(conn, sets)
    return _uzum(conn, sets)


async def _wildberries(conn: Any, sets: Sequence[ImageSet]) -> PushReport:
    known = await conn._resolve([s.offer_id for s in sets])
    report = _Tally()
    for item in sets:
        card = known.get(item.offer_id)
        if card is None:
            report.failed.append(ItemError(offer_id=item.offer_id, code="no_card", message="no WB card yet"))
            continue
        try:
            await conn.http.json(
                "POST",
                "/content/v3/media/save",
                group="content_read",
                host="content",
                json={"nmId": card["nmID"], "data": list(item.urls)},
            )
        except MarketplaceHTTPError as exc:
            report.failed.append(_refused(item.offer_id, exc))
        else:
            report.accepted.append(item.offer_id)
        report.requests += 1
    return report.done()


async def _ozon(conn: Any, sets: Sequence[ImageSet]) -> PushReport:
    report = _Tally()
    ids: dict[str, int] = {}
    for chunk in batches(list(sets), 1000):
        answer = await conn._post(
            "/v4/product/info/stocks",
            {"filter": {"offer_id": [s.offer_id for s in chunk], "visibility": "ALL"}, "limit": 1000},
        )
        report.requests += 1
        ids.update({str(i["offer_id"]): int(i["product_id"]) for i in answer.get("items") or []})
    for item in sets:
        if not ids.get(item.offer_id):
            report.failed.append(
                ItemError(offer_id=item.offer_id, code="no_product", message="no Ozon product")
            )
            continue
        try:
            answer = await conn._post(
                "/v1/product/pictures/import", {"product_id": ids[item.offer_id], "images": list(item.urls)}
            )
        except MarketplaceHTTPError as exc:
            report.failed.append(_refused(item.offer_id, exc))
            continue
        finally:
            report.requests += 1
        lost = [
            p.get("url")
            for p in (answer.get("result") or {}).get("pictures") or []
            if p.get("state") == "failed"
        ]
        if lost:
            message = f"Ozon could not use {len(lost)} picture(s): {', '.join(map(str, lost))[:400]}"
            report.failed.append(ItemError(offer_id=item.offer_id, code="picture_failed", message=message))
        else:
            report.accepted.append(item.offer_id)
    return report.done()


async def _yandex(conn: Any, sets: Sequence[ImageSet]) -> PushReport:
    report = _Tally()
    for chunk in batches(list(sets), YM_BATCH):
        body = {
            "offerMappings": [{"offer": {"offerId": s.offer_id, "pictures": list(s.urls)}} for s in chunk]
        }
        try:
            answer = await conn.http.json(
                "POST",
                f"/v2/businesses/{conn.business_id}/offer-mappings/update",
                group="offer-mappings-update",
                params={"language": "RU"},
                json=body,
                cost=len(chunk),
            )
        except MarketplaceHTTPError as exc:
            report.failed += [_refused(s.offer_id, exc) for s in chunk]
            continue
        finally:
            report.requests += 1
        bad = {r.get("offerId"): r for r in answer.get("results") or [] if r.get("errors")}
        for s in chunk:
            if s.offer_id in bad:
                first = bad[s.offer_id]["errors"][0]
                code, message = str(first.get("type", "ERROR")), str(first.get("message", ""))
                report.failed.append(ItemError(offer_id=s.offer_id, code=code, message=message))
            elif not bad:
                report.accepted.append(s.offer_id)
            else:  # one error rejects YM's whole batch: the good ones go again next run
                report.failed.append(
                    ItemError(
                        offer_id=s.offer_id,
                        code="batch_rejected",
                        message="another offer of the batch failed",
                    )
                )
    return report.done()


def photo_workbook(sets: Sequence[ImageSet]) -> bytes:
    """Uzum's photo columns as an XLSX: the SKU and the photo URLs of each row (comma-separated)."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Товары"
    sheet.append(["Артикул (SKU)*", f"{PHOTO_LABEL}*"])
    for item in sets:
        sheet.append([item.offer_id, ", ".join(item.urls)])
    sheet.column_dimensions["A"].width = 24
    sheet.column_dimensions["B"].width = 120
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def _uzum(conn: Any, sets: Sequence[ImageSet]) -> PushReport:
    folder = conn.export_dir
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    path = folder / f"{stamp}-uzum-photos.xlsx"
    path.write_bytes(photo_workbook(sets))
    return PushReport(accepted=[s.offer_id for s in sets], export_path=path)
