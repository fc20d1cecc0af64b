"""The vision flow: a product photo and the seller's facts → attributes the photo shows.

One call per photo on the ``vision`` route (Haiku 5.5 reads images; "vision" need not mean a bigger
model), through the official SDKs' image inputs. Cached by the image's hash + facts + wanted names, so an
unchanged catalog asks nothing twice; every call and cache hit is a ledger row (image tokens are billed
as input tokens); partner budgets apply as for cards. The flow only reports what the model saw: deciding
what may be kept (never a fact the seller gave) is the caller's job (``domain.images.extracted_to_add``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from aimanager.llm.accounting import Accounting
from aimanager.llm.cache import CacheStore, cache_key
from aimanager.llm.calls import Caller
from aimanager.llm.errors import InvalidAnswer, ProviderHTTPError
from aimanager.llm.ledger import Share
from aimanager.llm.router import Router
from aimanager.llm.types import ImageInput, ProviderRequest
from aimanager.llm.vision_prompt import (
    VISION_ATTRIBUTES,
    VISION_PROMPT_VERSION,
    VISION_SYSTEM,
    Extracted,
    parse_vision_answer,
    vision_user_message,
)

VISION_TASK = "vision"


@dataclass(slots=True)
class VisionRequest:
    """One photo to read: ``facts`` are the seller's (name, brand, category, attributes)."""

    partner_id: int
    item_id: str
    image: ImageInput
    facts: dict[str, Any]
    wanted: list[str] = field(default_factory=lambda: list(VISION_ATTRIBUTES))
    task_kind: str = VISION_TASK


@dataclass(slots=True)
class VisionResult:
    """What the model saw (possibly nothing), which model, and whether it came from the cache."""

    item_id: str
    attributes: list[Extracted]
    model: str
    path: str  # realtime | cache


class VisionFlow:
    """Vision calls through the route's models, then its escalation models, until one answers validly."""

    def __init__(
        self, router: Router, caller: Caller, cache: CacheStore | None, accounting: Accounting
    ) -> None:
        self.router = router
        self.caller = caller
        self.cache = cache
        self.accounting = accounting

    async def extract(self, request: VisionRequest) -> VisionResult:
        """Attributes seen in ``request.image``; raises ``CallFailed`` (no model answered),
        ``BudgetExceeded`` or ``ProviderHTTPError`` (answers kept failing the checks)."""
        self.caller.check_open()
        route = self.router.route(request.task_kind, images=True)
        digest = hashlib.sha256(request.image.data).hexdigest()
        key = cache_key(
            request.task_kind, route.tier, VISION_PROMPT_VERSION, [digest, request.facts, request.wanted]
        )
        if self.cache is not None and (hit := (await self.cache.get_many([key])).get(key)):
            data = json.loads(hit)
            await self.accounting.record_cache_hits(
                [(request.partner_id, request.task_kind, data["model"], request.item_id)],
                VISION_PROMPT_VERSION,
            )
            seen = [Extracted(a["name"], a["value"], float(a["confidence"])) for a in data["attributes"]]
            return VisionResult(request.item_id, seen, data["model"], "cache")
        await self.accounting.check_budget(request.partner_id)
        user = vision_user_message(request.facts, request.wanted)
        problem = ""
        for models in (route.models, route.escalation):
            if not models:
                continue

            def build(model: str) -> ProviderRequest:
                return ProviderRequest(
                    model, VISION_SYSTEM, user, route.max_output_tokens_per_item, images=(request.image,)
                )

            item = [(request.partner_id, request.item_id, 1.0)]
            ticket = self.accounting.ticket(request.task_kind, "realtime", item)
            ref, response = await self.caller.call(models, build, priority=1, ticket=ticket)
            await self.accounting.record_call(
                ref,
                response,
                "realtime",
                request.task_kind,
                [Share(request.partner_id, [request.item_id], 1, 1)],
                "ok",
                {"prompt": VISION_PROMPT_VERSION, "image": f"{request.image.width}x{request.image.height}"},
            )
            if response.cut:
                problem = f"cut by max_tokens at {response.usage.output_tokens} tokens"
                continue
            try:
                seen = parse_vision_answer(response.text, request.wanted)
            except InvalidAnswer as exc:
                problem = str(exc)
                continue
            if self.cache is not None:
                value = json.dumps(
                    {
                        "model": response.model,
                        "attributes": [
                            {"name": a.name, "value": a.value, "confidence": a.confidence} for a in seen
                        ],
                    },
                    ensure_ascii=False,
                )
                await self.cache.put_many([(key, value, response.model)])
            return VisionResult(request.item_id, seen, response.model, "realtime")
        raise ProviderHTTPError(f"vision answer unusable: {problem}")
