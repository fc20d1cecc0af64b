"""The LLM sandbox: Anthropic Messages + Message Batches and OpenAI Chat Completions + Batch, on loopback.

A provider as a client meets it (see ``config`` for the defaults): real BPE token counts, ``max_tokens``
enforced at that count, latency that grows with the answer, cards of realistic size, a few per cent of
imperfect answers, 429/500/529 and outages, a Batch API that takes minutes. The routes live in
``anthropic_routes``/``anthropic_batches`` and ``openai_routes``/``openai_batches``; the control
endpoints under ``/_sandbox`` (here) let the CLI, tests and benchmarks change it while it runs:

- ``GET /_sandbox/stats``: requests by route, 429s by limit, output tokens, cut calls, bad answers by
  kind, injected faults, outage 5xx, batch request outcomes;
- ``POST /_sandbox/config``: any ``SandboxConfig`` field;
- ``POST /_sandbox/faults``: ``{"outage_s": 30, "status": 529, "model": null}`` starts an outage (sandbox
  seconds, × time_scale), plus any fault or bad-answer rate and ``echo_headers_in_errors``.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from aimanager_sandbox.llm import anthropic_batches, openai_batches
from aimanager_sandbox.llm.anthropic_routes import anthropic_routes
from aimanager_sandbox.llm.config import BAD_RATE_FIELDS, BATCH_RATE_FIELDS, FAULT_RATE_FIELDS
from aimanager_sandbox.llm.openai_routes import openai_routes
from aimanager_sandbox.llm.state import SandboxConfig, SandboxState

FAULT_FIELDS = (*FAULT_RATE_FIELDS, *BAD_RATE_FIELDS, *BATCH_RATE_FIELDS, "echo_headers_in_errors")


async def stats(request: Request) -> Response:
    state: SandboxState = request.app.state.sandbox
    return JSONResponse(state.stats())


async def configure(request: Request) -> Response:
    """POST JSON with SandboxConfig fields to change them at run time (CLI and manual testing)."""
    state: SandboxState = request.app.state.sandbox
    unknown = state.config.update(await request.json())
    state.buckets.clear()
    return JSONResponse({"ok": not unknown, "unknown": unknown}, status_code=400 if unknown else 200)


def _faults_view(state: SandboxState) -> dict[str, object]:
    return {
        **{name: getattr(state.config, name) for name in FAULT_FIELDS},
        "outage_left_s": round(max(0.0, state.outage_left_s()), 3),
    }


async def faults(request: Request) -> Response:
    """GET: the fault settings; POST: stage an outage and/or change fault and bad-answer rates."""
    state: SandboxState = request.app.state.sandbox
    if request.method == "POST":
        body = dict(await request.json())
        outage_s = body.pop("outage_s", None)
        status = int(body.pop("status", 529))
        model = body.pop("model", None)
        unknown = [key for key in body if key not in FAULT_FIELDS]
        if unknown:
            return JSONResponse({"ok": False, "unknown": unknown}, status_code=400)
        state.config.update(body)
        if outage_s:
            state.outage(float(outage_s), status, model)
    return JSONResponse({"ok": True, **_faults_view(state)})


def create_app(config: SandboxConfig | None = None, state: SandboxState | None = None) -> Starlette:
    """The sandbox ASGI app; ``app.state.sandbox`` is its ``SandboxState``."""
    routes = [
        *anthropic_routes(),
        *anthropic_batches.batch_routes(),
        Route("/_sandbox/stats", stats, methods=["GET"]),
        Route("/_sandbox/config", configure, methods=["POST"]),
        Route("/_sandbox/faults", faults, methods=["GET", "POST"]),
        *openai_routes(),
        *openai_batches.batch_routes(),
    ]
    app = Starlette(routes=routes)
    app.state.sandbox = state or SandboxState(config)
    return app
