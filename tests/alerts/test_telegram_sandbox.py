"""The Telegram sandbox answers like the Bot API: its envelope, its errors, its rate limits."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from aimanager_sandbox.common.serving import BackgroundServer
from aimanager_sandbox.telegram import TelegramConfig, create_app
from tests.alerts.conftest import BOT_TOKEN

OTHER_TOKEN = "7300000001:AAHother-other-other-other-other-000"


@pytest.fixture
def bot() -> Iterator[str]:
    # Slow refill (one message per 1000 s in a private chat), so the limit is met by the third message.
    config = TelegramConfig(
        tokens={BOT_TOKEN}, chats={"42", "43", "-100500", "@alerts"}, blocked_chats={"42"}
    )
    config.per_chat_per_s, config.chat_burst = 0.001, 2
    with BackgroundServer(create_app(config)) as server:
        yield server.base_url


def call(base: str, token: str, method: str, **kwargs: object) -> httpx.Response:
    return httpx.post(f"{base}/bot{token}/{method}", timeout=10, **kwargs)  # type: ignore[arg-type]


def test_send_message_answers_the_message(bot: str) -> None:
    answer = call(bot, BOT_TOKEN, "sendMessage", json={"chat_id": -100500, "text": "stock low"})
    assert answer.status_code == 200
    body = answer.json()
    assert body["ok"] is True
    result = body["result"]
    assert result["message_id"] == 1 and result["text"] == "stock low" and isinstance(result["date"], int)
    assert result["chat"] == {"id": -100500, "title": "Alerts", "type": "supergroup"}
    assert result["from"]["is_bot"] is True and result["from"]["id"] == 7312345678
    # A form body and a channel username work as on Telegram; the method name is case-insensitive.
    form = call(bot, BOT_TOKEN, "SENDMESSAGE", data={"chat_id": "@alerts", "text": "second"})
    assert form.json()["result"]["chat"]["type"] == "channel"
    me = httpx.get(f"{bot}/bot{BOT_TOKEN}/getMe", timeout=10).json()
    assert me["ok"] and me["result"]["is_bot"] and me["result"]["username"].endswith("_bot")

    seen = httpx.get(f"{bot}/_sandbox/messages", timeout=10).json()["messages"]
    assert [(m["chat_id"], m["text"]) for m in seen] == [("-100500", "stock low"), ("@alerts", "second")]
    assert all(BOT_TOKEN not in str(m) for m in seen)
    only = httpx.get(f"{bot}/_sandbox/messages", params={"chat_id": "@alerts"}, timeout=10).json()
    assert [m["text"] for m in only["messages"]] == ["second"]


@pytest.mark.parametrize(
    ("token", "body", "status", "description"),
    [
        (OTHER_TOKEN, {"chat_id": -100500, "text": "x"}, 401, "Unauthorized"),
        ("not-a-token", {"chat_id": -100500, "text": "x"}, 404, "Not Found"),
        (BOT_TOKEN, {"text": "x"}, 400, "Bad Request: chat_id is empty"),
        (BOT_TOKEN, {"chat_id": -100500}, 400, "Bad Request: message text is empty"),
        (BOT_TOKEN, {"chat_id": -100500, "text": "x" * 4097}, 400, "Bad Request: message is too long"),
        (BOT_TOKEN, {"chat_id": 777, "text": "x"}, 400, "Bad Request: chat not found"),
        (BOT_TOKEN, {"chat_id": 42, "text": "x"}, 403, "Forbidden: bot was blocked by the user"),
    ],
)
def test_errors_keep_the_bot_api_envelope(
    bot: str, token: str, body: dict[str, object], status: int, description: str
) -> None:
    answer = call(bot, token, "sendMessage", json=body)
    assert answer.status_code == status
    assert answer.json() == {"ok": False, "error_code": status, "description": description}


def test_rate_limit_and_staged_faults_answer_429_with_retry_after(bot: str) -> None:
    for _ in range(2):
        assert call(bot, BOT_TOKEN, "sendMessage", json={"chat_id": 43, "text": "x"}).status_code == 200
    limited = call(bot, BOT_TOKEN, "sendMessage", json={"chat_id": 43, "text": "x"})
    assert limited.status_code == 429
    body = limited.json()
    assert body["error_code"] == 429 and body["description"].startswith("Too Many Requests: retry after ")
    assert 990 <= body["parameters"]["retry_after"] <= 1000

    staged = httpx.post(f"{bot}/_sandbox/faults", json={"next_429": 1, "retry_after": 3}, timeout=10)
    assert staged.json()["next_429"] == 1
    answer = call(bot, BOT_TOKEN, "sendMessage", json={"chat_id": -100500, "text": "x"})
    assert answer.status_code == 429 and answer.json()["parameters"] == {"retry_after": 3}
    assert call(bot, BOT_TOKEN, "sendMessage", json={"chat_id": -100500, "text": "x"}).status_code == 200
    stats = httpx.get(f"{bot}/_sandbox/stats", timeout=10).json()
    assert stats["answers"] == {"200": 3, "429": 2} and stats["messages"] == 3
