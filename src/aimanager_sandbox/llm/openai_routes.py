"""OpenAI-shaped routes of the sandbox: Chat Completions and Files (batches: ``openai_batches``).

The same behaviour as the Anthropic side in OpenAI's wire format: real token counts (o200k for
``gpt-*``), ``max_tokens`` / ``max_completion_tokens`` cut at exactly that count with
``finish_reason: "length"``, latency from the output size (``x-sandbox-duration-ms``), the same
imperfect answers and faults. OpenAI has no 529: an overload or a 529 outage answers 503.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from aimanager_sandbox.llm import model as sandbox_model
from aimanager_sandbox.llm import tokens, vision
from aimanager_sandbox.llm.anthropic_routes import duration_header
from aimanager_sandbox.llm.faults import Failure, due_failure, echoed, retry_headers, with_echo
from aimanager_sandbox.llm.state import SandboxState

DEFAULT_MAX_TOKENS = 4096


def openai_error(
    status: int,
    kind: str,
    message: str,
    code: str | None = None,
    headers: dict[str, str] | None = None,
    echo: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "error": {"message": with_echo(message, echo), "type": kind, "param": None, "code": code}
    }
    if echo is not None:
        body["request_headers"] = echo
    return JSONResponse(
        body, status_code=status, headers={"x-request-id": f"req_{uuid.uuid4().hex[:16]}", **(headers or {})}
    )


def failure_response(failure: Failure, echo: dict[str, str] | None) -> JSONResponse:
    """``failure`` in OpenAI's shape."""
    if failure.kind == "rate_limit":
        return openai_error(
            429,
            "requests",
            "Rate limit reached",
            "rate_limit_exceeded",
            retry_headers(failure.retry_after_s),
            echo=echo,
        )
    if failure.kind == "spend_cap":
        return openai_error(
            429, "insufficient_quota", "You exceeded your current quota", "insufficient_quota", echo=echo
        )
    if failure.status in (529, 503):
        return openai_error(503, "server_error", "The server is overloaded", echo=echo)
    return openai_error(
        failure.status, "server_error", "The server had an error processing your request", echo=echo
    )


def user_text(messages: list[Any]) -> str:
    return "".join(
        tokens.text_of(m.get("content"))[0]
        for m in messages
        if isinstance(m, dict) and m.get("role") == "user"
    )


def prompt_tokens(body: dict[str, Any], model: str) -> int:
    """Input tokens of a Chat Completions body (system and developer turns are messages here)."""
    return tokens.count_request(
        "", [m.get("content") for m in body.get("messages", []) if isinstance(m, dict)], model
    )


def completion(state: SandboxState, body: dict[str, Any], prompt: int | None = None) -> dict[str, Any]:
    """A ``chat.completion`` object answering ``body`` (cut at its max tokens)."""
    model = str(body.get("model", ""))
    messages = body.get("messages", [])
    prompt = prompt_tokens(body, model) if prompt is None else prompt
    pictures = [i for m in messages if isinstance(m, dict) for i in vision.images_in(m.get("content"))]
    text = sandbox_model.answer(state, model, user_text(messages), pictures)
    max_tokens = int(body.get("max_completion_tokens") or body.get("max_tokens") or DEFAULT_MAX_TOKENS)
    text, output, was_cut = tokens.cut(text, max_tokens, model)
    state.answered(output, was_cut)
    return {
        "id": state.next_id("chatcmpl-"),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "finish_reason": "length" if was_cut else "stop",
                "message": {"role": "assistant", "content": text, "refusal": None},
            }
        ],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": output,
            "total_tokens": prompt + output,
            "prompt_tokens_details": {"cached_tokens": 0},
        },
    }


def _limit_headers(state: SandboxState, model: str) -> dict[str, str]:
    headers = {}
    for key, value in state.limit_headers(model, "x-ratelimit-").items():
        # OpenAI spells them x-ratelimit-limit-requests / x-ratelimit-remaining-tokens
        kind = "requests" if "requests" in key else "tokens" if "input-tokens" in key else None
        if kind:
            part = "limit" if key.endswith("-limit") else "remaining"
            headers[f"x-ratelimit-{part}-{kind}"] = value
    return headers


async def chat_completions(request: Request) -> Response:
    started = time.perf_counter()
    state: SandboxState = request.app.state.sandbox
    body = await request.json()
    model = str(body.get("model", ""))
    echo = echoed(state, request)
    if not request.headers.get("authorization"):
        state.record("chat", model, 401)
        return openai_error(401, "invalid_request_error", "You didn't provide an API key.", echo=echo)
    if body.get("stream"):
        state.record("chat", model, 400)
        return openai_error(
            400,
            "invalid_request_error",
            "stream: this sandbox does not stream; send stream=false",
            "unsupported_value",
            echo=echo,
        )
    failure = due_failure(state, model)
    if failure is not None:
        state.record("chat", model, failure.status if failure.status != 529 else 503)
        return failure_response(failure, echo)
    prompt = prompt_tokens(body, model)
    wait, which = state.admit(model, prompt, 1)
    if wait > 0:
        state.record("chat", model, 429)
        state.bump(state.throttled_by, which)
        return openai_error(
            429,
            "requests",
            f"Rate limit reached ({which})",
            "rate_limit_exceeded",
            retry_headers(wait),
            echo=echo,
        )
    state.record("chat", model, 200)
    result = completion(state, body, prompt)
    output = int(result["usage"]["completion_tokens"])
    await asyncio.sleep(state.latency(output))
    state.settle_output(model, 1, output)
    headers = {
        "x-request-id": f"req_{uuid.uuid4().hex[:16]}",
        **_limit_headers(state, model),
        **duration_header(started),
    }
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


def openai_routes() -> list[Route]:
    """The OpenAI routes: Chat Completions and Files."""
    return [
        Route("/v1/chat/completions", chat_completions, methods=["POST"]),
        Route("/v1/files", upload_file, methods=["POST"]),
        Route("/v1/files/{file_id}/content", file_content, methods=["GET"]),
    ]
