"""Fixtures: marketplace sandboxes on loopback ports, run on a small time scale."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from aimanager_sandbox.common.sandbox import Sandbox, SandboxConfig
from aimanager_sandbox.common.serving import BackgroundServer

# Wall seconds per marketplace second: a "1 request/min" window lasts 0.3 s, a 30 s cooldown 0.15 s.
SCALE = 0.005


@dataclass
class Running:
    """A started sandbox: its app, its ``Sandbox`` state and base URL."""

    app: Any
    url: str

    @property
    def sandbox(self) -> Sandbox:
        return self.app.state.sandbox  # type: ignore[no-any-return]


def start(factory: Any, **config: Any) -> Iterator[Running]:
    """Start ``factory(SandboxConfig(**config))`` on a free loopback port for the duration."""
    config.setdefault("time_scale", SCALE)
    app = factory(SandboxConfig(**config))
    with BackgroundServer(app) as server:
        yield Running(app=app, url=server.base_url)


def settings(**extra: Any) -> dict[str, Any]:
    """Connector settings matching the sandbox clock: polls every 2 s, 2 s wall timeout."""
    return {"time_scale": SCALE, "poll_interval": 2.0, "timeout": 2.0, **extra}


@pytest.fixture
def token() -> str:
    """A fresh seller token (fresh state and fresh buckets in the sandbox)."""
    return f"tok-{uuid.uuid4().hex}"
