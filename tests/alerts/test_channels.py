"""Channels against their real other ends: Telegram's 429 and retry_after, STARTTLS and login on SMTP,
no secret in any stored error or log line, and the alerts.check job on a worker."""

from __future__ import annotations

import logging
from datetime import timedelta
from functools import partial
from typing import Any

import pytest
import structlog
from cryptography.fernet import Fernet
from sqlalchemy import select

from aimanager.alerts import ALERTS_CHECK_KIND, check_alerts, run_check_job
from aimanager.alerts.store import save_channel
from aimanager.alerts.tables import AlertChannel, AlertDelivery
from aimanager.db.crypto import CredentialBox
from aimanager.jobs import JobSpec, Registry, SQLBackend, Worker, WorkerConfig
from aimanager.settings import get_settings
from tests.alerts import seed
from tests.alerts.conftest import BOT_TOKEN, CHAT, NOW, Telegram
from tests.alerts.receivers import WebhookReceiver, self_signed, start_smtp

WRONG_TOKEN = "7399999999:AAHwrong-wrong-wrong-wrong-wrong-0001"
ECHOED_TOKEN = "7355555555:AAHechoed-echoed-echoed-echoed-00002"
SMTP_PASSWORD = "smtp-pass-5f3a9c2e71"


async def _acme_needs_input(sessions: Any) -> int:
    async with sessions() as session, session.begin():
        acme, _ = await seed.partners(session)
    await seed.needs_input(sessions, acme.id, "A1", NOW)
    return acme.id


async def test_telegram_429_waits_for_retry_after(
    sessions: Any, box: CredentialBox, telegram: Telegram
) -> None:
    async with sessions() as session, session.begin():
        await save_channel(
            session,
            box,
            name="tg",
            kind="telegram",
            settings={"chat_id": CHAT, "base_url": telegram.url},
            secrets={"bot_token": BOT_TOKEN},
        )
    await _acme_needs_input(sessions)
    telegram.stage(next_429=1, retry_after=7)

    first = await check_alerts(sessions, NOW, box=box)

    assert first.dispatch.retried == 1 and "429" in first.dispatch.errors["tg"]
    assert "retry after 7" in first.dispatch.errors["tg"] and telegram.texts() == []
    async with sessions() as session:
        due = (await session.execute(select(AlertDelivery.next_attempt_at))).scalar_one()
    assert due == NOW + timedelta(seconds=7)  # Telegram's retry_after, not the default backoff
    assert (await check_alerts(sessions, NOW + timedelta(seconds=5), box=box)).dispatch.messages == 0
    assert (await check_alerts(sessions, NOW + timedelta(seconds=7), box=box)).dispatch.messages == 1
    assert len(telegram.texts()) == 1


async def test_email_over_starttls_with_login(sessions: Any, box: CredentialBox, tmp_path: Any) -> None:
    tls, cert = self_signed(tmp_path)
    server = start_smtp(tls=tls, login=("alerts", SMTP_PASSWORD))
    try:
        async with sessions() as session, session.begin():
            await save_channel(
                session,
                box,
                name="mail",
                kind="email",
                settings={
                    "host": "127.0.0.1",
                    "port": server.port,
                    "from": "AI Manager <aim@example.test>",
                    "to": "ops@example.test, cto@example.test",
                    "starttls": True,
                    "username": "alerts",
                    "ca_file": str(cert),
                },
                secrets={"password": SMTP_PASSWORD},
            )
        await _acme_needs_input(sessions)
        report = await check_alerts(sessions, NOW, box=box)
    finally:
        server.controller.stop()

    assert report.dispatch.errors == {} and report.dispatch.messages == 1
    (msg,) = server.inbox.messages
    assert server.inbox.rcpts == [["ops@example.test", "cto@example.test"]]
    assert msg["Subject"].startswith("[AI Manager] WARNING: acme: 1 cards task waiting for input")
    assert "→ aimanager tasks list -p acme -c cards -s needs_input" in msg.get_content()


async def test_no_secret_in_any_stored_error_or_log_line(
    sessions: Any,
    box: CredentialBox,
    telegram: Telegram,
    webhook: WebhookReceiver,
    tmp_path: Any,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    tls, cert = self_signed(tmp_path)
    server = start_smtp(tls=tls, login=("alerts", "the-right-password-0"))
    channels = {
        # A token Telegram does not know: 401.
        "tg-wrong": ({"chat_id": CHAT, "base_url": telegram.url}, {"bot_token": WRONG_TOKEN}, "telegram"),
        # A base URL that reaches a server quoting the request line back — the token is in the path.
        "tg-echo": (
            {"chat_id": CHAT, "base_url": f"{webhook.url}/echo"},
            {"bot_token": ECHOED_TOKEN},
            "telegram",
        ),
        "mail": (
            {
                "host": "127.0.0.1",
                "port": server.port,
                "from": "aim@example.test",
                "to": "ops@example.test",
                "starttls": True,
                "username": "alerts",
                "ca_file": str(cert),
            },
            {"password": SMTP_PASSWORD},  # not the server's: 535
            "email",
        ),
    }
    try:
        async with sessions() as session, session.begin():
            for name, (settings, secrets, kind) in channels.items():
                await save_channel(session, box, name=name, kind=kind, settings=settings, secrets=secrets)
        await _acme_needs_input(sessions)
        caplog.set_level(logging.DEBUG)
        with structlog.testing.capture_logs() as events:
            report = await check_alerts(sessions, NOW, box=box)
            await check_alerts(sessions, NOW + timedelta(minutes=1), box=box)
    finally:
        server.controller.stop()

    errors = report.dispatch.errors
    assert set(errors) == set(channels)
    assert "401: Unauthorized" in errors["tg-wrong"]
    assert "Cannot POST /echo/bot***/sendMessage" in errors["tg-echo"]  # redacted where it was echoed
    assert "SMTPAuthenticationError" in errors["mail"] and "535" in errors["mail"]
    async with sessions() as session:
        stored = [
            *(await session.execute(select(AlertDelivery.last_error))).scalars(),
            *(await session.execute(select(AlertChannel.last_error))).scalars(),
            *(await session.execute(select(AlertChannel.settings))).scalars(),
        ]
        sealed = (await session.execute(select(AlertChannel.secrets_encrypted))).scalars().all()
    texts = [str(s) for s in stored] + [str(e) for e in events] + [r.getMessage() for r in caplog.records]
    texts += list(capsys.readouterr()) + list(errors.values())
    assert any("alerts.send_failed" in t for t in texts)
    for secret in (WRONG_TOKEN, ECHOED_TOKEN, SMTP_PASSWORD, WRONG_TOKEN.split(":")[1]):
        assert not [t for t in texts if secret in t], secret
        assert all(secret.encode() not in s for s in sealed)


async def test_alerts_check_runs_as_a_job_on_a_worker(
    sessions: Any, telegram: Telegram, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The worker opens channel secrets with the process's key, as `aimanager worker` does.
    key = Fernet.generate_key()
    monkeypatch.setenv("AIMANAGER_SECRET_KEY", key.decode())
    get_settings.cache_clear()
    try:
        async with sessions() as session, session.begin():
            await save_channel(
                session,
                CredentialBox(key),
                name="tg",
                kind="telegram",
                settings={"chat_id": CHAT, "base_url": telegram.url},
                secrets={"bot_token": BOT_TOKEN},
            )
        await _acme_needs_input(sessions)
        backend = SQLBackend(sessions.kw["bind"])
        registry = Registry()
        registry.register(ALERTS_CHECK_KIND, partial(run_check_job, sessions), timeout_s=60)
        await backend.enqueue_many([JobSpec(ALERTS_CHECK_KIND, {})])
        metrics = await Worker(backend, registry, WorkerConfig(concurrency=1)).run(until_idle=True)
        (job,) = await backend.list_jobs()
    finally:
        get_settings.cache_clear()

    assert metrics.succeeded == 1 and job.result is not None
    assert job.result["opened"] == 1 and job.result["dispatch"]["messages"] == 1
    (text,) = telegram.texts()
    assert text.startswith("[WARNING] tasks.needs_input\nacme: 1 cards task waiting for input")
