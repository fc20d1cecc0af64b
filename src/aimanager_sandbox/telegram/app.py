"""The Telegram Bot API as a bot meets it, on loopback: ``/bot<token>/<method>``.

Methods: ``sendMessage`` and ``getMe`` (names case-insensitive, GET or POST, parameters as JSON, an
urlencoded form or the query string — as Telegram takes them; multipart is not served). Answers
keep the Bot API's envelope: ``{"ok": true, "result": …}`` or
``{"ok": false, "error_code": N, "description": "…"}``, plus ``"parameters": {"retry_after": N}`` on a
429. A malformed token or an unknown method is 404
"Not Found", a well-formed token that is no bot 401 "Unauthorized", a chat the bot cannot see
400 "Bad Request: chat not found", a user who blocked the bot 403 "Forbidden: bot was blocked by the
user", text longer than 4096 characters 400 "Bad Request: message is too long".

Operator endpoints (``/_sandbox``, no token):
- ``GET /_sandbox/messages[?chat_id=…]``: what arrived, oldest first (never a token: the bot's id);
  ``DELETE /_sandbox/messages`` forgets them;
- ``GET|POST /_sandbox/faults``: ``{"next_429": n, "retry_after": s, "next_500": n}`` stages faults;
- ``GET /_sandbox/stats``: answers by status code and messages stored.
"""

from __future__ import annotations

import zlib
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from aimanager_sandbox.telegram.state import TOKEN_SHAPE, Faults, TelegramConfig, TelegramState

TEXT_LIMIT = 4096
PARSE_MODES = {"html", "markdown", "markdownv2"}
BOT_NAME = "AI Manager Sandbox Bot"


def _error(state: TelegramState, code: int, description: str, retry_after: int | None = None) -> Response:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    state.counted(code)
    return JSONResponse(body, status_code=code)


def _ok(state: TelegramState, result: Any) -> Response:
    state.counted(200)
    return JSONResponse({"ok": True, "result": result})


async def _params(request: Request) -> dict[str, Any] | None:
    """The method's parameters from the query string and the body; None if the body is unreadable."""
    params: dict[str, Any] = dict(request.query_params)
    if request.method != "POST":
        return params
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        if kind == "application/json":
            body = await request.json()
            if not isinstance(body, dict):
                return None
            params.update(body)
        elif kind == "application/x-www-form-urlencoded":
            # Parsed here: Starlette's form parser needs python-multipart, which the sandbox lacks.
            params.update(parse_qsl((await request.body()).decode(), keep_blank_values=True))
    except (ValueError, UnicodeDecodeError):
        return None
    return params


def _bot(bot_id: int) -> dict[str, Any]:
    username = f"aimanager_sandbox_{bot_id}_bot"
    return {"id": bot_id, "is_bot": True, "first_name": BOT_NAME, "username": username}


def _chat(chat_id: str) -> dict[str, Any]:
    if chat_id.startswith("@"):
        number = -1000000000000 - zlib.crc32(chat_id.encode())  # stable across processes
        return {"id": number, "title": chat_id[1:], "username": chat_id[1:], "type": "channel"}
    number = int(chat_id)
    if number > 0:
        return {"id": number, "first_name": "Operator", "type": "private"}
    kind = "supergroup" if chat_id.startswith("-100") else "group"
    return {"id": number, "title": "Alerts", "type": kind}


async def bot_method(request: Request) -> Response:
    state: TelegramState = request.app.state.sandbox
    token = request.path_params["token"]
    method = request.path_params["method"].lower()
    if method not in ("sendmessage", "getme"):
        return _error(state, 404, "Not Found")
    bot_id = state.bot_id(token)
    if bot_id is None:
        # Telegram: a token of the wrong shape is an unknown path; a well-formed stranger, Unauthorized.
        if TOKEN_SHAPE.match(token):
            return _error(state, 401, "Unauthorized")
        return _error(state, 404, "Not Found")
    fault = state.staged_fault()
    if fault is not None:
        status, retry_after = fault
        if status == 429:
            return _error(state, 429, f"Too Many Requests: retry after {retry_after}", retry_after)
        return _error(state, 500, "Internal Server Error")
    if method == "getme":
        flags = {
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        return _ok(state, {**_bot(bot_id), **flags})
    params = await _params(request)
    if params is None:
        return _error(state, 400, "Bad Request: can't parse request body")
    return _send_message(state, bot_id, params)


def _send_message(state: TelegramState, bot_id: int, params: dict[str, Any]) -> Response:
    raw_chat = params.get("chat_id")
    chat_id = str(raw_chat).strip() if raw_chat is not None else ""
    if not chat_id:
        return _error(state, 400, "Bad Request: chat_id is empty")
    if not chat_id.startswith("@"):
        try:
            int(chat_id)
        except ValueError:
            return _error(state, 400, "Bad Request: chat not found")
    text = params.get("text")
    if not isinstance(text, str) or not text.strip():
        return _error(state, 400, "Bad Request: message text is empty")
    if len(text) > TEXT_LIMIT:
        return _error(state, 400, "Bad Request: message is too long")
    parse_mode = params.get("parse_mode")
    if parse_mode is not None and str(parse_mode).lower() not in PARSE_MODES:
        return _error(state, 400, f"Bad Request: unsupported parse_mode {parse_mode}")
    config = state.config
    if config.chats is not None and chat_id not in config.chats:
        return _error(state, 400, "Bad Request: chat not found")
    if chat_id in config.blocked_chats:
        return _error(state, 403, "Forbidden: bot was blocked by the user")
    wait = state.wait_for(bot_id, chat_id)
    if wait:
        return _error(state, 429, f"Too Many Requests: retry after {wait}", wait)
    message = state.record(bot_id, chat_id, text, str(parse_mode) if parse_mode else None)
    return _ok(
        state,
        {
            "message_id": message.message_id,
            "from": _bot(bot_id),
            "chat": _chat(chat_id),
            "date": message.date,
            "text": text,
        },
    )


async def messages(request: Request) -> Response:
    state: TelegramState = request.app.state.sandbox
    if request.method == "DELETE":
        state.clear()
        return JSONResponse({"ok": True})
    chat_id = request.query_params.get("chat_id")
    return JSONResponse({"messages": [m.view() for m in state.read(chat_id)]})


async def faults(request: Request) -> Response:
    state: TelegramState = request.app.state.sandbox
    if request.method == "POST":
        body = await request.json()
        unknown = [k for k in body if k not in Faults().view()]
        if unknown or not all(isinstance(v, int) and v >= 0 for v in body.values()):
            return JSONResponse({"ok": False, "unknown": unknown}, status_code=400)
        for key, value in body.items():
            setattr(state.faults, key, value)
    return JSONResponse({"ok": True, **state.faults.view()})


async def stats(request: Request) -> Response:
    state: TelegramState = request.app.state.sandbox
    return JSONResponse({"answers": dict(state.requests), "messages": len(state.read())})


def create_app(config: TelegramConfig | None = None) -> Starlette:
    """The sandbox ASGI app; ``app.state.sandbox`` is its ``TelegramState``."""
    app = Starlette(
        routes=[
            Route("/bot{token}/{method}", bot_method, methods=["GET", "POST"]),
            Route("/_sandbox/messages", messages, methods=["GET", "DELETE"]),
            Route("/_sandbox/faults", faults, methods=["GET", "POST"]),
            Route("/_sandbox/stats", stats, methods=["GET"]),
        ]
    )
    app.state.sandbox = TelegramState(config)
    return app
