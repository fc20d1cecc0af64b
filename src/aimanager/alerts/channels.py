"""Channels: Telegram (Bot API), e-mail (SMTP) and webhooks — their settings, secrets and senders.

A channel row keeps its non-secret settings in clear and its secrets sealed (``CredentialBox``); both
are validated here, per kind, with pydantic (``parse_channel``), so a bad channel fails when it is
added, naming its fields. ``make_sender`` opens a row into a ``Sender``; every secret it opens is
registered with ``aimanager.redact`` at once, and every error a sender raises is a ``ChannelError``
with the secrets already removed from its text.

* Telegram: ``POST {base_url}/bot<token>/sendMessage`` with ``chat_id`` and plain ``text`` (no parse
  mode: an alert's text needs no escaping then). A 429 carries ``parameters.retry_after``.
* E-mail: the standard library's ``smtplib`` in a thread (one message per connection; alerts are
  few), STARTTLS and login optional, ``ca_file`` to trust a private CA.
* Webhook: ``POST`` of JSON; with a ``signing_key`` the body's HMAC-SHA256 goes in
  ``X-AIManager-Signature: sha256=<hex>``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any, Protocol

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from aimanager.alerts.errors import ChannelConfigError, ChannelError
from aimanager.alerts.tables import Alert, AlertChannel
from aimanager.db.crypto import CredentialBox
from aimanager.redact import redact, register

KINDS = ("telegram", "email", "webhook")
TELEGRAM_TEXT_LIMIT = 4096
SEND_TIMEOUT_S = 30.0
USER_AGENT = "aimanager-alerts/1"


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class TelegramSettings(_Settings):
    chat_id: str = Field(min_length=1)  # a number, or @channelname
    base_url: str = "https://api.telegram.org"


class TelegramSecrets(_Settings):
    bot_token: SecretStr


class EmailSettings(_Settings):
    host: str = Field(min_length=1)
    port: int = Field(587, ge=1, le=65535)
    sender: str = Field(alias="from", min_length=3)
    to: list[str] = Field(min_length=1)
    starttls: bool = False
    username: str | None = None
    ca_file: str | None = None  # a private CA to trust for STARTTLS (default: the system's)

    @field_validator("to", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        return [v.strip() for v in value.split(",") if v.strip()] if isinstance(value, str) else value


class EmailSecrets(_Settings):
    password: SecretStr | None = None


class WebhookSettings(_Settings):
    url: str = Field(pattern=r"^https?://")


class WebhookSecrets(_Settings):
    signing_key: SecretStr | None = None


MODELS: dict[str, tuple[type[_Settings], type[_Settings]]] = {
    "telegram": (TelegramSettings, TelegramSecrets),
    "email": (EmailSettings, EmailSecrets),
    "webhook": (WebhookSettings, WebhookSecrets),
}


@dataclass(frozen=True)
class ParsedChannel:
    kind: str
    settings: dict[str, Any]  # stored in clear
    secrets: dict[str, str]  # sealed


def parse_channel(kind: str, settings: dict[str, Any], secrets: dict[str, str]) -> ParsedChannel:
    """Validate a channel's settings and secrets for ``kind``; ``ChannelConfigError`` names each bad
    field (never a secret's value)."""
    if kind not in MODELS:
        raise ChannelConfigError(f"unknown channel kind {kind!r}; one of {', '.join(KINDS)}")
    settings_model, secrets_model = MODELS[kind]
    problems: list[str] = []
    parsed_settings = parsed_secrets = None
    try:
        parsed_settings = settings_model.model_validate(settings)
    except ValidationError as exc:
        problems += [f"setting {_loc(e)}: {e['msg']}" for e in exc.errors()]
    try:
        parsed_secrets = secrets_model.model_validate(secrets)
    except ValidationError as exc:
        problems += [f"secret {_loc(e)}: {e['msg']}" for e in exc.errors()]
    if problems or parsed_settings is None or parsed_secrets is None:
        raise ChannelConfigError(f"{kind} channel: " + "; ".join(problems))
    revealed = {
        k: v.get_secret_value() if isinstance(v, SecretStr) else v for k, v in parsed_secrets if v is not None
    }
    return ParsedChannel(kind, parsed_settings.model_dump(mode="json", by_alias=True), revealed)


def _loc(error: Any) -> str:
    return ".".join(str(p) for p in error["loc"]) or "(all)"


# -- messages -----------------------------------------------------------------------------------------
def alert_text(alert: Alert) -> str:
    return f"[{alert.severity.upper()}] {alert.rule}\n{alert.message}\n→ {alert.action}"


def digest_text(alerts: Sequence[Alert], rate_per_minute: int) -> str:
    head = (
        f"[DIGEST] {len(alerts)} more alerts (this channel sends at most {rate_per_minute} messages a minute)"
    )
    lines = [
        f"• [{a.severity.upper()}] {a.rule}: {a.message.splitlines()[0][:300]}\n  → {a.action}"
        for a in alerts
    ]
    return "\n".join([head, *lines])


def alert_json(alert: Alert) -> dict[str, Any]:
    return {
        "id": alert.id,
        "rule": alert.rule,
        "partner_id": alert.partner_id,
        "key": alert.dedup_key,
        "severity": alert.severity,
        "message": alert.message,
        "action": alert.action,
        "first_seen": alert.first_seen.isoformat(),
        "last_seen": alert.last_seen.isoformat(),
        "count": alert.count,
    }


def subject_of(alerts: Sequence[Alert], digest: bool) -> str:
    if digest:
        return f"[AI Manager] digest: {len(alerts)} alerts"
    first = alerts[0]
    return f"[AI Manager] {first.severity.upper()}: {first.message.splitlines()[0][:120]}"


# -- senders ------------------------------------------------------------------------------------------
class Sender(Protocol):
    async def send(self, alerts: Sequence[Alert], *, digest: bool, rate_per_minute: int) -> None:
        """Deliver one message holding ``alerts`` (one alert, or a digest); ``ChannelError`` if not."""


class _RedactRecords(logging.Filter):
    """httpx logs every request's URL at INFO ("HTTP Request: POST …/bot<token>/sendMessage"), and
    the Bot API puts the token in the path: registered secrets are cut from those records."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        cleaned = redact(text)
        if cleaned != text:
            record.msg, record.args = cleaned, None
        return True


_REDACT_RECORDS = _RedactRecords()


def guard_http_logs() -> None:
    """Install the filter on httpx's loggers (once per process)."""
    for name in ("httpx", "httpcore"):
        logger = logging.getLogger(name)
        if _REDACT_RECORDS not in logger.filters:
            logger.addFilter(_REDACT_RECORDS)


class TelegramSender:
    def __init__(self, settings: TelegramSettings, token: str) -> None:
        self.settings = settings
        self._token = token
        register(token)
        guard_http_logs()

    def __repr__(self) -> str:
        return f"TelegramSender(chat_id={self.settings.chat_id!r}, token=***)"

    async def send(self, alerts: Sequence[Alert], *, digest: bool, rate_per_minute: int) -> None:
        text = digest_text(alerts, rate_per_minute) if digest else alert_text(alerts[0])
        if len(text) > TELEGRAM_TEXT_LIMIT:
            text = text[: TELEGRAM_TEXT_LIMIT - 1] + "…"
        url = f"{self.settings.base_url.rstrip('/')}/bot{self._token}/sendMessage"
        body = {"chat_id": self.settings.chat_id, "text": text, "link_preview_options": {"is_disabled": True}}
        secrets = (self._token,)
        try:
            async with httpx.AsyncClient(timeout=SEND_TIMEOUT_S, headers={"user-agent": USER_AGENT}) as c:
                response = await c.post(url, json=body)
        except httpx.HTTPError as exc:
            raise ChannelError(f"telegram: {type(exc).__name__}: {exc}", secrets=secrets) from None
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        if response.status_code == 200 and isinstance(answer, dict) and answer.get("ok") is True:
            return
        description = answer.get("description") if isinstance(answer, dict) else None
        params = answer.get("parameters") if isinstance(answer, dict) else None
        retry_after = params.get("retry_after") if isinstance(params, dict) else None
        raise ChannelError(
            f"telegram answered {response.status_code}: {description or response.text[:200]}",
            secrets=secrets,
            status=response.status_code,
            retry_after=float(retry_after) if isinstance(retry_after, int | float) else None,
        )


class EmailSender:
    def __init__(self, settings: EmailSettings, password: str | None) -> None:
        self.settings = settings
        self._password = password

    def __repr__(self) -> str:
        return f"EmailSender(host={self.settings.host!r}, port={self.settings.port}, password=***)"

    async def send(self, alerts: Sequence[Alert], *, digest: bool, rate_per_minute: int) -> None:
        msg = EmailMessage()
        msg["Subject"] = subject_of(alerts, digest)
        msg["From"] = self.settings.sender
        msg["To"] = ", ".join(self.settings.to)
        msg["Date"] = formatdate(localtime=False, usegmt=True)
        msg["Message-ID"] = make_msgid(domain="aimanager.alerts")
        msg.set_content(digest_text(alerts, rate_per_minute) if digest else alert_text(alerts[0]))
        secrets = tuple(s for s in (self._password,) if s)
        try:
            # smtplib blocks: a thread keeps the worker's loop (claims, heartbeats) running meanwhile.
            await asyncio.to_thread(self._send_blocking, msg)
        except (smtplib.SMTPException, OSError, ssl.SSLError) as exc:
            code = getattr(exc, "smtp_code", None)
            raise ChannelError(
                f"smtp {self.settings.host}:{self.settings.port}: {type(exc).__name__}: {exc}",
                secrets=secrets,
                status=code if isinstance(code, int) else None,
            ) from None

    def _send_blocking(self, msg: EmailMessage) -> None:
        s = self.settings
        with smtplib.SMTP(s.host, s.port, timeout=SEND_TIMEOUT_S) as smtp:
            smtp.ehlo()
            if s.starttls:
                smtp.starttls(context=ssl.create_default_context(cafile=s.ca_file))
                smtp.ehlo()
            if s.username:
                smtp.login(s.username, self._password or "")
            smtp.send_message(msg)


class WebhookSender:
    def __init__(self, settings: WebhookSettings, signing_key: str | None) -> None:
        self.settings = settings
        self._key = signing_key

    def __repr__(self) -> str:
        return f"WebhookSender(url={self.settings.url!r}, signing_key=***)"

    async def send(self, alerts: Sequence[Alert], *, digest: bool, rate_per_minute: int) -> None:
        event = "digest" if digest else "alert"
        body = json.dumps(
            {"event": event, "alerts": [alert_json(a) for a in alerts]}, separators=(",", ":")
        ).encode()
        headers = {"content-type": "application/json", "user-agent": USER_AGENT, "x-aimanager-event": event}
        if self._key:
            digest_hex = hmac.new(self._key.encode(), body, hashlib.sha256).hexdigest()
            headers["x-aimanager-signature"] = f"sha256={digest_hex}"
        secrets = tuple(s for s in (self._key,) if s)
        try:
            async with httpx.AsyncClient(timeout=SEND_TIMEOUT_S) as client:
                response = await client.post(self.settings.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise ChannelError(f"webhook: {type(exc).__name__}: {exc}", secrets=secrets) from None
        if 200 <= response.status_code < 300:
            return
        retry_after = response.headers.get("retry-after", "")
        raise ChannelError(
            f"webhook answered {response.status_code}: {response.text[:200]}",
            secrets=secrets,
            status=response.status_code,
            retry_after=float(retry_after) if retry_after.isdigit() else None,
        )


def open_secrets(row: AlertChannel, box: CredentialBox | None) -> dict[str, str]:
    """The channel's secrets in clear (registered with ``redact`` before they are returned)."""
    if row.secrets_encrypted is None:
        return {}
    if box is None:
        raise ChannelConfigError(f"channel {row.name!r} has secrets but no key to open them")
    secrets = {k: str(v) for k, v in box.open(row.secrets_encrypted).items()}
    register(*secrets.values())
    return secrets


def make_sender(row: AlertChannel, box: CredentialBox | None) -> Sender:
    """The sender of a stored channel."""
    parsed = parse_channel(row.kind, dict(row.settings or {}), open_secrets(row, box))
    if parsed.kind == "telegram":
        return TelegramSender(TelegramSettings.model_validate(parsed.settings), parsed.secrets["bot_token"])
    if parsed.kind == "email":
        return EmailSender(EmailSettings.model_validate(parsed.settings), parsed.secrets.get("password"))
    return WebhookSender(WebhookSettings.model_validate(parsed.settings), parsed.secrets.get("signing_key"))


def describe_target(row: AlertChannel) -> str:
    """Where a channel sends, for listings (no secret)."""
    s = row.settings or {}
    if row.kind == "telegram":
        return f"chat {s.get('chat_id')}"
    if row.kind == "email":
        return f"{', '.join(s.get('to', []))} via {s.get('host')}:{s.get('port')}"
    return str(s.get("url"))
