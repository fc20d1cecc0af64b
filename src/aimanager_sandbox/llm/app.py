"""The LLM sandbox: Anthropic Messages + Message Batches and OpenAI Chat Completions + Batch, on loopback.

Answers come from the offline writer (valid, deterministic); usage is counted from the text; limits are
token buckets answered with 429 + ``retry-after``; faults can be scripted (``state.script``) or injected
at a rate. The routes live in ``anthropic_routes`` and ``openai_routes``; the control endpoints under
``/_sandbox`` (here) serve the CLI; tests use the ``SandboxState`` directly.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from aimanager_sandbox.llm.anthropic_routes import anthropic_routes
from aimanager_sandbox.llm.openai_routes import openai_routes
from aimanager_sandbox.llm.state import SandboxConfig, SandboxState


async def stats(request: Request) -> Response:
    state: SandboxState = request.app.state.sandbox
    by_route: dict[str, int] = {}
    for entry in state.log:
        by_route[entry.route] = by_route.get(entry.route, 0) + 1
    throttled = sum(1 for r in state.log if r.status == 429)
    return JSONResponse(
        {
            "requests": len(state.log),
            "by_route": by_route,
            "throttled": throttled,
            "throttled_by": state.throttled_by,
        }
    )


async def configure(request: Request) -> Response:
    """POST JSON with SandboxConfig fields to change them at run time (CLI and manual testing)."""
    state: SandboxState = request.app.state.sandbox
    for key, value in (await request.json()).items():
        if hasattr(state.config, key):
            current = getattr(state.config, key)
            setattr(state.config, key, set(value) if isinstance(current, set) else value)
    state.buckets.clear()
    return JSONResponse({"ok": True})


def create_app(config: SandboxConfig | None = None, state: SandboxState | None = None) -> Starlette:
    """The sandbox ASGI app; ``app.state.sandbox`` is its ``SandboxState``."""
    routes = [
        *anthropic_routes(),
        Route("/_sandbox/stats", stats, methods=["GET"]),
        Route("/_sandbox/config", configure, methods=["POST"]),
        *openai_routes(),
    ]
    app = Starlette(routes=routes)
    app.state.sandbox = state or SandboxState(config)
    return app
