"""WB media: ``/content/v3/media/save`` (the whole set by URL, replaces) and ``/content/v3/media/file``
(one file, multipart ``uploadfile`` with ``X-Nm-Id`` and ``X-Photo-Number``).

Rules (reference §3.3): ≤30 images, at least 700×900, ≤32 MB, JPG/PNG/BMP/static GIF/WebP; WB shows 3:4
cards (900×1200 stored) and we hold it to that shape. If any file of a set fails, none is applied.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse

from aimanager_sandbox.common import media
from aimanager_sandbox.wildberries.state import content_error, request_account

RULE = media.Rule(frozenset({"JPEG", "PNG", "BMP", "GIF", "WEBP"}), 700, 900, 32 * 1024 * 1024, aspect=3 / 4)
MAX_IMAGES = 30
router = APIRouter()


def _ok() -> JSONResponse:
    return JSONResponse({"data": {}, "error": False, "errorText": "", "additionalErrors": {}})


@router.post("/content/v3/media/save")
async def media_save(request: Request) -> Response:
    acc = request_account(request)
    body = await request.json()
    card = acc.card_by_nm(int(body.get("nmId") or 0))
    urls = body.get("data")
    if card is None:
        return content_error(400, "Карточка товара не найдена")
    if not isinstance(urls, list) or not 1 <= len(urls) <= MAX_IMAGES:
        return content_error(400, f"data: от 1 до {MAX_IMAGES} ссылок")
    held, problems = await media.fetch_and_check([str(u) for u in urls], RULE)
    shelf, account = media.shelf_of(request), media.account_key(request)
    if problems:  # one bad file: none of the set is applied
        shelf.refuse(account, card["vendorCode"], problems)
        return content_error(400, "; ".join(problems)[:1000])
    shelf.put(account, card["vendorCode"], held)
    return _ok()


@router.post("/content/v3/media/file")
async def media_file(request: Request) -> Response:
    acc = request_account(request)
    card = acc.card_by_nm(int(request.headers.get("x-nm-id") or 0))
    number = int(request.headers.get("x-photo-number") or 0)
    if card is None:
        return content_error(400, "Карточка товара не найдена")
    if not 1 <= number <= MAX_IMAGES:
        return content_error(400, f"X-Photo-Number: от 1 до {MAX_IMAGES}")
    form = await request.form()
    upload = form.get("uploadfile")
    if upload is None or isinstance(upload, str):
        return content_error(400, "uploadfile: файл не передан")
    data = await upload.read()
    image, problems = media.check(data, RULE)
    shelf, account = media.shelf_of(request), media.account_key(request)
    if image is None:
        shelf.refuse(account, card["vendorCode"], problems)
        return content_error(400, "; ".join(problems))
    images = list(shelf.held.get(account, {}).get(card["vendorCode"], []))
    named = media.Held(
        f"file:{upload.filename}", image.sha256, image.format, image.width, image.height, image.bytes
    )
    if number <= len(images):
        images[number - 1] = named
    else:
        images.append(named)
    shelf.put(account, card["vendorCode"], images)
    return _ok()


def install(app: FastAPI) -> None:
    """The media routes and the ``/_sandbox/media`` read-back."""
    media.install_media(app)
    app.include_router(router)
