"""The OpenAI Batch API in the sandbox: realistic turnaround, expired and failed requests.

Like ``anthropic_batches``: a batch completes ``state.batch_duration()`` after creation; then each
request line is decided once — a failure (``batch_error_skus``, ``batch_errored_rate``) or an expiry
(``batch_expired_rate``, code ``batch_expired``) goes to the error file, every other line to the output
file with a completion counted and cut like a real-time one.
"""

from __future__ import annotations

import json
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from aimanager_sandbox.llm import batch_work
from aimanager_sandbox.llm import model as sandbox_model
from aimanager_sandbox.llm.openai_routes import completion, openai_error, user_text
from aimanager_sandbox.llm.state import SandboxState

_ERRORS = {
    "errored": {"code": "server_error", "message": "The request failed while the batch was processed."},
    "expired": {
        "code": "batch_expired",
        "message": "This request could not be executed before the completion window expired.",
    },
}


def _line(state: SandboxState, entry: dict[str, Any]) -> tuple[str, str]:
    """``(outcome, JSON line)`` for one request of the input file."""
    outcome = sandbox_model.batch_outcome(state, user_text(entry["body"].get("messages", [])))
    line: dict[str, Any] = {"id": state.next_id("batch_req_"), "custom_id": entry["custom_id"]}
    if outcome != "succeeded":
        line.update(response=None, error=_ERRORS[outcome])
    else:
        body = completion(state, entry["body"])
        line.update(response={"status_code": 200, "request_id": body["id"], "body": body}, error=None)
    return outcome, json.dumps(line, ensure_ascii=False)


def _lines(state: SandboxState, batch: dict[str, Any]) -> tuple[list[str], list[str]]:
    """The batch's output and error lines, worked out once (from its creation on: ``batch_work``)."""

    def compute() -> tuple[list[str], list[str]]:
        ok_lines: list[str] = []
        error_lines: list[str] = []
        for raw in state.files.get(batch["input_file_id"], b"").decode().splitlines():
            if raw.strip():
                outcome, line = _line(state, json.loads(raw))
                (ok_lines if outcome == "succeeded" else error_lines).append(line)
        return ok_lines, error_lines

    done: tuple[list[str], list[str]] = batch_work.answers(batch, compute)
    return done


def _finish(state: SandboxState, batch: dict[str, Any]) -> None:
    ok_lines, error_lines = _lines(state, batch)
    batch["counts"] = {
        "total": len(ok_lines) + len(error_lines),
        "completed": len(ok_lines),
        "failed": len(error_lines),
    }
    batch["output_file_id"] = state.next_id("file-")
    state.files[batch["output_file_id"]] = ("\n".join(ok_lines) + "\n").encode()
    if error_lines:
        batch["error_file_id"] = state.next_id("file-")
        state.files[batch["error_file_id"]] = ("\n".join(error_lines) + "\n").encode()


def _batch(request: Request, batch: dict[str, Any]) -> dict[str, Any]:
    state: SandboxState = request.app.state.sandbox
    done = time.time() >= batch["ends_at"]
    if done and batch.get("output_file_id") is None:
        _finish(state, batch)
    return {
        "id": batch["id"],
        "object": "batch",
        "endpoint": "/v1/chat/completions",
        "errors": None,
        "input_file_id": batch["input_file_id"],
        "completion_window": "24h",
        "status": "completed" if done else "in_progress",
        "output_file_id": batch.get("output_file_id"),
        "error_file_id": batch.get("error_file_id"),
        "created_at": int(batch["created_at"]),
        "completed_at": int(batch["ends_at"]) if done else None,
        "request_counts": batch["counts"],
    }


async def create_batch(request: Request) -> Response:
    state: SandboxState = request.app.state.sandbox
    body = await request.json()
    state.record("openai.batches.create", None, 200)
    now = time.time()
    lines = [raw for raw in state.files.get(body["input_file_id"], b"").splitlines() if raw.strip()]
    batch = {
        "id": state.next_id("batch_"),
        "input_file_id": body["input_file_id"],
        "created_at": now,
        "ends_at": now + state.batch_duration(),
        "counts": {"total": len(lines), "completed": 0, "failed": 0},
    }
    state.batches[batch["id"]] = batch
    batch_work.start(batch, lambda: _lines(state, batch))
    return JSONResponse(_batch(request, batch))


async def retrieve_batch(request: Request) -> Response:
    state: SandboxState = request.app.state.sandbox
    batch = state.find_batch("openai.batches.retrieve", request.path_params["batch_id"])
    if batch is None:
        return openai_error(404, "invalid_request_error", "No such batch")
    return JSONResponse(_batch(request, batch))


def batch_routes() -> list[Route]:
    """The OpenAI Batch routes."""
    return [
        Route("/v1/batches", create_batch, methods=["POST"]),
        Route("/v1/batches/{batch_id}", retrieve_batch, methods=["GET"]),
    ]
