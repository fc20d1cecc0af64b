"""Marketplace sandboxes: one FastAPI app factory per marketplace, on the shared ``common`` machinery.

``SANDBOXES`` maps a marketplace to its ``create_app(config: SandboxConfig | None = None) -> FastAPI``.
Factories are imported lazily (a marketplace module that is missing is simply skipped by
``available()``); add a marketplace with one ``_FACTORIES`` line.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from aimanager.domain.enums import Marketplace

_FACTORIES: dict[Marketplace, str] = {
    Marketplace.WILDBERRIES: "aimanager_sandbox.marketplaces.wildberries:create_app",
    Marketplace.OZON: "aimanager_sandbox.marketplaces.ozon:create_app",
    Marketplace.YANDEX: "aimanager_sandbox.marketplaces.yandex:create_app",
    Marketplace.UZUM: "aimanager_sandbox.marketplaces.uzum:create_app",
}


def _load(target: str) -> Callable[..., Any] | None:
    module, _, name = target.partition(":")
    try:
        return getattr(importlib.import_module(module), name)  # type: ignore[no-any-return]
    except ModuleNotFoundError:
        return None


def available() -> dict[Marketplace, Callable[..., Any]]:
    """The sandbox app factories whose modules exist, by marketplace."""
    found = {}
    for marketplace, target in _FACTORIES.items():
        factory = _load(target)
        if factory is not None:
            found[marketplace] = factory
    return found


class _Registry(dict[Marketplace, Callable[..., Any]]):
    """``SANDBOXES[m]`` loads the factory on first access."""

    def __missing__(self, key: Marketplace) -> Callable[..., Any]:
        factory = _load(_FACTORIES[Marketplace(key)])
        if factory is None:
            raise KeyError(key)
        self[key] = factory
        return factory


SANDBOXES: dict[Marketplace, Callable[..., Any]] = _Registry()
