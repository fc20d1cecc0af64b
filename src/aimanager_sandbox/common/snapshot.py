"""What a marketplace sandbox account holds per offer, keyed by the seller's article (our offer id).

Tests compare the database with the marketplace through ``snapshot``: one ``OfferState`` per offer of
the account, read straight from the sandbox state (``app.state.sandbox``) under its lock. Reading is
side-effect free: no account is opened (an account no request or seeding has touched yet gives
``{}``) and no async job is advanced, so the snapshot shows what the sandbox has *applied* so far —
a WB card upload or price upload, or a YM card check, still waiting for its ``task_delay`` (and not
yet polled by anyone) is not in it. Push with ``wait=True`` (the connector polls until the task is
finished) before comparing.

``token`` is the account key, as for ``seed_catalog``: WB/Uzum token, Ozon Client-Id, YM Api-Key.
What each field means for a marketplace is written in that marketplace's ``snapshot.py``, whose
``read_offers`` its ``create_app`` hands to ``control.install_control`` (it lands on ``app.state``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from fastapi import FastAPI

from aimanager.domain.enums import Marketplace
from aimanager_sandbox.common.sandbox import Sandbox


@dataclass(frozen=True)
class OfferState:
    """One offer as the sandbox account holds it (see the module docstring for each marketplace)."""

    offer_id: str  # seller article: WB vendorCode, Ozon offer_id, YM offerId, Uzum sellerItemCode
    title: str | None  # current card title (Russian); None if no card
    title_uz: str | None  # Uzbek title where the sandbox keeps one (YM UZ content), else None
    price: Decimal | None  # current selling price (WB: after discount); None if never set
    stock: int | None  # seller-warehouse stock summed over warehouses; None if never set


AccountReader = Callable[[Any], dict[str, OfferState]]
"""A marketplace's ``read_offers(acc)``: every offer of the account, called under the sandbox lock."""


def snapshot(marketplace: Marketplace | str, app: FastAPI, token: str) -> dict[str, OfferState]:
    """Everything the sandbox account holds per offer: what a test compares with the database.

    ``token`` is the account key (WB/Uzum token, Ozon Client-Id, YM Api-Key). An account that was never
    opened gives ``{}``. Reads under ``sandbox.lock`` and changes nothing.
    """
    mp = Marketplace(marketplace)
    if mp != app.state.marketplace:
        raise ValueError(f"this is the {app.state.marketplace.value} sandbox, not {mp.value}")
    sb: Sandbox = app.state.sandbox
    if not sb.has_account(token):
        return {}
    acc = sb.account(token)  # takes the lock itself (not re-entrant): outside ``with sb.lock``
    reader: AccountReader = app.state.read_offers
    with sb.lock:
        return reader(acc)


def as_decimal(value: Any) -> Decimal | None:
    if value is None:
        return None
    return value if isinstance(value, Decimal) else Decimal(str(value))
