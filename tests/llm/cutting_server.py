"""A small provider that cuts answers at ``max_tokens`` the way real ones do, for the salvage tests.

It speaks the Anthropic Messages and OpenAI Chat Completions wire formats (enough for the official SDKs),
answers with the offline writer's strict JSON, and counts tokens more heavily than the gateway's
``len/4`` estimate — one token per character, close to what a real BPE tokenizer gives on ru+uz JSON
(one offline card, ~650-700 characters, is then ~700 tokens, as in issue 11). An answer longer than
``max_tokens`` is cut there, with ``stop_reason: "max_tokens"`` / ``finish_reason: "length"``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from aimanager.llm import offline
from aimanager.llm.prompts import ITEMS_MARKER, read_document


def count_tokens(text: str) -> int:
    """This provider's token count: one per character."""
    return len(text)


@dataclass(frozen=True, slots=True)
class Seen:
    """One request as the server saw it."""

    api: str  # messages | chat
    model: str
    skus: tuple[str, ...]
    max_tokens: int
    output_tokens: int
    cut: bool


@dataclass(slots=True)
class CuttingState:
    requests: list[Seen] = field(default_factory=list)
    ids: itertools.count[int] = field(default_factory=itertools.count)


def _answer(state: CuttingState, api: str, model: str, user: str, max_tokens: int) -> tuple[str, int, bool]:
    text = offline.answer(user)
    cut = count_tokens(text) > max_tokens
    if cut:
        text = text[:max_tokens]
    items = read_document(user, ITEMS_MARKER).get("items", []) if ITEMS_MARKER in user else []
    skus = tuple(str(e["facts"]["sku"]) for e in items)
    output = min(count_tokens(text), max_tokens)
    state.requests.append(Seen(api, model, skus, max_tokens, output, cut))
    return text, output, cut


async def messages(request: Request) -> JSONResponse:
    state: CuttingState = request.app.state.cutting
    body = await request.json()
    user = body["messages"][0]["content"]
    system = "".join(block["text"] for block in body.get("system", []))
    text, output, cut = _answer(state, "messages", body["model"], user, int(body["max_tokens"]))
    return JSONResponse(
        {
            "id": f"msg_{next(state.ids)}",
            "type": "message",
            "role": "assistant",
            "model": body["model"],
            "content": [{"type": "text", "text": text}],
            "stop_reason": "max_tokens" if cut else "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": count_tokens(system + user), "output_tokens": output},
        }
    )


async def chat(request: Request) -> JSONResponse:
    state: CuttingState = request.app.state.cutting
    body = await request.json()
    system, user = (m["content"] for m in body["messages"])
    max_tokens = int(body["max_completion_tokens"])
    text, output, cut = _answer(state, "chat", body["model"], user, max_tokens)
    prompt = count_tokens(system + user)
    return JSONResponse(
        {
            "id": f"chatcmpl-{next(state.ids)}",
            "object": "chat.completion",
            "created": 0,
            "model": body["model"],
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "length" if cut else "stop",
                    "message": {"role": "assistant", "content": text, "refusal": None},
                }
            ],
            "usage": {"prompt_tokens": prompt, "completion_tokens": output, "total_tokens": prompt + output},
        }
    )


def create_app() -> Starlette:
    routes = [
        Route("/v1/messages", messages, methods=["POST"]),
        Route("/v1/chat/completions", chat, methods=["POST"]),
    ]
    app = Starlette(routes=routes)
    app.state.cutting = CuttingState()
    return app
