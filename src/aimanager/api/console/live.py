"""Server-sent events for the console's live parts: the overview and one partner's numbers.

Each stream renders the same fragment template the page embeds and sends it as one event every
``interval`` seconds (``AppState.extra["live_interval"]``, default 2 s) until the browser leaves or
the server stops. The numbers come from ``pipelines/services/overview`` through the process's
``Snapshots``: computed at most once per interval per process (per partner, for a partner's page) and
shared by every open stream, so 100 open consoles cost the database what one does.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import StreamingResponse

from aimanager.api.console.i18n import translator
from aimanager.api.console.render import lang_of, templates, viewer
from aimanager.api.errors import Forbidden
from aimanager.api.snapshots import Snapshots
from aimanager.api.state import AppState, get_state
from aimanager.pipelines.services import overview

router = APIRouter(prefix="/console/live", include_in_schema=False)
DEFAULT_INTERVAL_S = 2.0


def _closing(st: AppState) -> asyncio.Event:
    event = st.extra.get("closing")
    if not isinstance(event, asyncio.Event):
        event = st.extra["closing"] = asyncio.Event()
    return event


async def close(app: FastAPI) -> None:
    """Tell every open stream to end (the server is stopping)."""
    st = getattr(app.state, "aim", None)
    if st is not None:
        _closing(st).set()


def snapshots(st: AppState) -> Snapshots:
    """The process's shared live numbers (one per app), fresh for one live interval."""
    shots = st.extra.get("snapshots")
    if not isinstance(shots, Snapshots):
        shots = st.extra["snapshots"] = Snapshots(float(st.extra.get("live_interval", DEFAULT_INTERVAL_S)))
    return shots


def sse(data: str, event: str | None = None) -> str:
    lines = [f"event: {event}"] if event else []
    lines += [f"data: {line}" for line in data.splitlines() or [""]]
    return "\n".join(lines) + "\n\n"


def _stream(request: Request, st: AppState, render: Callable[[], Awaitable[str]]) -> StreamingResponse:
    interval = float(st.extra.get("live_interval", DEFAULT_INTERVAL_S))
    closing = _closing(st)

    async def events() -> AsyncIterator[str]:
        yield "retry: 3000\n\n"
        while not closing.is_set() and not await request.is_disconnected():
            yield sse(await render())
            with contextlib.suppress(TimeoutError):  # the interval passed: render again
                await asyncio.wait_for(closing.wait(), timeout=interval)

    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(events(), media_type="text/event-stream", headers=headers)


@router.get("/overview")
async def overview_stream(request: Request, st: AppState = Depends(get_state)) -> StreamingResponse:
    _who, sc = await viewer(request, st)
    if sc.partner_ids is not None:
        raise Forbidden("the overview is the operator's")
    t = translator(lang_of(request))
    fragment = templates.get_template("_overview.html")

    async def compute() -> overview.Overview:
        async with st.sessions() as session:
            return await overview.overview(session, st.backend)

    async def render() -> str:
        return fragment.render(ov=await snapshots(st).get("overview", compute), t=t)

    return _stream(request, st, render)


@router.get("/partners/{partner}")
async def partner_stream(
    partner: str, request: Request, st: AppState = Depends(get_state)
) -> StreamingResponse:
    _who, sc = await viewer(request, st)
    async with st.sessions() as session:
        row = await sc.partner(session, partner)
    t = translator(lang_of(request))
    fragment = templates.get_template("_partner_live.html")

    async def compute() -> overview.PartnerOverview:
        async with st.sessions() as session:
            return await overview.partner_overview(session, row.id)

    async def render() -> str:
        return fragment.render(po=await snapshots(st).get(("partner", row.id), compute), t=t)

    return _stream(request, st, render)
