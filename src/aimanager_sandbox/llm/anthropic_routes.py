"""The Anthropic side of the LLM sandbox: Messages and Message Batches.

Answers come from the offline writer (valid, deterministic); usage is counted from the text, with the
prompt cache; limits are token buckets answered with 429 + ``retry-after`` and the
``anthropic-ratelimit-*`` headers; faults are scripted (``state.script``) or injected at a rate.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from aimanager.llm.tokens import estimate_tokens
from aimanager_sandbox.llm import model as sandbox_model
from aimanager_sandbox.llm.state import SandboxState

RATELIMIT_PREFIX = "anthropic-ratelimit-"


def anthropic_error(
    status: int,
    kind: str,
    message: str,
    headers: dict[str, str] | None = None,
    details: dict[str, Any] | None = None,
) -> JSONResponse:
    error: dict[str, Any] = {"type": kind, "message": message}
    if details:
        error["details"] = details
    request_id = f"req_{uuid.uuid4().hex[:16]}"
    body = {"type": "error", "error": error, "request_id": request_id}
    return JSONResponse(body, status_code=status, headers={"request-id": request_id, **(headers or {})})


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content or [] if isinstance(part, dict))


def count_prompt(state: SandboxState, body: dict[str, Any]) -> tuple[int, int, int, str]:
    """``(input, cache_read, cache_write, user_text)`` for a Messages body."""
    system = body.get("system") or ""
    system_text = _text_of(system)
    cacheable = isinstance(system, list) and any(
        isinstance(b, dict) and b.get("cache_control") for b in system
    )
    user_text = "".join(_text_of(m.get("content")) for m in body.get("messages", []))
    system_tokens, user_tokens = estimate_tokens(system_text), estimate_tokens(user_text)
    if cacheable and system_tokens >= state.config.min_cache_tokens:
        key = hashlib.sha256(f"{body.get('model')}\x00{system_text}".encode()).hexdigest()
        if state.prompt_cache(key):
            return user_tokens, system_tokens, 0, user_text
        return user_tokens, 0, system_tokens, user_text
    return system_tokens + user_tokens, 0, 0, user_text


def message_object(
    state: SandboxState, model: str, text: str, max_tokens: int, usage: tuple[int, int, int]
) -> tuple[dict[str, Any], int]:
    """An Anthropic ``message`` for ``text`` (cut at ``max_tokens``), and its output token count."""
    output = estimate_tokens(text)
    stop = "end_turn"
    if output > max_tokens:
        text, output, stop = text[: max_tokens * 4], max_tokens, "max_tokens"
    return {
        "id": state.next_id("msg_"),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": text}],
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": {
            "input_tokens": usage[0],
            "output_tokens": output,
            "cache_read_input_tokens": usage[1],
            "cache_creation_input_tokens": usage[2],
            "service_tier": "standard",
        },
    }, output


def injected_fault(state: SandboxState, model: str) -> JSONResponse | None:
    """A scripted or random failure for this request, if one is due."""
    fault = state.take_fault(model)
    cfg = state.config
    kind = fault.kind if fault else None
    if kind is None and model in cfg.overloaded_models:
        kind = "overloaded"
    if kind is None and cfg.overload_rate and state.rng.random() < cfg.overload_rate:
        kind = "overloaded"
    if kind is None and cfg.error_500_rate and state.rng.random() < cfg.error_500_rate:
        kind = "server_error"
    if kind == "rate_limit":
        wait = fault.retry_after_s if fault else 0.05
        return anthropic_error(
            429,
            "rate_limit_error",
            "Number of requests has exceeded your rate limit",
            {"retry-after": str(math.ceil(wait)), "retry-after-ms": str(int(wait * 1000))},
        )
    if kind == "spend_cap":
        return anthropic_error(
            429,
            "rate_limit_error",
            "You have reached your specified API usage limits",
            details={"error_code": "enforced_spend_limit_reached"},
        )
    if kind == "overloaded":
        return anthropic_error(529, "overloaded_error", "Overloaded")
    if kind == "server_error":
        return anthropic_error(500, "api_error", "Internal server error")
    return None


async def messages(request: Request) -> Response:
    state: SandboxState = request.app.state.sandbox
    body = await request.json()
    model = str(body.get("model", ""))
    if not (request.headers.get("x-api-key") or request.headers.get("authorization")):
        state.record("messages", model, 401)
        return anthropic_error(401, "authentication_error", "x-api-key header is required")
    fault = injected_fault(state, model)
    if fault is not None:
        state.record("messages", model, fault.status_code)
        return fault
    input_tokens, cache_read, cache_write, user_text = count_prompt(state, body)
    max_tokens = int(body.get("max_tokens", 1024))
    reserve = max_tokens if state.config.otpm_reserve_max_tokens else 1
    wait, which = state.admit(model, input_tokens + cache_write, reserve)
    if wait > 0:
        state.record("messages", model, 429)
        state.throttled_by[which] = state.throttled_by.get(which, 0) + 1
        return anthropic_error(
            429,
            "rate_limit_error",
            f"This request would exceed your rate limit ({which})",
            {
                "retry-after": str(math.ceil(wait)),
                "retry-after-ms": str(max(1, int(wait * 1000))),
                **state.limit_headers(model, RATELIMIT_PREFIX),
            },
        )
    state.record("messages", model, 200)
    await asyncio.sleep(state.latency())
    text = sandbox_model.answer(state.config, model, user_text)
    message, output = message_object(state, model, text, max_tokens, (input_tokens, cache_read, cache_write))
    state.settle_output(model, reserve, output)
    headers = {"request-id": f"req_{uuid.uuid4().hex[:16]}", **state.limit_headers(model, RATELIMIT_PREFIX)}
    return JSONResponse(message, headers=headers)


def _batch_object(request: Request, batch: dict[str, Any]) -> dict[str, Any]:
    state: SandboxState = request.app.state.sandbox
    now = datetime.now(UTC)
    ended = now >= batch["ends_at"]
    n = len(batch["requests"])
    counts = {"processing": 0 if ended else n, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
    if ended:
        for result in batch_results_of(state, batch):
            counts[result["result"]["type"]] += 1
    base = str(request.base_url).rstrip("/")
    return {
        "id": batch["id"],
        "type": "message_batch",
        "processing_status": "ended" if ended else "in_progress",
        "request_counts": counts,
        "created_at": batch["created_at"].isoformat(),
        "expires_at": (batch["created_at"] + timedelta(hours=24)).isoformat(),
        "ended_at": batch["ends_at"].isoformat() if ended else None,
        "archived_at": None,
        "cancel_initiated_at": None,
        "results_url": f"{base}/v1/messages/batches/{batch['id']}/results" if ended else None,
    }


def batch_results_of(state: SandboxState, batch: dict[str, Any]) -> list[dict[str, Any]]:
    """Compute (once) the results of an ended batch."""
    if batch.get("results") is None:
        results = []
        for entry in batch["requests"]:
            params = entry["params"]
            model = str(params.get("model", ""))
            input_tokens, cache_read, cache_write, user_text = count_prompt(state, params)
            if sandbox_model.fails_in_batch(state.config, user_text):
                result: dict[str, Any] = {
                    "type": "errored",
                    "error": {
                        "type": "error",
                        "error": {
                            "type": "api_error",
                            "message": "Internal server error while processing the request",
                        },
                    },
                }
            else:
                text = sandbox_model.answer(state.config, model, user_text)
                message, _ = message_object(
                    state,
                    model,
                    text,
                    int(params.get("max_tokens", 1024)),
                    (input_tokens, cache_read, cache_write),
                )
                message["usage"]["service_tier"] = "batch"
                result = {"type": "succeeded", "message": message}
            results.append({"custom_id": entry["custom_id"], "result": result})
        batch["results"] = results
    return list(batch["results"])


async def create_batch(request: Request) -> Response:
    state: SandboxState = request.app.state.sandbox
    body = await request.json()
    state.record("batches.create", None, 200)
    now = datetime.now(UTC)
    batch = {
        "id": state.next_id("msgbatch_"),
        "requests": body.get("requests", []),
        "created_at": now,
        "ends_at": now + timedelta(seconds=state.config.scaled(state.config.batch_seconds)),
        "results": None,
    }
    if not batch["requests"]:
        return anthropic_error(400, "invalid_request_error", "requests: must not be empty")
    state.batches[batch["id"]] = batch
    return JSONResponse(_batch_object(request, batch))


async def retrieve_batch(request: Request) -> Response:
    state: SandboxState = request.app.state.sandbox
    batch = state.find_batch("batches.retrieve", request.path_params["batch_id"])
    if batch is None:
        return anthropic_error(404, "not_found_error", "batch not found")
    return JSONResponse(_batch_object(request, batch))


async def batch_results(request: Request) -> Response:
    state: SandboxState = request.app.state.sandbox
    batch = state.find_batch("batches.results", request.path_params["batch_id"])
    if batch is None or datetime.now(UTC) < batch["ends_at"]:
        return anthropic_error(404, "not_found_error", "results are not available")
    lines = "\n".join(json.dumps(r, ensure_ascii=False) for r in batch_results_of(state, batch))
    return Response(lines + "\n", media_type="application/binary")


def anthropic_routes() -> list[Route]:
    """The Anthropic routes: Messages and Message Batches."""
    return [
        Route("/v1/messages", messages, methods=["POST"]),
        Route("/v1/messages/batches", create_batch, methods=["POST"]),
        Route("/v1/messages/batches/{batch_id}", retrieve_batch, methods=["GET"]),
        Route("/v1/messages/batches/{batch_id}/results", batch_results, methods=["GET"]),
    ]
