"""The vision tier through the official SDKs' image inputs against the LLM sandbox: image blocks billed
by their pixels like the provider, attributes read from the pixels, cached and ledgered; offline has no
eyes and invents nothing."""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import select

from aimanager.db.models import AIUsageLog
from aimanager.llm import VisionRequest
from aimanager.llm.tokens import image_tokens
from aimanager.llm.types import ImageInput
from aimanager.media.imaging import decode, encode, for_vision
from tests.images import photos

FACTS = {"name": "Набор мячей", "brand": "Qulay", "attributes": {"Цвет": "синий"}}


def request(image: Any, sku: str = "BALLS-3") -> VisionRequest:
    data, width, height = for_vision(decode(encode(image)).image)
    return VisionRequest(1, sku, ImageInput(data, "image/jpeg", width, height), FACTS)


async def test_anthropic_image_blocks_are_read_billed_by_pixels_and_cached(
    make_gateway: Any, engine: Any
) -> None:
    gw = await make_gateway()
    asked = request(photos.pack(3))
    result = await gw.extract_attributes(asked)
    seen = {a.name: a.value for a in result.attributes}
    assert seen["pack_count"] == "3" and seen["color"] == "синий"  # the model repeats the seller's colour
    assert result.path == "realtime" and result.model.startswith("claude")
    again = await gw.extract_attributes(request(photos.pack(3)))
    assert again.path == "cache" and again.attributes == result.attributes
    async with engine.connect() as conn:
        rows = (await conn.execute(select(AIUsageLog).where(AIUsageLog.task_kind == "vision"))).all()
    assert [r.path for r in rows] == ["realtime", "cache"]
    pixels = math.ceil(asked.image.width * asked.image.height / 750)  # 768×768 → 787 tokens
    assert pixels == image_tokens("claude-haiku-5-5", asked.image.width, asked.image.height)
    assert pixels < rows[0].input_tokens < pixels + 700  # the image plus a short prompt
    assert rows[0].cost_usd > 0
    await gw.close()


async def test_openai_image_url_parts_reach_the_same_eyes(make_gateway: Any) -> None:
    gw = await make_gateway(provider="openai")
    result = await gw.extract_attributes(request(photos.box(), sku="BOX-1"))
    assert {a.name: a.value for a in result.attributes}["shape"] == "прямоугольный"
    assert result.model.startswith("gpt")
    await gw.close()


async def test_offline_sees_nothing_and_costs_nothing(make_gateway: Any) -> None:
    gw = await make_gateway(provider="offline")
    result = await gw.extract_attributes(request(photos.mug(), sku="MUG-1"))
    assert result.attributes == [] and gw.stats().cost_usd == 0
    await gw.close()
