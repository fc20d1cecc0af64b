"""Operator endpoints of every marketplace sandbox: seed an account and read it back over HTTP.

Every marketplace's ``create_app`` calls ``install_control`` with its own ``seed_account`` (its
``seed.py``) and ``read_offers`` (its ``snapshot.py``); they are kept on ``app.state``, where
``seeding.seed_catalog`` and ``snapshot.snapshot`` find them. Like ``/_sandbox/stats`` these endpoints
bypass the gate (``/_sandbox/*``) and are not logged as API requests: they are the operator's
backdoor, used when the sandboxes run in another process (``aimanager_sandbox.world``) and Python
access to ``app.state.sandbox`` is gone.

* ``POST /_sandbox/seed`` ``{"token", "offers": [{"offer_id", "title", "category", "price" (decimal
  string), "barcode", "stock"}], "existing_cards", "history_days"?, "orders_per_day"?, "seed"?,
  "shop_id"?, "business_id"?, "campaign_id"?}`` → ``seeding.seed_catalog`` for this marketplace;
  answers the connector settings it returns. An invalid offer set (unknown category, duplicate ids)
  is a 400 ``{"detail": ...}``.
* ``GET /_sandbox/snapshot?token=…`` → ``{offer_id: {"title", "title_uz", "price" (decimal string or
  null), "stock"}}`` from ``snapshot.snapshot``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from pydantic import BaseModel

from aimanager.domain.enums import Marketplace
from aimanager_sandbox.common.seeding import AccountSeeder, SeedOffer, seed_catalog
from aimanager_sandbox.common.snapshot import AccountReader, snapshot


class SeedOfferBody(BaseModel):
    offer_id: str
    title: str
    category: str
    price: Decimal
    barcode: str | None = None
    stock: int = 0


class SeedBody(BaseModel):
    token: str
    offers: list[SeedOfferBody]
    existing_cards: bool
    history_days: int | None = None
    orders_per_day: int | None = None
    seed: int | None = None
    shop_id: int | None = None
    business_id: int | None = None
    campaign_id: int | None = None


def install_control(
    app: FastAPI, marketplace: Marketplace, *, seed_account: AccountSeeder, read_offers: AccountReader
) -> None:
    """Register ``/_sandbox/seed`` and ``/_sandbox/snapshot`` for ``marketplace`` on ``app``."""
    app.state.marketplace = marketplace
    app.state.seed_account = seed_account
    app.state.read_offers = read_offers
    app.add_api_route("/_sandbox/seed", seed, methods=["POST"], include_in_schema=False)
    app.add_api_route("/_sandbox/snapshot", snapshot_of, methods=["GET"], include_in_schema=False)


async def seed(request: Request, body: SeedBody) -> dict[str, Any]:
    """``POST /_sandbox/seed``: ``seed_catalog`` over HTTP."""
    options = body.model_dump(
        include={"history_days", "orders_per_day", "seed", "shop_id", "business_id", "campaign_id"},
        exclude_none=True,
    )
    offers = [
        SeedOffer(
            offer_id=o.offer_id,
            title=o.title,
            category=o.category,
            price=o.price,
            barcode=o.barcode,
            stock=o.stock,
        )
        for o in body.offers
    ]
    app = request.app
    try:
        settings = seed_catalog(
            app.state.marketplace, app, body.token, offers, existing_cards=body.existing_cards, **options
        )
    except ValueError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from exc
    return dict(settings or {})


async def snapshot_of(request: Request, token: str) -> dict[str, dict[str, Any]]:
    """``GET /_sandbox/snapshot?token=…``: ``snapshot`` over HTTP."""
    return {
        offer_id: {
            "title": s.title,
            "title_uz": s.title_uz,
            "price": None if s.price is None else str(s.price),
            "stock": s.stock,
        }
        for offer_id, s in snapshot(request.app.state.marketplace, request.app, token).items()
    }
