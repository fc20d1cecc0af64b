"""Typed marketplace accounts: what opens one (credentials) and how to talk to it (settings).

Each marketplace package defines its two models in its ``config.py`` on the bases here
(``OzonCredentials``/``OzonSettings`` …); ``registry.parse_account`` turns a stored or typed-in pair
of mappings into a validated ``MarketplaceAccount`` and ``registry.make_connector`` builds the
connector from it. Validation fails with ``AccountConfigError`` naming the marketplace and the fields.

The one rule for "which credential opens which account" lives on the credentials model:

* ``account_key()`` — the identifier the marketplace files the account under (Ozon: the Client-Id;
  WB, Yandex Market, Uzum: the token itself, so it is a secret there);
* ``fingerprint()`` — a short hash of that key: the limiter key every connector of the account
  shares (the marketplaces count their limits per account), safe to log.

Secrets are ``SecretStr``: they never appear in ``repr``, ``str`` or logs; ``revealed()`` gives the
plain values only to the code that seals them at rest or puts them into request headers.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr, StringConstraints

from aimanager.domain.enums import Marketplace


def _not_blank(secret: SecretStr) -> SecretStr:
    value = secret.get_secret_value().strip()
    if not value:
        raise ValueError("must not be blank")
    return SecretStr(value)


Secret = Annotated[SecretStr, AfterValidator(_not_blank)]
"""A secret value: surrounding whitespace dropped (a pasted token's newline), blank refused."""

PublicId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
"""A non-secret identifier (a client id, a warehouse id); numbers are taken as their digits."""


class MarketplaceCredentials(BaseModel, ABC):
    """What opens one seller account. Subclasses set ``marketplace`` and implement ``account_key``."""

    model_config = ConfigDict(frozen=True, extra="forbid", coerce_numbers_to_str=True)

    marketplace: ClassVar[Marketplace]

    @abstractmethod
    def account_key(self) -> str:
        """The identifier the marketplace knows the account by (a secret where it is the token)."""

    def fingerprint(self) -> str:
        """A short stable hash of the account: the key for its shared limiters, never the secret."""
        blob = f"{self.marketplace.value}\x00{self.account_key()}"
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def revealed(self) -> dict[str, str]:
        """Every field as a plain string, to seal at rest. Never log the result."""
        return {
            name: value.get_secret_value() if isinstance(value, SecretStr) else str(value)
            for name, value in self
        }


class ConnectorSettings(BaseModel):
    """Settings every connector reads; each marketplace adds its own (and its own defaults).

    Times are marketplace seconds except ``timeout``: ``time_scale`` is wall seconds per marketplace
    second (tests run the sandboxes at ~0.01). ``base_url`` replaces the production host(s) for this
    account (a proxy); ``make_connector``'s ``base_url`` argument, when given, wins over it.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", coerce_numbers_to_str=True)

    marketplace: ClassVar[Marketplace]

    time_scale: float = Field(default=1.0, gt=0)
    timeout: float = Field(default=30.0, gt=0, description="per-request timeout, wall seconds")
    retry_attempts: int = Field(default=5, ge=1)
    poll_interval: float = Field(default=5.0, gt=0, description="between polls of an async task")
    task_timeout: float = Field(default=1800.0, gt=0, description="how long wait_task follows a task")
    base_url: str | None = None


class WarehouseSettings(ConnectorSettings):
    """Settings of a marketplace whose stock is per seller warehouse (WB, Ozon)."""

    warehouse_id: PublicId | None = Field(default=None, description="default: the account's first warehouse")


@dataclass(frozen=True)
class MarketplaceAccount:
    """A validated pair for one seller account; build it with ``registry.parse_account``."""

    credentials: MarketplaceCredentials
    settings: ConnectorSettings

    def __post_init__(self) -> None:
        if self.credentials.marketplace is not self.settings.marketplace:
            raise ValueError(
                f"{self.credentials.marketplace.value} credentials with "
                f"{self.settings.marketplace.value} settings"
            )

    @property
    def marketplace(self) -> Marketplace:
        return self.credentials.marketplace

    def stored_settings(self) -> dict[str, Any]:
        """The settings as given (normalised, defaults left out), as JSON for the integration row."""
        return self.settings.model_dump(mode="json", exclude_unset=True)
