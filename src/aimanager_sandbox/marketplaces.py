"""The four marketplace sandboxes by marketplace: ``SANDBOXES[m]`` is that marketplace's
``create_app(config: SandboxConfig | None = None) -> FastAPI``.

Each marketplace is a package beside this module (``wildberries/``, ``ozon/``, ``yandex/``, ``uzum/``);
add a marketplace with one line here.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI

from aimanager.domain.enums import Marketplace
from aimanager_sandbox import ozon, uzum, wildberries, yandex
from aimanager_sandbox.common.sandbox import SandboxConfig

SANDBOXES: dict[Marketplace, Callable[[SandboxConfig | None], FastAPI]] = {
    Marketplace.WILDBERRIES: wildberries.create_app,
    Marketplace.OZON: ozon.create_app,
    Marketplace.YANDEX: yandex.create_app,
    Marketplace.UZUM: uzum.create_app,
}
