"""The alerts' errors, under the product's one root.

AIManagerError
├── AlertError                      branch for alerts
│   └── ChannelError                a channel refused or could not take a message (retried later)
└── ConfigError
    └── ChannelConfigError          a channel's settings or secrets failed validation
"""

from __future__ import annotations

from aimanager.errors import AIManagerError, ConfigError
from aimanager.redact import redact


class AlertError(AIManagerError):
    """Branch for alerts: rules, channels and their deliveries."""


class ChannelError(AlertError):
    """A send failed. ``retry_after`` (seconds) when the service said how long to wait (Telegram's
    ``parameters.retry_after``, a webhook's Retry-After); ``status`` when it answered at all.

    The message is redacted at construction (with the channel's own secrets, passed as ``secrets``):
    it is stored on the delivery and the channel and logged, and a Bot API URL carries the token."""

    def __init__(
        self,
        message: str,
        *,
        secrets: tuple[str, ...] = (),
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(redact(message, *secrets))
        self.status = status
        self.retry_after = retry_after


class ChannelConfigError(ConfigError):
    """A channel's kind, settings or secrets are invalid; the message names the fields."""
