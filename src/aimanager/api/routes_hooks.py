"""Order notification receivers: ``POST /hooks/ozon/{token}`` and ``POST /hooks/yandex/{token}``.

No API key: a marketplace cannot send ours. The token in the path is the credential
(``pipelines/services/order_hooks``): a wrong one is a 404 before the body is looked at. A valid
notification queues (or joins) an ``orders.sync`` of that account and is answered as the marketplace
expects: Ozon ``{"version", "name", "time"}`` to ``TYPE_PING`` and ``{"result": true}`` otherwise;
Yandex Market ``{"version", "name", "time"}`` to every notification. A body that is not a notification
is a 400 in the marketplace's own error shape. The token never reaches the audit log (its path
parameters are replaced by the integration id before the audit row is written).

Kept out of the OpenAPI schema: these routes follow the marketplaces' contracts, not ours.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from aimanager.api.errors import NotFound
from aimanager.api.state import AppState, get_state
from aimanager.domain.enums import Marketplace
from aimanager.logs import get_logger
from aimanager.pipelines.services import order_hooks

log = get_logger("aimanager.api.hooks")
router = APIRouter(prefix="/hooks", include_in_schema=False)
NAME = "AI Manager"
HOOK_VERSION = "1"
# What each marketplace calls the notification's type.
TYPE_FIELD = {Marketplace.OZON: "message_type", Marketplace.YANDEX: "notificationType"}


def _bad_body(market: Marketplace, message: str) -> JSONResponse:
    if market is Marketplace.OZON:
        error: dict[str, Any] = {"code": "ERROR_PARAMETER_VALUE_MISSED", "message": message, "details": None}
    else:
        error = {"type": "WRONG_EVENT_FORMAT", "message": message}
    return JSONResponse({"error": error}, status_code=400)


def _introduction() -> dict[str, str]:
    return {"version": HOOK_VERSION, "name": NAME, "time": order_hooks.utc_now_text()}


async def _receive(request: Request, st: AppState, market: Marketplace, token: str) -> JSONResponse:
    # Whatever happens next, the audit row must not carry the token.
    request.scope["path_params"] = {"token": "***"}
    secret = order_hooks.hook_secret(st.settings)
    if secret is None:
        log.warning("orders.hook_no_key", marketplace=market.value)
        raise NotFound("no such hook")
    async with st.sessions() as session:
        target = await order_hooks.resolve(session, secret, market, token)
    if target is None:
        raise NotFound("no such hook")
    request.scope["path_params"] = {"integration": target.integration_id}
    request.state.partner_id = target.partner_id
    try:
        body = json.loads(await request.body())
    except (json.JSONDecodeError, UnicodeDecodeError):
        return _bad_body(market, "the body is not JSON")
    kind = body.get(TYPE_FIELD[market]) if isinstance(body, dict) else None
    if not isinstance(kind, str) or not kind:
        return _bad_body(market, f"{TYPE_FIELD[market]} is missing")
    outcome = await order_hooks.notified(st.engine, st.backend, target, kind)
    request.state.audit_detail = {"type": kind[:64], "action": outcome.action, "job_id": outcome.job_id}
    if market is Marketplace.OZON and outcome.action != "ping":
        return JSONResponse({"result": True})
    return JSONResponse(_introduction())


@router.post("/ozon/{token}")
async def ozon_hook(request: Request, token: str, st: AppState = Depends(get_state)) -> JSONResponse:
    """An Ozon push notification."""
    return await _receive(request, st, Marketplace.OZON, token)


@router.post("/yandex/{token}")
async def yandex_hook(request: Request, token: str, st: AppState = Depends(get_state)) -> JSONResponse:
    """A Yandex Market API notification."""
    return await _receive(request, st, Marketplace.YANDEX, token)
