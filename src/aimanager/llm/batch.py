"""The Batch API path: low-priority card work at half price.

Jobs collected over ``batch_window_s`` are cut into packs (as on the real-time path), submitted as one
provider batch (custom id = pack number), polled every ``batch_poll_s`` and mapped back by custom id.
Succeeded packs go through the same per-item parsing, validation and ledger as real-time ones (path
``batch``); errored, expired or missing packs are re-sent through the real-time path.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from aimanager.errors import LLMError
from aimanager.llm.errors import SpendCapReached
from aimanager.llm.router import Route
from aimanager.llm.types import BatchOutcome, ModelRef
from aimanager.logs import get_logger

if TYPE_CHECKING:
    from aimanager.llm.gateway import CardJob, Gateway, PackKey

log = get_logger(__name__)


class BatchPath:
    """Runs collected low-priority jobs through the first batch-capable model of their route."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway

    def model_for(self, route: Route) -> ModelRef | None:
        for ref in route.models:
            provider = self.gateway.providers.get(ref.provider)
            if provider is not None and provider.supports_batch:
                return ref
        return None

    def available(self, route: Route) -> bool:
        """True if some configured provider of the route has a Batch API."""
        return self.model_for(route) is not None

    def _resend(self, jobs: list[CardJob], reason: str) -> None:
        for job in jobs:
            job.notes.append(f"batch: {reason}; re-sent in real time")
            self.gateway.packer.submit((job.request.task_kind, job.route.tier), job)

    async def run(self, key: PackKey, jobs: list[CardJob]) -> None:
        """Submit, poll, settle; anything that did not come back succeeded goes real-time."""
        gw = self.gateway
        ref = self.model_for(jobs[0].route)
        if ref is None:
            self._resend(jobs, "no batch-capable provider")
            return
        provider = gw.providers[ref.provider]
        size = gw.config.pack_size
        packs = {str(n): jobs[i : i + size] for n, i in enumerate(range(0, len(jobs), size))}
        try:
            batch_id = await provider.submit_batch(
                [(cid, gw.pack_request(p, ref.model)) for cid, p in packs.items()]
            )
            gw.stats().batch_calls += 1
            log.info("llm.batch.submitted", batch_id=batch_id, requests=len(packs), items=len(jobs))
            deadline = time.monotonic() + gw.config.batch_timeout_s
            while not await provider.batch_done(batch_id):
                if time.monotonic() > deadline:
                    raise LLMError(f"batch {batch_id} did not end within {gw.config.batch_timeout_s:.0f} s")
                await asyncio.sleep(gw.config.batch_poll_s)
            outcomes: list[BatchOutcome] = await provider.batch_results(batch_id)
        except SpendCapReached as exc:
            gw.caller.stopped = exc
            for job in jobs:
                if not job.future.done():
                    job.future.set_exception(exc)
            return
        except (LLMError, NotImplementedError) as exc:
            log.warning("llm.batch.failed", error=str(exc))
            self._resend(jobs, f"batch failed ({exc})")
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
                self._resend(pack, outcome.error or "errored")
            else:
                settles.append(gw.settle_guarded(pack, ref, outcome.response, "batch"))
        for cid, pack in packs.items():
            if cid not in seen:
                self._resend(pack, "missing from the results")
        await asyncio.gather(*settles)
