"""The Telegram sandbox's state: its bots, chats, the messages that arrived, limits and staged faults.

Limits as Telegram documents them for bots ("My bot is hitting limits"): about one message a second
in one chat (short bursts tolerated), at most 20 a minute in one group, about 30 a second overall.
Here a chat's bucket refills at ``per_chat_per_s`` with room for ``chat_burst``, a group's at
``group_per_minute``/60 s, the bot's at ``global_per_s``; a request over a bucket is answered 429 with
``parameters.retry_after`` (whole seconds, as Telegram gives them). Durations are sandbox seconds:
``time_scale`` wall seconds pass per sandbox second.
"""

from __future__ import annotations

import math
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

TOKEN_SHAPE = re.compile(r"^(\d{1,20}):[A-Za-z0-9_-]{30,50}$")


@dataclass
class TelegramConfig:
    time_scale: float = 1.0
    tokens: set[str] | None = None  # None: any well-formed token is a bot
    chats: set[str] | None = None  # None: every chat exists ("@name" or a number, as text)
    blocked_chats: set[str] = field(default_factory=set)  # users who blocked the bot: 403
    enforce_limits: bool = True
    per_chat_per_s: float = 1.0
    chat_burst: int = 10
    group_per_minute: int = 20
    global_per_s: float = 30.0


@dataclass
class Faults:
    next_429: int = 0
    retry_after: int = 5
    next_500: int = 0

    def view(self) -> dict[str, int]:
        return {"next_429": self.next_429, "retry_after": self.retry_after, "next_500": self.next_500}


@dataclass
class _Bucket:
    rate: float  # tokens per sandbox second
    burst: float
    tokens: float
    at: float

    def take(self, now: float) -> float:
        """0 if a token was taken, else the sandbox seconds until one is free."""
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


@dataclass(frozen=True)
class Message:
    message_id: int
    bot_id: int
    chat_id: str
    text: str
    date: int
    parse_mode: str | None

    def view(self) -> dict[str, Any]:
        return {
            "message_id": self.message_id,
            "bot_id": self.bot_id,
            "chat_id": self.chat_id,
            "text": self.text,
            "date": self.date,
            "parse_mode": self.parse_mode,
        }


class TelegramState:
    """Everything one sandbox holds; handlers reach it as ``request.app.state.sandbox``."""

    def __init__(self, config: TelegramConfig | None = None) -> None:
        self.config = config or TelegramConfig()
        self.faults = Faults()
        self.messages: list[Message] = []
        self.requests: dict[str, int] = {}  # answers by status code
        self._buckets: dict[str, _Bucket] = {}
        self._next_id: dict[tuple[int, str], int] = {}
        self._lock = threading.Lock()
        self._t0 = time.monotonic()

    def now(self) -> float:
        """Sandbox seconds since start."""
        return (time.monotonic() - self._t0) / max(self.config.time_scale, 1e-9)

    def bot_id(self, token: str) -> int | None:
        """The bot's id for a token Telegram would accept; None for an unknown one (401)."""
        match = TOKEN_SHAPE.match(token)
        if match is None:
            return None
        if self.config.tokens is not None and token not in self.config.tokens:
            return None
        return int(match.group(1))

    def counted(self, status: int) -> None:
        with self._lock:
            self.requests[str(status)] = self.requests.get(str(status), 0) + 1

    def staged_fault(self) -> tuple[int, int] | None:
        """A staged 429 (with its retry_after) or 500, consumed."""
        with self._lock:
            if self.faults.next_500 > 0:
                self.faults.next_500 -= 1
                return 500, 0
            if self.faults.next_429 > 0:
                self.faults.next_429 -= 1
                return 429, self.faults.retry_after
        return None

    def wait_for(self, bot_id: int, chat_id: str) -> int:
        """0 if the bot may send to the chat now (a token taken), else retry_after in whole seconds."""
        if not self.config.enforce_limits:
            return 0
        c = self.config
        now = self.now()
        group = chat_id.startswith(("-", "@"))
        buckets = [
            (f"bot:{bot_id}", c.global_per_s, max(1.0, c.global_per_s)),
            (
                f"chat:{bot_id}:{chat_id}",
                c.group_per_minute / 60.0 if group else c.per_chat_per_s,
                float(c.group_per_minute if group else c.chat_burst),
            ),
        ]
        with self._lock:
            for key, rate, burst in buckets:
                bucket = self._buckets.setdefault(key, _Bucket(rate, burst, burst, now))
                wait = bucket.take(now)
                if wait > 0:
                    return max(1, math.ceil(wait))
        return 0

    def record(self, bot_id: int, chat_id: str, text: str, parse_mode: str | None) -> Message:
        with self._lock:
            key = (bot_id, chat_id)
            self._next_id[key] = self._next_id.get(key, 0) + 1
            message = Message(self._next_id[key], bot_id, chat_id, text, int(time.time()), parse_mode)
            self.messages.append(message)
            return message

    def read(self, chat_id: str | None = None) -> list[Message]:
        with self._lock:
            return [m for m in self.messages if chat_id is None or m.chat_id == chat_id]

    def clear(self) -> None:
        with self._lock:
            self.messages.clear()
