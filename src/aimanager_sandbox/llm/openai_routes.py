"""OpenAI-shaped routes of the sandbox: Chat Completions, Files (for batches) and the Batch API."""

from __future__ import annotations

import asyncio
import json
import math
import time
import uuid
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from aimanager.llm.tokens import estimate_tokens
from aimanager_sandbox.llm import model as sandbox_model
from aimanager_sandbox.llm.state import SandboxState


def openai_error(
    status: int, kind: str, message: str, code: str | None = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
    return JSONResponse(
        body, status_code=status, headers={"x-request-id": f"req_{uuid.uuid4().hex[:16]}", **(headers or {})}
    )


def _fault(state: SandboxState, model: str) -> JSONResponse | None:
    fault = state.take_fault(model)
    kind = fault.kind if fault else ("overloaded" if model in state.config.overloaded_models else None)
    if kind == "rate_limit":
        wait = fault.retry_after_s if fault else 0.05
        return openai_error(
            429,
            "requests",
            "Rate limit reached",
            "rate_limit_exceeded",
            {"retry-after": str(math.ceil(wait)), "retry-after-ms": str(int(wait * 1000))},
        )
    if kind == "spend_cap":
        return openai_error(
            429, "insufficient_quota", "You exceeded your current quota", "insufficient_quota"
        )
    if kind in ("overloaded", "server_error"):
        return openai_error(503 if kind == "overloaded" else 500, "server_error", "The server is overloaded")
    return None


def _user_text(messages: list[dict[str, Any]]) -> str:
    return "".join(str(m.get("content") or "") for m in messages if m.get("role") == "user")


def completion(state: SandboxState, body: dict[str, Any]) -> tuple[dict[str, Any], int, str]:
    """A chat.completion object for ``body`` and its (prompt tokens, user text)."""
    messages = body.get("messages", [])
    text_in = "".join(str(m.get("content") or "") for m in messages)
    user_text = _user_text(messages)
    prompt = estimate_tokens(text_in)
    model = str(body.get("model", ""))
    text = sandbox_model.answer(state.config, model, user_text)
    max_tokens = int(body.get("max_completion_tokens") or body.get("max_tokens") or 4096)
    output, finish = estimate_tokens(text), "stop"
    if output > max_tokens:
        text, output, finish = text[: max_tokens * 4], max_tokens, "length"
    return (
        {
            "id": state.next_id("chatcmpl-"),
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "finish_reason": finish,
                    "message": {"role": "assistant", "content": text, "refusal": None},
                }
            ],
            "usage": {
                "prompt_tokens": prompt,
                "completion_tokens": output,
                "total_tokens": prompt + output,
                "prompt_tokens_details": {"cached_tokens": 0},
            },
        },
        prompt,
        user_text,
    )


async def chat_completions(request: Request) -> Response:
    state: SandboxState = request.app.state.sandbox
    body = await request.json()
    model = str(body.get("model", ""))
    fault = _fault(state, model)
    if fault is not None:
        state.record("chat", model, fault.status_code)
        return fault
    result, prompt, _ = completion(state, body)
    wait, which = state.admit(model, prompt, 1)
    if wait > 0:
        state.record("chat", model, 429)
        return openai_error(
            429,
            "requests",
            f"Rate limit reached ({which})",
            "rate_limit_exceeded",
            {"retry-after": str(math.ceil(wait)), "retry-after-ms": str(max(1, int(wait * 1000)))},
        )
    state.record("chat", model, 200)
    await asyncio.sleep(state.latency())
    state.settle_output(model, 1, result["usage"]["completion_tokens"])
    headers = {"x-request-id": f"req_{uuid.uuid4().hex[:16]}"}
    for key, value in state.limit_headers(model, "x-ratelimit-").items():
        # OpenAI spells them x-ratelimit-limit-requests / x-ratelimit-remaining-tokens
        kind = "requests" if "requests" in key else "tokens" if "input-tokens" in key else None
        if kind:
            part = "limit" if key.endswith("-limit") else "remaining"
            headers[f"x-ratelimit-{part}-{kind}"] = value
    return JSONResponse(result, headers=headers)


def _multipart_file(content_type: str, data: bytes) -> bytes:
    message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + data)
    for part in message.iter_parts():
        if part.get_param("name", header="content-disposition") == "file":
            payload = part.get_payload(decode=True)
            return payload if isinstance(payload, bytes) else b""
    return b""


async def upload_file(request: Request) -> Response:
    state: SandboxState = request.app.state.sandbox
    data = _multipart_file(request.headers.get("content-type", ""), await request.body())
    file_id = state.next_id("file-")
    state.files[file_id] = data
    state.record("files.create", None, 200)
    return JSONResponse(
        {
            "id": file_id,
            "object": "file",
            "bytes": len(data),
            "created_at": int(time.time()),
            "filename": "batch.jsonl",
            "purpose": "batch",
            "status": "processed",
        }
    )


async def file_content(request: Request) -> Response:
    state: SandboxState = request.app.state.sandbox
    data = state.files.get(request.path_params["file_id"])
    state.record("files.content", None, 200 if data is not None else 404)
    if data is None:
        return openai_error(404, "invalid_request_error", "No such file")
    return Response(data, media_type="application/octet-stream")


def _batch(request: Request, batch: dict[str, Any]) -> dict[str, Any]:
    state: SandboxState = request.app.state.sandbox
    done = time.time() >= batch["ends_at"]
    if done and batch.get("output_file_id") is None:
        ok_lines, error_lines = [], []
        for line in state.files.get(batch["input_file_id"], b"").decode().splitlines():
            if not line.strip():
                continue
            entry = json.loads(line)
            if sandbox_model.fails_in_batch(state.config, _user_text(entry["body"].get("messages", []))):
                error_lines.append(
                    json.dumps(
                        {
                            "id": state.next_id("batch_req_"),
                            "custom_id": entry["custom_id"],
                            "response": None,
                            "error": {"code": "server_error", "message": "processing failed"},
                        }
                    )
                )
                continue
            body, _, _ = completion(state, entry["body"])
            ok_lines.append(
                json.dumps(
                    {
                        "id": state.next_id("batch_req_"),
                        "custom_id": entry["custom_id"],
                        "response": {"status_code": 200, "request_id": body["id"], "body": body},
                        "error": None,
                    },
                    ensure_ascii=False,
                )
            )
        batch["output_file_id"] = state.next_id("file-")
        state.files[batch["output_file_id"]] = ("\n".join(ok_lines) + "\n").encode()
        if error_lines:
            batch["error_file_id"] = state.next_id("file-")
            state.files[batch["error_file_id"]] = ("\n".join(error_lines) + "\n").encode()
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
    }


async def create_batch(request: Request) -> Response:
    state: SandboxState = request.app.state.sandbox
    body = await request.json()
    state.record("openai.batches.create", None, 200)
    now = time.time()
    batch = {
        "id": state.next_id("batch_"),
        "input_file_id": body["input_file_id"],
        "created_at": now,
        "ends_at": now + state.config.scaled(state.config.batch_seconds),
    }
    state.batches[batch["id"]] = batch
    return JSONResponse(_batch(request, batch))


async def retrieve_batch(request: Request) -> Response:
    state: SandboxState = request.app.state.sandbox
    batch = state.find_batch("openai.batches.retrieve", request.path_params["batch_id"])
    if batch is None:
        return openai_error(404, "invalid_request_error", "No such batch")
    return JSONResponse(_batch(request, batch))


def openai_routes() -> list[Route]:
    """The OpenAI routes (mounted at ``/v1`` beside Anthropic's)."""
    return [
        Route("/v1/chat/completions", chat_completions, methods=["POST"]),
        Route("/v1/files", upload_file, methods=["POST"]),
        Route("/v1/files/{file_id}/content", file_content, methods=["GET"]),
        Route("/v1/batches", create_batch, methods=["POST"]),
        Route("/v1/batches/{batch_id}", retrieve_batch, methods=["GET"]),
    ]
