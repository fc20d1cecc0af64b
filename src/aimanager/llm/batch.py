"""The Batch API path: low-priority card work at half price.

Jobs collected over ``batch_window_s`` are cut into packs (as on the real-time path), submitted as one
provider batch (custom id = pack number), polled every ``batch_poll_s`` and mapped back by custom id.
Succeeded packs go through the same per-item parsing, validation and ledger as real-time ones (path
``batch``); errored, expired or missing packs are re-sent through the real-time path.

The path knows its caller only through :class:`BatchOwner` (the card flow implements it), so it does
not import the flow that feeds it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any, Generic, Protocol, TypeVar

from aimanager.errors import LLMError
from aimanager.llm.config import GatewayConfig
from aimanager.llm.errors import SpendCapReached
from aimanager.llm.providers.base import Provider
from aimanager.llm.router import Route
from aimanager.llm.types import BatchOutcome, GatewayStats, ModelRef, ProviderRequest, ProviderResponse
from aimanager.logs import get_logger

log = get_logger(__name__)


class RoutedJob(Protocol):
    """A unit of batch work: all the path reads of it is its route."""

    @property
    def route(self) -> Route: ...


Job = TypeVar("Job", bound=RoutedJob)


class BatchOwner(Protocol[Job]):
    """What the Batch API path needs from the flow that feeds it jobs."""

    def pack_request(self, jobs: list[Job], model: str) -> ProviderRequest:
        """The provider request for one pack of jobs."""
        ...

    async def settle_guarded(
        self, jobs: list[Job], ref: ModelRef, response: ProviderResponse, path: str
    ) -> None:
        """Parse, validate and account an answered pack; never raises."""
        ...

    def resend_realtime(self, jobs: list[Job], reason: str) -> None:
        """Send ``jobs`` through the real-time path instead (``reason`` goes to their notes)."""
        ...

    def stop(self, jobs: list[Job], exc: SpendCapReached) -> None:
        """The provider's spend cap was reached: refuse further work and fail ``jobs`` with ``exc``."""
        ...


class BatchPath(Generic[Job]):
    """Runs collected low-priority jobs through the first batch-capable model of their route."""

    def __init__(
        self,
        owner: BatchOwner[Job],
        providers: Mapping[str, Provider],
        config: GatewayConfig,
        stats: GatewayStats,
    ) -> None:
        self.owner = owner
        self.providers = providers
        self.config = config
        self.stats = stats

    def model_for(self, route: Route) -> ModelRef | None:
        for ref in route.models:
            provider = self.providers.get(ref.provider)
            if provider is not None and provider.supports_batch:
                return ref
        return None

    def available(self, route: Route) -> bool:
        """True if some configured provider of the route has a Batch API."""
        return self.model_for(route) is not None

    async def run(self, key: Any, jobs: list[Job]) -> None:
        """Submit, poll, settle; anything that did not come back succeeded goes real-time.

        ``key`` is the packer's group key (unused: every job of the group shares the route)."""
        owner = self.owner
        ref = self.model_for(jobs[0].route)
        if ref is None:
            owner.resend_realtime(jobs, "no batch-capable provider")
            return
        provider = self.providers[ref.provider]
        size = self.config.pack_size
        packs = {str(n): jobs[i : i + size] for n, i in enumerate(range(0, len(jobs), size))}
        try:
            batch_id = await provider.submit_batch(
                [(cid, owner.pack_request(p, ref.model)) for cid, p in packs.items()]
            )
            self.stats.batch_calls += 1
            log.info("llm.batch.submitted", batch_id=batch_id, requests=len(packs), items=len(jobs))
            deadline = time.monotonic() + self.config.batch_timeout_s
            while not await provider.batch_done(batch_id):
                if time.monotonic() > deadline:
                    raise LLMError(f"batch {batch_id} did not end within {self.config.batch_timeout_s:.0f} s")
                await asyncio.sleep(self.config.batch_poll_s)
            outcomes: list[BatchOutcome] = await provider.batch_results(batch_id)
        except SpendCapReached as exc:
            owner.stop(jobs, exc)
            return
        except (LLMError, NotImplementedError) as exc:
            log.warning("llm.batch.failed", error=str(exc))
            owner.resend_realtime(jobs, f"batch failed ({exc})")
            return
        seen: set[str] = set()
        settles = []
        for outcome in outcomes:
            pack = packs.get(outcome.custom_id)
            if pack is None or outcome.custom_id in seen:
                continue
            seen.add(outcome.custom_id)
            if outcome.response is None:
                log.info("llm.batch.item_failed", custom_id=outcome.custom_id, reason=outcome.error)
                owner.resend_realtime(pack, outcome.error or "errored")
            else:
                settles.append(owner.settle_guarded(pack, ref, outcome.response, "batch"))
        for cid, pack in packs.items():
            if cid not in seen:
                owner.resend_realtime(pack, "missing from the results")
        await asyncio.gather(*settles)
