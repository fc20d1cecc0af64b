"""The narrative is checked like a card: an Uzbek narrative in Cyrillic, or Russian spelled in Latin
letters, is rejected and asked of the next model tier — through the real Anthropic SDK against a
loopback provider that answers each model with a scripted narrative."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from aimanager.llm import Gateway, GatewayConfig, NarrativeRequest
from aimanager.llm.errors import ProviderHTTPError
from aimanager_sandbox.common.serving import BackgroundServer

FACTS = {"revenue": "1250000", "currency": "UZS", "units": 42}
RU = "Выручка за период — 1250000 UZS, продано 42 единицы товара."
UZ_LATIN = "Davr uchun tushum — 1250000 UZS, 42 dona mahsulot sotildi."
UZ_CYRILLIC = "Давр учун тушум — 1250000 UZS, 42 дона маҳсулот сотилди."
UZ_RUSSIAN = (
    "Vyruchka za period — 1250000 UZS, prodano 42 yedinitsy tovara, eto khoroshiy rezultat dlya magazina."
)
ROUTES = """
[tiers.small]
models = ["anthropic:claude-haiku-5-5"]
[tiers.large]
models = ["anthropic:claude-sonnet-5-5"]
[tasks.narrative]
tier = "small"
escalate_to = "large"
max_output_tokens_per_item = 2000
"""


class Script:
    """Per model, the Uzbek text its narrative answer carries; every request is recorded."""

    def __init__(self) -> None:
        self.uz: dict[str, str] = {}
        self.seen: list[str] = []
        self.ids = itertools.count()


def create_app(script: Script) -> Starlette:
    async def messages(request: Request) -> JSONResponse:
        body = await request.json()
        model = body["model"]
        script.seen.append(model)
        text = json.dumps({"ru": RU, "uz": script.uz[model]}, ensure_ascii=False)
        return JSONResponse(
            {
                "id": f"msg_{next(script.ids)}",
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": [{"type": "text", "text": text}],
                "stop_reason": "end_turn",
                "stop_sequence": None,
                "usage": {"input_tokens": 200, "output_tokens": len(text) // 2},
            }
        )

    app = Starlette(routes=[Route("/v1/messages", messages, methods=["POST"])])
    app.state.script = script
    return app


@pytest.fixture
def provider() -> Iterator[tuple[str, Script]]:
    script = Script()
    with BackgroundServer(create_app(script)) as server:
        yield server.base_url, script


async def gateway(url: str, engine: Any, tmp_path: Path) -> Gateway:
    routes = tmp_path / "routes.toml"
    routes.write_text(ROUTES, encoding="utf-8")
    config = GatewayConfig(
        provider="anthropic",
        anthropic_api_key="sk-test",
        anthropic_base_url=url,
        cache_store="none",
        retry_base_delay_s=0.001,
        routes_file=str(routes),
    )
    return await Gateway.create(config, engine)


@pytest.mark.parametrize("bad", [UZ_CYRILLIC, UZ_RUSSIAN], ids=["cyrillic", "russian-in-latin"])
async def test_a_bad_uzbek_narrative_is_rejected_and_escalated(
    provider: tuple[str, Script], engine: Any, tmp_path: Path, bad: str
) -> None:
    url, script = provider
    script.uz = {"claude-haiku-5-5": bad, "claude-sonnet-5-5": UZ_LATIN}
    gw = await gateway(url, engine, tmp_path)
    narrative = await gw.write_narrative(NarrativeRequest(partner_id=1, facts=FACTS))
    assert narrative.uz == UZ_LATIN and narrative.ru == RU
    assert narrative.model == "claude-sonnet-5-5"
    assert script.seen == ["claude-haiku-5-5", "claude-sonnet-5-5"]
    await gw.close()


async def test_no_model_writes_latin_uzbek_the_narrative_fails(
    provider: tuple[str, Script], engine: Any, tmp_path: Path
) -> None:
    url, script = provider
    script.uz = {"claude-haiku-5-5": UZ_CYRILLIC, "claude-sonnet-5-5": UZ_RUSSIAN}
    gw = await gateway(url, engine, tmp_path)
    with pytest.raises(ProviderHTTPError, match="Russian in Latin letters") as caught:
        await gw.write_narrative(NarrativeRequest(partner_id=1, facts=FACTS))
    assert "Vyruchka" in str(caught.value) or "dlya" in str(caught.value)
    assert script.seen == ["claude-haiku-5-5", "claude-sonnet-5-5"]
    await gw.close()


async def test_a_good_narrative_is_taken_at_once(
    provider: tuple[str, Script], engine: Any, tmp_path: Path
) -> None:
    url, script = provider
    script.uz = {"claude-haiku-5-5": UZ_LATIN, "claude-sonnet-5-5": UZ_LATIN}
    gw = await gateway(url, engine, tmp_path)
    narrative = await gw.write_narrative(NarrativeRequest(partner_id=1, facts=FACTS))
    assert (narrative.uz, narrative.model, script.seen) == (
        UZ_LATIN,
        "claude-haiku-5-5",
        ["claude-haiku-5-5"],
    )
    await gw.close()
