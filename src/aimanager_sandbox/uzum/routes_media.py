"""Uzum photos: the cabinet's bulk upload of an XLSX whose photo column holds the URLs.

Uzum's API has no card or photo route (reference §2.2), so a seller uploads the template file in the
cabinet; ``POST /_sandbox/cabinet/upload?token=…`` (multipart ``file``) is that upload, done by the
operator (or a test) as a person would. The cabinet reads each row's SKU and its
«Фото (ссылки через запятую)» cell, downloads every photo and checks it as the template says (§2.4):
JPEG/JPG/WebP/PNG, exactly 1080×1440, ≤5 MB. A row with any bad photo keeps none of them.
"""

from __future__ import annotations

import io
from typing import Any

from fastapi import FastAPI, Request
from openpyxl import load_workbook

from aimanager_sandbox.common import media

RULE = media.Rule(frozenset({"JPEG", "PNG", "WEBP"}), 1080, 1440, 5 * 1024 * 1024, exact=(1080, 1440))
PHOTO_LABEL = "Фото (ссылки через запятую)"
SKU_LABELS = ("Артикул", "SKU")


def _rows(data: bytes) -> list[tuple[str, list[str]]]:
    book = load_workbook(io.BytesIO(data), read_only=True)
    sheet = book.worksheets[0]
    lines = list(sheet.iter_rows(values_only=True))
    if not lines:
        return []
    head = [str(c or "").rstrip("*").strip() for c in lines[0]]
    photo = next((i for i, h in enumerate(head) if h.startswith(PHOTO_LABEL)), None)
    sku = next((i for i, h in enumerate(head) if h.startswith(SKU_LABELS)), None)
    if photo is None or sku is None:
        raise ValueError(f"the file needs a SKU column and a «{PHOTO_LABEL}» column")
    out = []
    for line in lines[1:]:
        if line[sku]:
            urls = [u.strip() for u in str(line[photo] or "").split(",") if u.strip()]
            out.append((str(line[sku]), urls))
    return out


async def cabinet_upload(request: Request, token: str) -> dict[str, Any]:
    form = await request.form()
    upload = form.get("file")
    if upload is None or isinstance(upload, str):
        return {"ok": False, "error": "file: no file sent"}
    try:
        rows = _rows(await upload.read())
    except Exception as exc:
        return {"ok": False, "error": f"not a template file: {exc}"}
    shelf: media.Shelf = request.app.state.media
    accepted, problems = [], {}
    for sku, urls in rows:
        held, why = await media.fetch_and_check(urls, RULE) if urls else ([], ["no photo URLs"])
        if why:
            shelf.refuse(token, sku, why)
            problems[sku] = why
        else:
            shelf.put(token, sku, held)
            accepted.append(sku)
    return {"ok": not problems, "accepted": accepted, "problems": problems}


def install(app: FastAPI) -> None:
    """The cabinet upload and the ``/_sandbox/media`` read-back."""
    media.install_media(app)
    app.add_api_route("/_sandbox/cabinet/upload", cabinet_upload, methods=["POST"], include_in_schema=False)
