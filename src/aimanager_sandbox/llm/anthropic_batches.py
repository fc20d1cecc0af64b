"""Anthropic Message Batches in the sandbox: realistic turnaround, expired and errored requests.

A batch ends ``state.batch_duration()`` after it is created (5-60 sandbox minutes by default, or the
fixed ``batch_seconds``); until then it is ``in_progress`` with no ``results_url``. When it has ended,
each request's result is decided once: ``errored`` for ``batch_error_skus`` or at
``batch_errored_rate``, ``expired`` at ``batch_expired_rate``, otherwise ``succeeded`` with a message
counted and cut at ``max_tokens`` exactly like a real-time one (and the same imperfect answers).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from aimanager_sandbox.llm import batch_work
from aimanager_sandbox.llm import model as sandbox_model
from aimanager_sandbox.llm.anthropic_routes import (
    DEFAULT_MAX_TOKENS,
    anthropic_error,
    count_prompt,
    message_object,
)
from aimanager_sandbox.llm.state import SandboxState


def _batch_object(request: Request, batch: dict[str, Any]) -> dict[str, Any]:
    state: SandboxState = request.app.state.sandbox
    ended = datetime.now(UTC) >= batch["ends_at"]
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


def _result(state: SandboxState, params: dict[str, Any]) -> dict[str, Any]:
    model = str(params.get("model", ""))
    prompt = count_prompt(state, params)
    outcome = sandbox_model.batch_outcome(state, prompt.user_text)
    if outcome == "expired":
        return {"type": "expired"}
    if outcome == "errored":
        return {
            "type": "errored",
            "error": {
                "type": "error",
                "error": {
                    "type": "api_error",
                    "message": "Internal server error while processing the request",
                },
            },
        }
    text = sandbox_model.answer(state, model, prompt.user_text)
    max_tokens = int(params.get("max_tokens") or DEFAULT_MAX_TOKENS)
    message, _ = message_object(state, model, text, max_tokens, prompt)
    message["usage"]["service_tier"] = "batch"
    return {"type": "succeeded", "message": message}


def batch_results_of(state: SandboxState, batch: dict[str, Any]) -> list[dict[str, Any]]:
    """The results of a batch, worked out once (from its creation on: ``batch_work``)."""

    def compute() -> list[dict[str, Any]]:
        return [
            {"custom_id": entry["custom_id"], "result": _result(state, entry["params"])}
            for entry in batch["requests"]
        ]

    return list(batch_work.answers(batch, compute))


async def create_batch(request: Request) -> Response:
    state: SandboxState = request.app.state.sandbox
    body = await request.json()
    if not body.get("requests"):
        state.record("batches.create", None, 400)
        return anthropic_error(400, "invalid_request_error", "requests: must not be empty")
    state.record("batches.create", None, 200)
    now = datetime.now(UTC)
    batch = {
        "id": state.next_id("msgbatch_"),
        "requests": body["requests"],
        "created_at": now,
        "ends_at": now + timedelta(seconds=state.batch_duration()),
    }
    state.batches[batch["id"]] = batch
    batch_work.start(batch, lambda: batch_results_of(state, batch))
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


def batch_routes() -> list[Route]:
    """The Message Batches routes."""
    return [
        Route("/v1/messages/batches", create_batch, methods=["POST"]),
        Route("/v1/messages/batches/{batch_id}", retrieve_batch, methods=["GET"]),
        Route("/v1/messages/batches/{batch_id}/results", batch_results, methods=["GET"]),
    ]
