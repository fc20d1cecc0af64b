"""Order notifications from a marketplace sandbox to the seller's endpoint, as the real marketplace sends.

An account may register a notify URL (control, outside the gate like the rest of ``/_sandbox``):

* ``POST /_sandbox/orders/notify`` ``{"token", "url"}`` → sends the marketplace's check notification
  (Ozon ``TYPE_PING``, YM ``PING``) and keeps the URL only if the endpoint answered as the marketplace
  expects, as both marketplaces do when a seller saves the URL: ``{"url", "ping": {...}}``, or 400
  with the failed check; ``"url": null`` removes it;
* ``GET /_sandbox/orders/notify?token=…`` → ``{"url", "deliveries": [{"type", "status", "ok",
  "error"}]}``: every notification sent, in order.

From then on each new order and each cancellation of the account is POSTed there in the marketplace's
own shape (``Shapes``: ``ozon.routes_push``, ``yandex.routes_notify``). The order desk changes its
books under the sandbox's lock and only puts the notification in a queue; one background task of the
sandbox's event loop delivers the queue in order (10 s timeout, one attempt: a failed delivery is
recorded, not retried — the seller's scheduled feed read is what catches up, as with the real ones).
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

import httpx
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from aimanager_sandbox.common.orders import OrderDesk, SandboxOrder

TIMEOUT_S = 10.0  # YM's documented answer timeout (its PING: 1 s; the sandbox is lenient there)
DELIVERIES_MAX = 10_000


class Shapes(Protocol):
    """One marketplace's notification bodies and what it accepts as an answer."""

    type_field: str

    def ping(self) -> dict[str, Any]: ...

    def created(self, token: str, acc: Any, order: SandboxOrder) -> dict[str, Any]: ...

    def cancelled(self, token: str, acc: Any, order: SandboxOrder) -> dict[str, Any]: ...

    def accepted(self, body: dict[str, Any], status: int, answer: Any) -> bool: ...


@dataclass
class Delivery:
    type: str
    status: int | None
    ok: bool
    error: str = ""


@dataclass
class Notifier:
    """The notify URLs of one sandbox app's accounts and the queue that delivers to them."""

    shapes: Shapes
    urls: dict[str, str] = field(default_factory=dict)
    deliveries: dict[str, list[Delivery]] = field(default_factory=dict)
    _queue: asyncio.Queue[tuple[str, str, dict[str, Any]]] | None = None
    _task: asyncio.Task[None] | None = None

    def emit(self, token: str, acc: Any, order: SandboxOrder, event: str) -> None:
        """Queue the notification of ``event`` (``created`` | ``cancelled``) if ``token`` has a URL.
        Called under the sandbox's lock: it only queues."""
        url = self.urls.get(token)
        if not url:
            return
        shape = self.shapes.created if event == "created" else self.shapes.cancelled
        body = shape(token, acc, order)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # a desk driven from plain code (no loop): nothing to deliver with
            self._record(token, Delivery(str(body.get(self.shapes.type_field)), None, False, "no event loop"))
            return
        if self._queue is None or self._task is None or self._task.done():
            self._queue = asyncio.Queue()
            self._task = loop.create_task(self._run(self._queue))
        self._queue.put_nowait((token, url, body))

    async def _run(self, queue: asyncio.Queue[tuple[str, str, dict[str, Any]]]) -> None:
        async with httpx.AsyncClient(timeout=TIMEOUT_S, trust_env=False) as client:
            while True:
                token, url, body = await queue.get()
                self._record(token, await self.send(client, url, body))

    async def send(self, client: httpx.AsyncClient, url: str, body: dict[str, Any]) -> Delivery:
        kind = str(body.get(self.shapes.type_field))
        try:
            answer = await client.post(url, json=body)
        except httpx.HTTPError as exc:
            return Delivery(kind, None, False, f"{type(exc).__name__}: {exc}"[:200])
        try:
            parsed: Any = answer.json()
        except ValueError:
            parsed = None
        ok = self.shapes.accepted(body, answer.status_code, parsed)
        return Delivery(kind, answer.status_code, ok, "" if ok else answer.text[:200])

    def _record(self, token: str, delivery: Delivery) -> None:
        sent = self.deliveries.setdefault(token, [])
        if len(sent) < DELIVERIES_MAX:
            sent.append(delivery)


class NotifyBody(BaseModel):
    token: str
    url: str | None = None


async def register(request: Request, body: NotifyBody) -> Response:
    notifier: Notifier = request.app.state.orders.notifier
    if body.url is None:
        notifier.urls.pop(body.token, None)
        return JSONResponse({"url": None})
    async with httpx.AsyncClient(timeout=TIMEOUT_S, trust_env=False) as client:
        ping = await notifier.send(client, body.url, notifier.shapes.ping())
    if not ping.ok:
        return JSONResponse({"error": "the endpoint did not answer the check", "ping": asdict(ping)}, 400)
    notifier.urls[body.token] = body.url
    return JSONResponse({"url": body.url, "ping": asdict(ping)})


async def registered(request: Request, token: str) -> dict[str, Any]:
    notifier: Notifier = request.app.state.orders.notifier
    sent = [asdict(d) for d in notifier.deliveries.get(token, [])]
    return {"url": notifier.urls.get(token), "deliveries": sent}


def install_notify(app: FastAPI, shapes: Shapes) -> Notifier:
    """Give ``app``'s order desk (after ``install_orders``) notifications in ``shapes``."""
    desk: OrderDesk = app.state.orders
    desk.notifier = Notifier(shapes)
    app.add_api_route("/_sandbox/orders/notify", register, methods=["POST"], include_in_schema=False)
    app.add_api_route("/_sandbox/orders/notify", registered, methods=["GET"], include_in_schema=False)
    return desk.notifier
