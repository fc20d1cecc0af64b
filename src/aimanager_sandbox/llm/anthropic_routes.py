"""The Anthropic side of the LLM sandbox: Messages and token counting (batches: ``anthropic_batches``).

Usage is counted with a real tokenizer (``tokens``), with the prompt cache; ``max_tokens`` cuts the
answer after exactly that many tokens (``stop_reason: "max_tokens"``); a call lasts time to first token
plus its output at the drawn throughput, reported in ``x-sandbox-duration-ms``. Limits are token
buckets answered with 429 + ``retry-after`` and the ``anthropic-ratelimit-*`` headers; faults and
outages come from ``faults``.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from aimanager_sandbox.llm import model as sandbox_model
from aimanager_sandbox.llm import tokens, vision
from aimanager_sandbox.llm.faults import Failure, due_failure, echoed, retry_headers, with_echo
from aimanager_sandbox.llm.state import SandboxState

RATELIMIT_PREFIX = "anthropic-ratelimit-"
DEFAULT_MAX_TOKENS = 1024


def anthropic_error(
    status: int,
    kind: str,
    message: str,
    headers: dict[str, str] | None = None,
    details: dict[str, Any] | None = None,
    echo: dict[str, str] | None = None,
) -> JSONResponse:
    error: dict[str, Any] = {"type": kind, "message": with_echo(message, echo)}
    if details:
        error["details"] = details
    request_id = f"req_{uuid.uuid4().hex[:16]}"
    body: dict[str, Any] = {"type": "error", "error": error, "request_id": request_id}
    if echo is not None:
        body["request_headers"] = echo
    return JSONResponse(body, status_code=status, headers={"request-id": request_id, **(headers or {})})


def failure_response(failure: Failure, echo: dict[str, str] | None) -> JSONResponse:
    """``failure`` in Anthropic's shape."""
    if failure.kind == "rate_limit":
        return anthropic_error(
            429,
            "rate_limit_error",
            "Number of requests has exceeded your rate limit",
            retry_headers(failure.retry_after_s),
            echo=echo,
        )
    if failure.kind == "spend_cap":
        return anthropic_error(
            429,
            "rate_limit_error",
            "You have reached your specified API usage limits",
            details={"error_code": "enforced_spend_limit_reached"},
            echo=echo,
        )
    if failure.status == 529:
        return anthropic_error(529, "overloaded_error", "Overloaded", echo=echo)
    return anthropic_error(failure.status, "api_error", "Internal server error", echo=echo)


def _system_text(system: Any) -> str:
    return tokens.text_of(system)[0] if system else ""


@dataclass(frozen=True, slots=True)
class Prompt:
    """A Messages request's input as billed: fresh input, cache read, cache write; and the user text."""

    input_tokens: int
    cache_read: int
    cache_write: int
    user_text: str

    @property
    def total(self) -> int:
        return self.input_tokens + self.cache_read + self.cache_write


def total_input(body: dict[str, Any], model: str) -> int:
    """Every input token of a Messages body (what ``count_tokens`` answers; the cache does not change it)."""
    contents = [m.get("content") for m in body.get("messages", []) if isinstance(m, dict)]
    return tokens.count_request(_system_text(body.get("system")), contents, model)


def count_prompt(state: SandboxState, body: dict[str, Any]) -> Prompt:
    """The request's input, split by the prompt cache (a ``cache_control`` system prefix long enough
    is written on first use and read while it lives)."""
    model = str(body.get("model", ""))
    system = body.get("system") or ""
    messages = [m for m in body.get("messages", []) if isinstance(m, dict)]
    user_text = "".join(tokens.text_of(m.get("content"))[0] for m in messages if m.get("role") == "user")
    total = total_input(body, model)
    cacheable = isinstance(system, list) and any(
        isinstance(b, dict) and b.get("cache_control") for b in system
    )
    system_text = _system_text(system)
    system_tokens = tokens.count(system_text, model) + tokens.MESSAGE_OVERHEAD
    if cacheable and system_tokens >= state.config.min_cache_tokens:
        key = hashlib.sha256(f"{model}\x00{system_text}".encode()).hexdigest()
        if state.prompt_cache(key):
            return Prompt(total - system_tokens, system_tokens, 0, user_text)
        return Prompt(total - system_tokens, 0, system_tokens, user_text)
    return Prompt(total, 0, 0, user_text)


def message_object(
    state: SandboxState, model: str, text: str, max_tokens: int, prompt: Prompt
) -> tuple[dict[str, Any], int]:
    """An Anthropic ``message`` for ``text`` cut at ``max_tokens`` real tokens, and its output tokens."""
    text, output, was_cut = tokens.cut(text, max_tokens, model)
    state.answered(output, was_cut)
    return {
        "id": state.next_id("msg_"),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": text}],
        "stop_reason": "max_tokens" if was_cut else "end_turn",
        "stop_sequence": None,
        "usage": {
            "input_tokens": prompt.input_tokens,
            "output_tokens": output,
            "cache_read_input_tokens": prompt.cache_read,
            "cache_creation_input_tokens": prompt.cache_write,
            "service_tier": "standard",
        },
    }, output


def _authorised(request: Request) -> bool:
    return bool(request.headers.get("x-api-key") or request.headers.get("authorization"))


def duration_header(started: float) -> dict[str, str]:
    """The call's server-side duration (what a client's latency model should learn from)."""
    return {"x-sandbox-duration-ms": f"{(time.perf_counter() - started) * 1000:.3f}"}


async def messages(request: Request) -> Response:
    started = time.perf_counter()
    state: SandboxState = request.app.state.sandbox
    body = await request.json()
    model = str(body.get("model", ""))
    echo = echoed(state, request)
    if not _authorised(request):
        state.record("messages", model, 401)
        return anthropic_error(401, "authentication_error", "x-api-key header is required", echo=echo)
    if body.get("stream"):
        state.record("messages", model, 400)
        return anthropic_error(
            400, "invalid_request_error", "stream: this sandbox does not stream; send stream=false", echo=echo
        )
    failure = due_failure(state, model)
    if failure is not None:
        state.record("messages", model, failure.status)
        return failure_response(failure, echo)
    prompt = count_prompt(state, body)
    max_tokens = int(body.get("max_tokens") or DEFAULT_MAX_TOKENS)
    reserve = max_tokens if state.config.otpm_reserve_max_tokens else 1
    wait, which = state.admit(model, prompt.input_tokens + prompt.cache_write, reserve)
    if wait > 0:
        state.record("messages", model, 429)
        state.bump(state.throttled_by, which)
        return anthropic_error(
            429,
            "rate_limit_error",
            f"This request would exceed your rate limit ({which})",
            {**retry_headers(wait), **state.limit_headers(model, RATELIMIT_PREFIX)},
            echo=echo,
        )
    state.record("messages", model, 200)
    pictures = [
        i for m in body.get("messages", []) if isinstance(m, dict) for i in vision.images_in(m.get("content"))
    ]
    text = sandbox_model.answer(state, model, prompt.user_text, pictures)
    message, output = message_object(state, model, text, max_tokens, prompt)
    await asyncio.sleep(state.latency(output))
    state.settle_output(model, reserve, output)
    headers = {
        "request-id": f"req_{uuid.uuid4().hex[:16]}",
        **state.limit_headers(model, RATELIMIT_PREFIX),
        **duration_header(started),
    }
    return JSONResponse(message, headers=headers)


async def count_tokens(request: Request) -> Response:
    """``POST /v1/messages/count_tokens``: the input tokens a Messages body would be billed."""
    state: SandboxState = request.app.state.sandbox
    body = await request.json()
    model = str(body.get("model", ""))
    if not _authorised(request):
        state.record("count_tokens", model, 401)
        return anthropic_error(401, "authentication_error", "x-api-key header is required")
    state.record("count_tokens", model, 200)
    return JSONResponse({"input_tokens": total_input(body, model)})


def anthropic_routes() -> list[Route]:
    """The Anthropic routes: Messages and token counting."""
    return [
        Route("/v1/messages", messages, methods=["POST"]),
        Route("/v1/messages/count_tokens", count_tokens, methods=["POST"]),
    ]
