"""Fixtures: one sandbox per marketplace on loopback, for a test module; each test uses fresh accounts."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from aimanager.domain.enums import Marketplace
from aimanager_sandbox.common.sandbox import SandboxConfig
from aimanager_sandbox.common.serving import BackgroundServer
from aimanager_sandbox.marketplaces import SANDBOXES

SCALE = 0.01  # wall seconds per marketplace second


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[Marketplace, tuple[Any, str]]]:
    """``{marketplace: (app, base URL)}`` for every marketplace sandbox, stopped after the module."""
    running: dict[Marketplace, tuple[Any, str]] = {}
    started: list[BackgroundServer] = []
    try:
        for mp in Marketplace:
            app = SANDBOXES[mp](SandboxConfig(time_scale=SCALE))
            server = BackgroundServer(app)
            running[mp] = (app, server.start())
            started.append(server)
        yield running
    finally:
        for server in started:
            server.stop()
