"""Connector factory and the per-marketplace registry.

Each marketplace package exposes, at module level:

* ``CREDENTIALS`` / ``SETTINGS`` — its typed account models (``<marketplace>/config.py``);
* ``from_config(credentials, settings, base_url, transport) -> Connector`` — build a connector from
  those models;
* ``BULK_PROFILE: BulkProfile`` — its write batching and limits (for the BENCHMARKS.md table).

Adding a marketplace = one line in ``_MODULES``. Modules are imported lazily so that a marketplace
whose package is not there yet only fails when it is used.

Building a connector is two steps, so that a bad account fails where it is typed in, not on first use::

    account = parse_account(Marketplace.OZON, {"client_id": "123", "api_key": "…"}, {"vat": "0.2"})
    conn = make_connector(account, base_url=None)  # production host; tests pass the sandbox URL
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from types import ModuleType
from typing import Any

import httpx
from pydantic import BaseModel, ValidationError

from aimanager.connectors.base import Connector
from aimanager.connectors.config import ConnectorSettings, MarketplaceAccount, MarketplaceCredentials
from aimanager.connectors.errors import AccountConfigError
from aimanager.connectors.ratelimit import BulkProfile, LimitStore, using_store
from aimanager.domain.enums import Marketplace
from aimanager.errors import ConfigError

_MODULES: dict[Marketplace, str] = {
    Marketplace.WILDBERRIES: "aimanager.connectors.wildberries",
    Marketplace.OZON: "aimanager.connectors.ozon",
    Marketplace.YANDEX: "aimanager.connectors.yandex",
    Marketplace.UZUM: "aimanager.connectors.uzum",
}


def _marketplace(value: Marketplace | str) -> Marketplace:
    try:
        return Marketplace(value)
    except ValueError:
        raise ConfigError(f"no connector for marketplace {value!r}") from None


def _module(marketplace: Marketplace) -> ModuleType:
    try:
        return importlib.import_module(_MODULES[marketplace])
    except (KeyError, ModuleNotFoundError) as exc:
        raise ConfigError(f"no connector for marketplace {marketplace.value!r}") from exc


def _problems(part: str, error: ValidationError) -> dict[str, str]:
    """``{"credentials.api_key": "is required", …}`` — locations and reasons, never input values."""
    problems: dict[str, str] = {}
    for item in error.errors(include_input=False, include_url=False):
        field = ".".join(str(p) for p in (part, *item["loc"]))
        if item["type"] == "missing":
            why = "is required"
        elif item["type"] == "extra_forbidden":
            why = "is not a known field"
        else:
            why = item["msg"].removeprefix("Value error, ")
        problems[field] = why
    return problems


def _validate(model: type[BaseModel], part: str, marketplace: Marketplace, data: Mapping[str, Any]) -> Any:
    try:
        return model.model_validate(dict(data))
    except ValidationError as exc:
        # ``from None``: a ValidationError's own text would show the input values, secrets included.
        raise AccountConfigError(marketplace.value, _problems(part, exc)) from None


def parse_credentials(
    marketplace: Marketplace | str, credentials: Mapping[str, Any]
) -> MarketplaceCredentials:
    """Validate ``credentials`` with ``marketplace``'s model (``AccountConfigError`` naming the fields).

    WB ``{"token"}``; Ozon ``{"client_id", "api_key"}``; Yandex Market ``{"api_key"}``; Uzum ``{"token"}``.
    """
    market = _marketplace(marketplace)
    found: MarketplaceCredentials = _validate(_module(market).CREDENTIALS, "credentials", market, credentials)
    return found


def parse_account(
    marketplace: Marketplace | str,
    credentials: Mapping[str, Any],
    settings: Mapping[str, Any] | None = None,
) -> MarketplaceAccount:
    """Validate an account's credentials and settings; every problem of both is reported at once."""
    market = _marketplace(marketplace)
    module = _module(market)
    problems: dict[str, str] = {}
    parsed: list[Any] = []
    for model, part, data in (
        (module.CREDENTIALS, "credentials", credentials),
        (module.SETTINGS, "settings", settings or {}),
    ):
        try:
            parsed.append(_validate(model, part, market, data))
        except AccountConfigError as exc:
            problems.update(exc.problems)
    if problems:
        raise AccountConfigError(market.value, problems)
    creds, typed_settings = parsed
    assert isinstance(creds, MarketplaceCredentials) and isinstance(typed_settings, ConnectorSettings)
    return MarketplaceAccount(credentials=creds, settings=typed_settings)


def make_connector(
    account: MarketplaceAccount,
    base_url: str | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    *,
    limit_store: LimitStore | None = None,
) -> Connector:
    """Build the connector for a validated ``account`` (see ``parse_account``).

    ``base_url`` replaces the production host(s) — tests point it at a sandbox — and wins over the
    account's ``settings.base_url``; ``transport`` is handed to httpx unchanged. ``limit_store``: share
    the account's rate limits with every process using the same store (``shared_limits``); without
    one they are this process's only.
    """
    module = _module(account.marketplace)
    with using_store(limit_store):
        connector: Connector = module.from_config(
            account.credentials, account.settings, base_url or account.settings.base_url, transport
        )
    return connector


def bulk_profiles() -> list[BulkProfile]:
    """``BULK_PROFILE`` of every marketplace whose connector package is present, in enum order."""
    profiles = []
    for marketplace in Marketplace:
        try:
            module = _module(marketplace)
        except ConfigError:
            continue
        profile = getattr(module, "BULK_PROFILE", None)
        if profile is not None:
            profiles.append(profile)
    return profiles
