"""Alerts over a migrated database, with every channel's other end running on loopback: the Telegram
sandbox, an SMTP server (aiosmtpd) and a webhook receiver."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet

from aimanager.alerts.store import save_channel
from aimanager.db.crypto import CredentialBox
from aimanager.db.engine import make_engine, session_factory
from aimanager.schema.migrate import upgrade
from aimanager_sandbox.common.serving import BackgroundServer
from aimanager_sandbox.telegram import TelegramConfig, create_app
from tests.alerts.receivers import SMTPServer, WebhookReceiver, start_smtp

BOT_TOKEN = "7312345678:AAHk3v9Qx-Sandbox_Token_0123456789abcd"
CHAT = "424242"
# A fixed moment (the 20th: a month boundary is not what these tests are about).
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture
def box() -> CredentialBox:
    return CredentialBox(Fernet.generate_key())


@pytest.fixture
async def sessions(tmp_path: Path) -> AsyncIterator[Any]:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'alerts.db'}")
    await upgrade(engine)
    try:
        yield session_factory(engine)
    finally:
        await engine.dispose()


@pytest.fixture
async def any_sessions(migrated_engine: Any) -> AsyncIterator[Any]:
    """Sessions on SQLite, then on PostgreSQL."""
    yield session_factory(migrated_engine)


class Telegram:
    def __init__(self, server: BackgroundServer) -> None:
        self.server = server
        self.url = server.base_url
        self.state = server.app.state.sandbox

    def messages(self, chat_id: str = CHAT) -> list[dict[str, Any]]:
        answer = httpx.get(f"{self.url}/_sandbox/messages", params={"chat_id": chat_id}, timeout=10)
        answer.raise_for_status()
        return list(answer.json()["messages"])

    def texts(self, chat_id: str = CHAT) -> list[str]:
        return [m["text"] for m in self.messages(chat_id)]

    def stage(self, **faults: int) -> None:
        httpx.post(f"{self.url}/_sandbox/faults", json=faults, timeout=10).raise_for_status()


@pytest.fixture
def telegram() -> Iterator[Telegram]:
    server = BackgroundServer(create_app(TelegramConfig(tokens={BOT_TOKEN}, chat_burst=100)))
    server.start()
    try:
        yield Telegram(server)
    finally:
        server.stop()


@pytest.fixture
def smtp() -> Iterator[SMTPServer]:
    server = start_smtp()
    try:
        yield server
    finally:
        server.controller.stop()


@pytest.fixture
def webhook() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver().start()
    try:
        yield receiver
    finally:
        receiver.stop()


async def add_channels(
    sessions: Any,
    box: CredentialBox,
    telegram: Telegram,
    smtp: SMTPServer,
    webhook: WebhookReceiver,
    *,
    rate: int = 50,
    **overrides: dict[str, Any],
) -> None:
    """One operator channel of each kind."""
    specs: dict[str, dict[str, Any]] = {
        "tg": {
            "kind": "telegram",
            "settings": {"chat_id": CHAT, "base_url": telegram.url},
            "secrets": {"bot_token": BOT_TOKEN},
        },
        "mail": {
            "kind": "email",
            "settings": {
                "host": "127.0.0.1",
                "port": smtp.port,
                "from": "aim@example.test",
                "to": "ops@example.test",
            },
            "secrets": {},
        },
        "hook": {
            "kind": "webhook",
            "settings": {"url": f"{webhook.url}/alerts"},
            "secrets": {"signing_key": "whsec-0123456789"},
        },
    }
    async with sessions() as session, session.begin():
        for name, spec in specs.items():
            spec = {**spec, **overrides.get(name, {})}
            await save_channel(
                session,
                box,
                name=name,
                kind=spec["kind"],
                settings=spec["settings"],
                secrets=spec["secrets"],
                rate_per_minute=spec.get("rate", rate),
                partner_id=spec.get("partner_id"),
                min_severity=spec.get("min_severity", "info"),
            )
