"""Connector factory and the per-marketplace registry.

Each marketplace package exposes, at module level:

* ``from_config(credentials, settings, base_url, transport) -> Connector`` — build a connector;
* ``BULK_PROFILE: BulkProfile`` — its write batching and limits (for the BENCHMARKS.md table).

Adding a marketplace = one line in ``_MODULES``. Modules are imported lazily so that a marketplace
whose package is not there yet only fails when it is used.

Common ``settings`` keys (each connector documents its own extra ones):

* ``time_scale`` (float, default 1.0): wall seconds per marketplace second; tests use ~0.01;
* ``timeout`` (float, default 30): per-request timeout in wall seconds;
* ``retry_attempts`` (int, default 5); ``task_timeout`` (marketplace seconds to follow a task);
* ``poll_interval`` (marketplace seconds between task polls).
"""

from __future__ import annotations

import hashlib
import importlib
from typing import Any

import httpx

from aimanager.connectors.base import Connector
from aimanager.connectors.ratelimit import BulkProfile
from aimanager.domain.enums import Marketplace
from aimanager.errors import ConfigError

_MODULES: dict[Marketplace, str] = {
    Marketplace.WILDBERRIES: "aimanager.connectors.wildberries",
    Marketplace.OZON: "aimanager.connectors.ozon",
    Marketplace.YANDEX: "aimanager.connectors.yandex",
    Marketplace.UZUM: "aimanager.connectors.uzum",
}


def _module(marketplace: Marketplace) -> Any:
    try:
        return importlib.import_module(_MODULES[Marketplace(marketplace)])
    except (KeyError, ModuleNotFoundError) as exc:
        raise ConfigError(f"no connector for marketplace {marketplace!r}") from exc


def make_connector(
    marketplace: Marketplace | str,
    credentials: dict[str, str],
    settings: dict[str, Any] | None = None,
    base_url: str | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Connector:
    """Build the connector for ``marketplace``.

    ``credentials``: WB ``{"token"}``; Ozon ``{"client_id", "api_key"}``; YM ``{"api_key"}``; Uzum
    ``{"token"}`` (see each package). ``base_url`` replaces the production host(s) — tests point it at
    a sandbox; ``transport`` is handed to httpx unchanged.
    """
    module = _module(Marketplace(marketplace))
    factory = getattr(module, "from_config", None)
    if factory is None:
        raise ConfigError(f"connector package for {marketplace!r} has no from_config()")
    connector: Connector = factory(credentials, dict(settings or {}), base_url, transport)
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


def credential_fingerprint(credentials: dict[str, str]) -> str:
    """A short stable hash of an account's credentials: a key for shared limiters, never the secret."""
    blob = "\x00".join(f"{k}={credentials[k]}" for k in sorted(credentials))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]
