"""The ``offline`` provider: the deterministic writer behind the provider protocol, no network, no cost.

Usage is counted with the same estimate the sandbox uses, so the ledger and stats look like a real run
(at zero cost: ``offline-writer`` is priced 0 in ``prices.json``).
"""

from __future__ import annotations

from aimanager.llm import offline as writer
from aimanager.llm.providers.base import RetryEvents
from aimanager.llm.tokens import estimate_tokens
from aimanager.llm.types import BatchOutcome, ProviderRequest, ProviderResponse, Usage


class OfflineProvider:
    """Answers card and narrative prompts locally; has no batch API (nothing to save)."""

    name = "offline"
    supports_batch = False

    async def complete(self, request: ProviderRequest, events: RetryEvents | None = None) -> ProviderResponse:
        """Answer at once with the offline writer's strict JSON. It has no eyes: a photo is answered
        with no attributes (nothing invented), so offline runs extract nothing and cost nothing."""
        text = '{"attributes": []}' if request.images else writer.answer(request.user)
        usage = Usage(
            input_tokens=estimate_tokens(request.system) + estimate_tokens(request.user),
            output_tokens=estimate_tokens(text),
        )
        return ProviderResponse(text=text, usage=usage, model=writer.MODEL, stop_reason="end_turn")

    async def submit_batch(self, requests: list[tuple[str, ProviderRequest]]) -> str:
        raise NotImplementedError("the offline provider has no batch API")

    async def batch_done(self, batch_id: str) -> bool:
        raise NotImplementedError("the offline provider has no batch API")

    async def batch_results(self, batch_id: str) -> list[BatchOutcome]:
        raise NotImplementedError("the offline provider has no batch API")

    async def close(self) -> None:
        return None
