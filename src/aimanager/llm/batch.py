"""The Batch API path: low-priority card work at half price.

Jobs collected over ``batch_window_s`` are cut into packs (as on the real-time path), submitted as one
provider batch (custom id = pack number), polled at a share of its age (``poll_interval``) and mapped
back by custom id. Succeeded packs go through the same per-item parsing, validation and ledger as
real-time ones (path ``batch``); errored, expired or missing packs are re-sent through the real-time
path at once, in small packs (``resend_realtime``): a full pack's call would add minutes to the tail.

A batch is durable from submission (``batch_store``): items already in an unsettled batch are never
submitted again — their pack is polled, in this process once however many callers wait for it, and
settled by the one caller that claims it (so billed once); a caller that loses the claim takes the
items from the cache the winner filled.

The path knows its caller only through :class:`BatchOwner` (the card flow implements it), so it does
not import the flow that feeds it.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from typing import Any, Generic, Protocol, TypeVar

from aimanager.errors import LLMError
from aimanager.llm import prompts
from aimanager.llm.batch_store import BatchStore
from aimanager.llm.config import GatewayConfig
from aimanager.llm.errors import SpendCapReached
from aimanager.llm.ledger_inflight import Ticket, batch_key, drop_tickets, link_tickets, open_tickets
from aimanager.llm.providers.base import Provider
from aimanager.llm.router import Route
from aimanager.llm.types import BatchOutcome, GatewayStats, ModelRef, ProviderRequest, ProviderResponse
from aimanager.logs import get_logger

log = get_logger(__name__)


class RoutedJob(Protocol):
    """A unit of batch work: the path reads its route and its cache key."""

    @property
    def route(self) -> Route: ...

    @property
    def key(self) -> str: ...


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

    async def from_cache_or_resend(self, jobs: list[Job], reason: str) -> None:
        """Answer ``jobs`` from the cache (another caller settled their pack), the rest in real time."""
        ...

    def pack_ticket(self, jobs: list[Job], path: str) -> Ticket:
        """The in-flight ledger rows of one pack's request (see ``ledger_inflight``)."""
        ...


class BatchPath(Generic[Job]):
    """Runs collected low-priority jobs through the first batch-capable model of their route."""

    def __init__(
        self,
        owner: BatchOwner[Job],
        providers: Mapping[str, Provider],
        config: GatewayConfig,
        stats: GatewayStats,
        store: BatchStore | None = None,
        learn_limits: Callable[[ModelRef], Awaitable[None]] | None = None,
    ) -> None:
        self.owner = owner
        self.providers = providers
        self.config = config
        self.stats = stats
        self.store = store
        # A batch's leftovers go out in real time the moment it ends: the model's real-time limits are
        # learned while it runs, so they leave paced at once, not held behind a probe (a batch call
        # brings no rate-limit headers back).
        self.learn_limits = learn_limits
        self._learning: set[asyncio.Future[None]] = set()
        self._polls: dict[str, asyncio.Task[list[BatchOutcome]]] = {}
        # Packs being settled by a caller in this process, done when their answers are in the cache. A
        # second caller here (a job's next look while the first still follows the batch) waits for it:
        # looking in the cache a few times and then re-sending in real time billed those cards twice,
        # since settling a large batch's packs one at a time takes longer than those looks.
        self._settling: dict[tuple[str, str], asyncio.Future[None]] = {}

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
        """Follow the open batches that already hold some of ``jobs``; submit the rest as a new batch.

        ``key`` is the packer's group key (unused: every job of the group shares the route)."""
        ref = self.model_for(jobs[0].route)
        if ref is None:
            self.owner.resend_realtime(jobs, "no batch-capable provider")
            return
        adopted: dict[str, dict[str, list[Job | None]]] = {}
        fresh = jobs
        if self.store is not None:
            by_key = {job.key: job for job in jobs}
            for pack in await self.store.open_packs(ref.provider, ref.model, set(by_key)):
                adopted.setdefault(pack.batch_id, {})[pack.custom_id] = [
                    by_key.pop(k, None) for k in pack.item_keys
                ]
            fresh = list(by_key.values())
            if adopted:
                log.info("llm.batch.resumed", batches=len(adopted), items=len(jobs) - len(fresh))
        work = [self._follow(ref, batch_id, packs) for batch_id, packs in adopted.items()]
        if fresh:
            work.append(self._submit(ref, fresh))
        await asyncio.gather(*work)

    async def _submit(self, ref: ModelRef, jobs: list[Job]) -> None:
        provider = self.providers[ref.provider]
        size = self.config.pack_size
        packs = {str(n): jobs[i : i + size] for n, i in enumerate(range(0, len(jobs), size))}
        requests = [(cid, self.owner.pack_request(p, ref.model)) for cid, p in packs.items()]
        tickets = {cid: self.owner.pack_ticket(p, "batch") for cid, p in packs.items()}
        try:  # in the ledger (pending, at worst case) before the provider has the batch
            await open_tickets(ref, tickets, requests)
        except Exception as exc:  # not submitted: the real-time path reports the ledger's error per item
            await drop_tickets(tickets, exc)
            self.owner.resend_realtime(jobs, f"batch not submitted: {exc!r}")
            return
        try:
            batch_id = await provider.submit_batch(requests)
        except SpendCapReached as exc:
            await drop_tickets(tickets, exc)
            self.owner.stop(jobs, exc)
            return
        except (LLMError, NotImplementedError) as exc:
            await drop_tickets(tickets, exc)
            log.warning("llm.batch.failed", error=str(exc))
            self.owner.resend_realtime(jobs, f"batch failed ({exc})")
            return
        await link_tickets(batch_id, tickets)
        self.stats.batch_calls += 1
        log.info("llm.batch.submitted", batch_id=batch_id, requests=len(packs), items=len(jobs))
        if self.store is not None:
            await self.store.record(
                batch_id, ref.provider, ref.model, {cid: [j.key for j in p] for cid, p in packs.items()}
            )
        await self._follow(ref, batch_id, {cid: list(p) for cid, p in packs.items()})

    async def _outcomes(self, ref: ModelRef, batch_id: str) -> list[BatchOutcome]:
        """Results of ``batch_id``, polled once in this process however many callers wait for them."""
        task = self._polls.get(batch_id)
        if task is None:
            task = self._polls[batch_id] = asyncio.ensure_future(self._poll(ref, batch_id))
            task.add_done_callback(lambda _: self._polls.pop(batch_id, None))
        return await asyncio.shield(task)

    async def _poll(self, ref: ModelRef, batch_id: str) -> list[BatchOutcome]:
        provider = self.providers[ref.provider]
        if self.learn_limits is not None:
            learning = asyncio.ensure_future(self.learn_limits(ref))
            self._learning.add(learning)
            learning.add_done_callback(self._learning.discard)
        started = time.monotonic()
        deadline = started + self.config.batch_timeout_s
        while not await provider.batch_done(batch_id):
            if time.monotonic() > deadline:
                raise LLMError(f"batch {batch_id} did not end within {self.config.batch_timeout_s:.0f} s")
            await asyncio.sleep(poll_interval(time.monotonic() - started, self.config))
        return await provider.batch_results(batch_id)

    async def _follow(self, ref: ModelRef, batch_id: str, packs: dict[str, list[Job | None]]) -> None:
        """Wait for ``batch_id`` and settle the packs we hold jobs of (``None``: an item of that pack
        that nobody here asked for)."""
        present = [job for pack in packs.values() for job in pack if job is not None]
        try:
            outcomes = await self._outcomes(ref, batch_id)
        except SpendCapReached as exc:
            self.owner.stop(present, exc)
            return
        except (LLMError, NotImplementedError) as exc:
            log.warning("llm.batch.failed", batch_id=batch_id, error=str(exc))
            self.owner.resend_realtime(present, f"batch failed ({exc})")
            return
        results = {o.custom_id: o for o in outcomes}
        held = [cid for cid, pack in packs.items() if any(job is not None for job in pack)]
        here = {cid: self._settling[(batch_id, cid)] for cid in held if (batch_id, cid) in self._settling}
        mine = [cid for cid in held if cid not in here]
        loop = asyncio.get_running_loop()
        for cid in mine:
            self._settling[(batch_id, cid)] = loop.create_future()
        try:
            claimed = set(mine) if self.store is None else await self.store.claim_many(batch_id, mine)
        except BaseException:
            self._settled(batch_id, mine)
            raise
        self._settled(batch_id, [cid for cid in mine if cid not in claimed])
        settles = []
        for cid, pack in packs.items():
            jobs = [job for job in pack if job is not None]
            if not jobs:
                continue
            outcome = results.get(cid)
            if cid in here:
                settles.append(self._after(here[cid], jobs))
            elif cid not in claimed:
                settles.append(self.owner.from_cache_or_resend(jobs, "settled by another caller"))
            elif outcome is None:
                await self.owner.pack_ticket(jobs, "batch").adopt(batch_key(batch_id, cid)).drop()
                self.owner.resend_realtime(jobs, "missing from the results")
            elif outcome.response is None:
                await self.owner.pack_ticket(jobs, "batch").adopt(batch_key(batch_id, cid)).drop()
                log.info("llm.batch.item_failed", custom_id=cid, reason=outcome.error)
                self.owner.resend_realtime(jobs, outcome.error or "errored")
            else:
                response = outcome.response
                if len(jobs) != len(pack):
                    response = _only(outcome.response, [job is not None for job in pack])
                # Its booking settles the pack's pending rows, whichever process opened them.
                self.owner.pack_ticket(jobs, "batch").adopt(batch_key(batch_id, cid)).answered(response)
                settles.append(self.owner.settle_guarded(jobs, ref, response, "batch"))
        try:
            await asyncio.gather(*settles)
        finally:
            self._settled(batch_id, [cid for cid in mine if cid in claimed])

    def _settled(self, batch_id: str, cids: list[str]) -> None:
        for cid in cids:
            done = self._settling.pop((batch_id, cid), None)
            if done is not None and not done.done():
                done.set_result(None)

    async def _after(self, settling: asyncio.Future[None], jobs: list[Job]) -> None:
        """Jobs of a pack another caller in this process is settling: answered from the cache once it
        has (or in real time if it could not answer them)."""
        await asyncio.shield(settling)
        await self.owner.from_cache_or_resend(jobs, "settled by another caller here")


def poll_interval(age_s: float, config: GatewayConfig) -> float:
    """Seconds until the next poll of a batch polled for ``age_s``: a share of its age, so its end is
    seen within about that share of its turnaround (a 60-second batch within ~3 s, a 6-hour one within
    ``batch_poll_s``), kept between ``batch_poll_min_s`` and ``batch_poll_s``."""
    return min(config.batch_poll_s, max(config.batch_poll_min_s, config.batch_poll_share * age_s))


def _only(response: ProviderResponse, kept: list[bool]) -> ProviderResponse:
    """``response`` with only the items at the ``kept`` positions, numbered again from 1 (a pack some of
    whose items nobody here waits for any more: they were answered another way meanwhile)."""
    parsed = prompts.parse_card_answer(response.text, [str(i + 1) for i in range(len(kept))])
    values = [value for value, keep in zip(parsed.values(), kept, strict=True) if keep]
    items = [
        {"id": str(n + 1), "card": value.model_dump(mode="json")}
        for n, value in enumerate(values)
        if not isinstance(value, str)
    ]
    return replace(response, text=json.dumps({"items": items}, ensure_ascii=False))
