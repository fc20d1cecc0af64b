"""Ozon pictures: ``/v1/product/pictures/import`` (the full set by URL, replaces) and
``/v2/product/pictures/info`` (what each product holds, with per-picture errors).

Rules (reference §4.4): ≤30 public JPG/PNG URLs; pixel rules are a gap (G-3): we hold 3:4 at least 700×900
and ≤10 MB, as the product renders [I]. Ozon downloads the pictures after answering: the import answers
each URL's state (``imported`` or ``failed``) and ``pictures/info`` carries the errors.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse

from aimanager_sandbox.common import media
from aimanager_sandbox.ozon.state import request_account, rpc_error

RULE = media.Rule(frozenset({"JPEG", "PNG"}), 700, 900, 10 * 1024 * 1024, aspect=3 / 4)
MAX_IMAGES = 30
router = APIRouter()


@router.post("/v1/product/pictures/import")
async def pictures_import(request: Request) -> Response:
    acc = request_account(request)
    body = await request.json()
    product_id = int(body.get("product_id") or 0)
    product = next((p for p in acc.products.values() if p["product_id"] == product_id), None)
    urls = [str(u) for u in body.get("images") or []]
    if product is None:
        return rpc_error(404, 5, f"product {product_id} not found")
    if not 1 <= len(urls) <= MAX_IMAGES:
        return rpc_error(400, 3, f"images: 1–{MAX_IMAGES} URLs")
    held, problems = await media.fetch_and_check(urls, RULE)
    shelf, account = media.shelf_of(request), media.account_key(request)
    failed = {p.split(": ", 1)[0] for p in problems}
    if problems:
        shelf.refuse(account, product["offer_id"], problems)
    else:
        shelf.put(account, product["offer_id"], held)
    pictures = [
        {
            "product_id": product_id,
            "url": url,
            "is_primary": index == 0,
            "is_360": False,
            "is_color": False,
            "state": "failed" if url in failed else "imported",
        }
        for index, url in enumerate(urls)
    ]
    return JSONResponse({"result": {"pictures": pictures}})


@router.post("/v2/product/pictures/info")
async def pictures_info(request: Request) -> Response:
    acc = request_account(request)
    wanted = {int(p) for p in (await request.json()).get("product_id") or []}
    shelf, account = media.shelf_of(request), media.account_key(request)
    items = []
    for product in acc.products.values():
        if product["product_id"] not in wanted:
            continue
        held = shelf.held.get(account, {}).get(product["offer_id"], [])
        errors = shelf.problems.get(account, {}).get(product["offer_id"], [])
        items.append(
            {
                "product_id": product["product_id"],
                "primary_photo": [h.url for h in held[:1]],
                "photo": [h.url for h in held[1:]],
                "errors": [{"message": e} for e in errors],
            }
        )
    return JSONResponse({"items": items})


def install(app: FastAPI) -> None:
    """The picture routes and the ``/_sandbox/media`` read-back."""
    media.install_media(app)
    app.include_router(router)
