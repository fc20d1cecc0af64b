"""Fixtures: the LLM sandbox on a loopback port (time-scaled) and gateways pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from aimanager.db.engine import make_engine
from aimanager.domain.cards import ProductFacts
from aimanager.llm import Gateway, GatewayConfig
from aimanager.schema.migrate import upgrade
from aimanager_sandbox.common.serving import BackgroundServer
from aimanager_sandbox.llm import PERFECT, SandboxConfig, SandboxState, create_app

# A kind model: real token counts, realistic cards and latency (0.5-1 s to the first token, 100-200
# tokens/s) at 1/1000 of the time, but no imperfect answers, no injected faults, no lost batch items;
# limits are off unless a test sets them; a batch takes 50 sandbox seconds (50 ms).
KIND_MODEL: dict[str, Any] = {
    **PERFECT,
    "time_scale": 0.001,
    "rpm": None,
    "itpm": None,
    "otpm": None,
    "batch_seconds": 50.0,
}


@pytest.fixture
def sandbox() -> Iterator[tuple[str, SandboxState]]:
    app = create_app(SandboxConfig(**KIND_MODEL))
    with BackgroundServer(app) as server:
        yield server.base_url, app.state.sandbox


@pytest.fixture
async def engine(sqlite_url: str) -> AsyncIterator[Any]:
    engine = make_engine(sqlite_url)
    await upgrade(engine)
    yield engine
    await engine.dispose()


@pytest.fixture
def make_gateway(sandbox: tuple[str, SandboxState], engine: Any) -> Any:
    url, _ = sandbox
    made: list[Gateway] = []

    async def factory(**overrides: Any) -> Gateway:
        values: dict[str, Any] = dict(
            provider="anthropic",
            anthropic_api_key="sk-sandbox",
            anthropic_base_url=url,
            openai_api_key="sk-sandbox",
            openai_base_url=url + "/v1",
            retry_base_delay_s=0.001,
            pack_window_s=0.02,
            batch_poll_s=0.01,
            batch_window_s=0.02,
        )
        values.update(overrides)
        gw = await Gateway.create(GatewayConfig(**values), engine)
        made.append(gw)
        return gw

    yield factory
    # Gateways are closed by the tests that need it; the event loop is gone here.


def product(sku: str, **extra: Any) -> ProductFacts:
    """A plain product with numbers in its facts (so cards may quote them)."""
    values: dict[str, Any] = dict(
        sku=sku,
        name=f"Термокружка Arctic {sku}",
        brand="Arctic",
        category="Посуда",
        description="Держит тепло до 6 часов. Объём 450 мл.",
        attributes={"Объём": "450 мл", "Материал": "сталь"},
    )
    values.update(extra)
    return ProductFacts(**values)
