"""The card flow: cache lookup → budget check → packer (or the Batch API for low-priority work) → one
call per pack through the limiter with fallback → strict per-item parsing and validation → failed items
re-asked alone (validation failures escalate to the larger tier) → ledger rows and cache entries.

An answer cut by ``max_tokens`` keeps every item that closed; only the missing ones are asked again, in
smaller packs with a larger budget per item, never as the request that was just cut (see ``_replan_cut``).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from aimanager.domain.cards import CardDraft
from aimanager.domain.validate import draft_errors
from aimanager.errors import LLMError
from aimanager.llm import prompts
from aimanager.llm.accounting import Accounting
from aimanager.llm.batch import BatchPath
from aimanager.llm.batch_store import BatchStore
from aimanager.llm.budget import OutputBudgets
from aimanager.llm.cache import CacheStore, cache_key
from aimanager.llm.calls import Caller, CallFailed
from aimanager.llm.card_jobs import CardJob, replan_cut, split_again
from aimanager.llm.config import GatewayConfig
from aimanager.llm.errors import BudgetExceeded, ProviderHTTPError, SpendCapReached
from aimanager.llm.ledger_inflight import Ticket
from aimanager.llm.pack_answers import SortedPack, next_steps, partner_shares, sort_answer
from aimanager.llm.packer import Packer, tail_packs
from aimanager.llm.providers.base import Provider
from aimanager.llm.router import Router
from aimanager.llm.tokens import estimate_tokens
from aimanager.llm.types import (
    CardRequest,
    CardResult,
    FailureKind,
    ModelRef,
    ProviderRequest,
    ProviderResponse,
    Usage,
)
from aimanager.logs import get_logger
from aimanager.redact import redact

log = get_logger(__name__)
PackKey = tuple[str, str]  # (task kind, tier)
SETTLED_LOOKS = 5


class CardFlow:
    """Card requests to validated drafts: packs, validation, re-asks, escalation, cache and ledger."""

    def __init__(
        self,
        config: GatewayConfig,
        router: Router,
        caller: Caller,
        cache: CacheStore | None,
        accounting: Accounting,
        providers: Mapping[str, Provider],
        budgets: OutputBudgets,
        batch_store: BatchStore | None = None,
    ) -> None:
        self.config = config
        self.budgets = budgets
        self.router = router
        self.caller = caller
        self.cache = cache
        self.accounting = accounting
        self.stats = accounting.stats
        self.packer: Packer[PackKey, CardJob] = Packer(
            self._run_packs, max_items=config.pack_size, window_s=config.pack_window_s
        )
        self.batch: BatchPath[CardJob] = BatchPath(
            self, providers, config, self.stats, batch_store, learn_limits=caller.learn_limits
        )
        self._validating = asyncio.Lock()
        self._pack_calls = 0  # packs from the packer being asked now (``_run_packs``)
        self.batcher: Packer[PackKey, CardJob] = Packer(
            self.batch.run,
            max_items=config.batch_max_requests * config.pack_size,
            window_s=config.batch_window_s,
        )

    async def generate(self, requests: list[CardRequest]) -> list[CardResult]:
        """One ``CardResult`` per request, in order (see ``Gateway.generate_cards``)."""
        self.caller.check_open()
        loop = asyncio.get_running_loop()
        jobs: list[CardJob] = []
        for request in requests:
            prepared = prompts.prepare_facts(request.facts, max_description=self.config.max_description_chars)
            route = self.router.route(request.task_kind)
            payload = prompts.facts_payload(prepared.facts)
            key = cache_key(request.task_kind, route.tier, prompts.CARD_PROMPT_VERSION, payload)
            job = CardJob(request, prepared, route, key, loop.create_future(), notes=list(prepared.notes))
            job.input_estimate = estimate_tokens(json.dumps(payload))
            jobs.append(job)
        self.stats.items += len(jobs)
        pending = await self._serve_from_cache(jobs)
        admitted: list[CardJob] = []
        for job in pending:
            try:
                await self._reserve(job)
            except BudgetExceeded as exc:
                self.stats.budget_refusals += 1
                self._finish(job, None, "", "realtime", f"{exc}; no LLM call made", "budget")
            else:
                admitted.append(job)
        # Submitted without an await in between, so one caller's items fill packs of their own
        # instead of interleaving with other callers' (a partner's cards then finish together).
        batched: set[int] = set()
        for job in admitted:
            pack_key = (job.request.task_kind, job.route.tier)
            if job.request.priority_low and self.config.batch_enabled and self.batch.available(job.route):
                self.batcher.submit(pack_key, job)
                batched.add(id(job))
            else:
                self.packer.submit(pack_key, job)
        return list(await asyncio.gather(*(self._outcome(job, id(job) in batched) for job in jobs)))

    async def _outcome(self, job: CardJob, batched: bool) -> CardResult:
        """The job's result; for a batched one, "pending" after ``batch_wait_s`` (the batch goes on, and
        its answer lands in the cache and the batch store for the caller's next attempt)."""
        if not batched:
            return await job.future
        try:
            return await asyncio.wait_for(asyncio.shield(job.future), self.config.batch_wait_s)
        except TimeoutError:
            reason = "waiting for a provider batch (asked again later, never submitted twice)"
            return CardResult(
                job.request.item_id, None, "", "batch", reason, notes=job.notes, failure="pending"
            )

    async def drain(self) -> None:
        """Send open packs and wait for every pack in flight, real-time and batch."""
        await self.packer.drain()
        await self.batcher.drain()

    # -- cache --------------------------------------------------------------------------------------------
    async def _serve_from_cache(self, jobs: list[CardJob]) -> list[CardJob]:
        if self.cache is None or not jobs:
            return jobs
        found = await self.cache.get_many(sorted({j.key for j in jobs}))
        pending, hits, stale = [], [], []
        for job in jobs:
            value = found.get(job.key)
            if value is None:
                pending.append(job)
                continue
            data = json.loads(value)
            draft = CardDraft.model_validate(data["draft"])
            if self._problems(job, draft):
                stale.append(job.key)  # a stricter validator than when it was cached: ask again
                pending.append(job)
                continue
            hits.append((job.request.partner_id, job.request.task_kind, data["model"], job.request.item_id))
            self._finish(job, draft, data["model"], "cache", None)
        if stale:
            await self.cache.delete(stale)
        self.stats.cache_hits += len(hits)
        await self.accounting.record_cache_hits(hits, prompts.CARD_PROMPT_VERSION)
        return pending

    # -- packs --------------------------------------------------------------------------------------------
    def _problems(self, job: CardJob, draft: CardDraft) -> list[str]:
        problems = draft_errors(job.prepared.facts, draft)
        if not problems and job.request.validator is not None:
            problems = list(job.request.validator(job.request.facts, draft))
        return problems

    async def _reserve(self, job: CardJob) -> None:
        """Hold the item's estimated cost against its partner's budget (raises ``BudgetExceeded``)."""
        ref = job.route.models[0]
        try:
            price = self.accounting.prices.price(ref.model)
        except LLMError:  # an unpriced model is refused when it is called, with its own message
            return
        start = self.config.max_output_tokens_per_item or job.route.max_output_tokens_per_item
        usage = Usage(
            input_tokens=job.input_estimate + 100,
            output_tokens=self.budgets.per_item(job.request.task_kind, ref.model, start),
        )
        amount = price.cost(usage)
        await self.accounting.budgets.reserve(job.request.partner_id, amount)
        job.reserved = amount

    def _finish(
        self,
        job: CardJob,
        draft: CardDraft | None,
        model: str,
        path: Any,
        error: str | None,
        failure: FailureKind | None = None,
    ) -> None:
        if job.future.done():
            return
        if job.reserved:
            self.accounting.budgets.release(job.request.partner_id, job.reserved)
            job.reserved = Decimal(0)
        if error is not None:
            self.stats.failed_items += 1
            error = redact(error)
        job.future.set_result(
            CardResult(
                job.request.item_id,
                draft,
                model,
                path,
                error,
                job.escalated,
                job.notes,
                failure=(failure or "answer") if error is not None else None,
                rejected_draft=job.last_draft if error is not None else None,
                retry_after_s=job.retry_after if error is not None else None,
            )
        )

    def pack_request(self, jobs: list[CardJob], model: str) -> ProviderRequest:
        """The provider request for a pack of jobs (pack-local ids "1".."n")."""
        items = [(str(i + 1), job.prepared.facts) for i, job in enumerate(jobs)]
        per_item = self._per_item(jobs, model)
        max_tokens = self.budgets.max_tokens(per_item, len(jobs), model)
        for job in jobs:
            job.asked_per_item, job.asked_max_tokens = max_tokens // len(jobs), max_tokens
        return ProviderRequest(model, prompts.CARD_SYSTEM, prompts.card_user_message(items), max_tokens)

    def pack_ticket(self, jobs: list[CardJob], path: str) -> Ticket:
        """The in-flight ledger rows of one pack's call (split by the same weights as its booking)."""
        items = [(j.request.partner_id, j.request.item_id, float(j.input_estimate + 50)) for j in jobs]
        return self.accounting.ticket(jobs[0].request.task_kind, path, items, {"pack": len(jobs)})

    def _per_item(self, jobs: list[CardJob], model: str) -> int:
        """The observed budget per item; for items that were cut before, more than they were cut at."""
        start = self.config.max_output_tokens_per_item or jobs[0].route.max_output_tokens_per_item
        per_item = self.budgets.per_item(jobs[0].request.task_kind, model, start, len(jobs))
        per_item = max(per_item, *(job.min_per_item for job in jobs))
        return min(per_item, self.budgets.call_cap(model))

    async def from_cache_or_resend(self, jobs: list[CardJob], reason: str) -> None:
        """Jobs whose batch pack another caller settled: answered from the cache, or sent in real time."""
        # The winner may be writing the answers right now (in another process): look a few times.
        for _ in range(SETTLED_LOOKS):
            jobs = await self._serve_from_cache(jobs)
            if not jobs:
                return
            await asyncio.sleep(min(1.0, self.config.batch_poll_s))
        for job in jobs:
            job.notes.append(f"batch: {reason}; not in the cache, re-sent in real time")
            self.packer.submit((job.request.task_kind, job.route.tier), job)

    def resend_realtime(self, jobs: list[CardJob], reason: str) -> None:
        """Jobs the Batch API did not answer go through the real-time path at once, in small packs: their
        caller has waited out the batch already, and a full pack of them would be a full pack's call."""
        for job in jobs:
            job.notes.append(f"batch: {reason}; re-sent in real time")
        for pack in tail_packs(jobs, self.config.pack_size):
            self.packer.send_now((pack[0].request.task_kind, pack[0].route.tier), pack)

    def stop(self, jobs: list[CardJob], exc: SpendCapReached) -> None:
        """The spend cap stops the gateway: every later call raises ``exc``, and so do these jobs."""
        self.caller.stopped = exc
        for job in jobs:
            if not job.future.done():
                job.future.set_exception(exc)

    async def _run_packs(self, key: PackKey, jobs: list[CardJob]) -> None:
        """A pack from the packer, asked in smaller calls while the limits have room for more calls
        than run (``Caller.spare_calls``): the same tokens, in parallel, so sooner."""
        models = jobs[0].route.escalation if jobs[0].escalated else jobs[0].route.models
        spare = self.caller.spare_calls(models[0], self._pack_calls) if len(jobs) > 1 else 0
        pieces = tail_packs(jobs, len(jobs), calls=spare) if spare > 1 else [jobs]
        self._pack_calls += len(pieces)  # counted now: packs flushed together each see the others
        try:
            await asyncio.gather(*(self._run_pack(key, piece) for piece in pieces))
        finally:
            self._pack_calls -= len(pieces)

    async def _run_pack(self, key: PackKey, jobs: list[CardJob]) -> None:
        models = jobs[0].route.escalation if jobs[0].escalated else jobs[0].route.models
        try:
            ref, response = await self.caller.call(
                models,
                lambda m: self.pack_request(jobs, m),
                ticket=self.pack_ticket(jobs, "realtime"),
                # A re-ask ends work under way (its caller holds its other cards until it is back):
                # ahead of fresh packs in the limits' queue, not behind minutes of them.
                priority=0 if any(job.reasks or job.cuts for job in jobs) else 1,
            )
        except SpendCapReached as exc:
            self.stop(jobs, exc)
            return
        except (CallFailed, ProviderHTTPError) as exc:
            reason = exc.reason if isinstance(exc, CallFailed) else str(exc)
            wait = exc.retry_after if isinstance(exc, CallFailed) else None
            for job in jobs:
                job.retry_after = wait
                self._finish(job, None, "", "realtime", f"LLM call failed: {reason}", "call")
            return
        except Exception as exc:  # a bug must fail the items loudly, not hang their futures
            log.exception("llm.pack.crashed")
            for job in jobs:
                self._finish(job, None, "", "realtime", f"internal error: {exc!r}", "internal")
            return
        await self.settle_guarded(jobs, ref, response, "realtime")

    async def settle_guarded(
        self, jobs: list[CardJob], ref: ModelRef, response: ProviderResponse, path: str
    ) -> None:
        """``settle_pack``, but an unexpected error (ledger or cache store down) fails the items instead of
        leaving their futures pending forever."""
        try:
            await self.settle_pack(jobs, ref, response, path)
        except Exception as exc:
            log.exception("llm.pack.settle_failed", model=str(ref))
            for job in jobs:
                error = f"internal error after the call: {exc!r}"
                self._finish(job, None, response.model, path, error, "internal")

    async def settle_pack(
        self, jobs: list[CardJob], ref: ModelRef, response: ProviderResponse, path: str
    ) -> None:
        """Parse and validate each item of an answered pack; ledger, cache, re-ask what failed."""
        # One pack validated at a time (first come first served), so when many answers land together
        # (a batch's results) the first packs' re-asks leave at once instead of after all of them.
        async with self._validating:
            sorted_pack = await sort_answer(jobs, response.text, response.cut, ref.model, self._problems)
        good, cut = sorted_pack.good, sorted_pack.cut
        self._learn(jobs, ref, response, sorted_pack.answered)
        if response.cut:
            self.stats.salvaged_items += len(good) + len(sorted_pack.escalate)
        escalated = jobs[0].escalated  # this call's (``next_steps`` marks the jobs for their next one)
        steps = next_steps(sorted_pack, response.model)
        self.stats.escalations += steps.escalations
        cut_packs = self._replan_cut(cut, len(jobs), ref, response.model, path) if cut else []
        self.stats.reasked_items += len(steps.retries) + sum(len(p) for p in cut_packs)
        # Re-asks leave before this pack's ledger and cache writes: those queue for the database behind
        # every handler writing cards (seconds, as a batch's results land), and a re-ask is what its job
        # still waits for. Alone, so a hostile or confusing neighbour cannot spoil the second try.
        reasks = asyncio.gather(
            *(self._run_pack((job.request.task_kind, job.route.tier), [job]) for job in steps.retries),
            *(self._run_pack((p[0].request.task_kind, p[0].route.tier), p) for p in cut_packs),
        )
        try:
            cost = await self._book(jobs, ref, response, path, sorted_pack)
            if escalated:
                self.stats.escalation_usd += cost
            for job, error, failure in steps.failed:
                self._finish(job, None, response.model, path, error, failure)
        finally:
            await reasks

    async def _book(
        self,
        jobs: list[CardJob],
        ref: ModelRef,
        response: ProviderResponse,
        path: str,
        pack: SortedPack,
    ) -> Decimal:
        """The pack's call in the ledger (its cost returned), its good cards in the cache and handed to
        their callers."""
        good = pack.good
        outcome = "ok" if len(good) == len(jobs) else "partial"
        cut_detail = {"cut_at_max_tokens": jobs[0].asked_max_tokens, "cut_items": len(pack.cut)}
        cost = await self.accounting.record_call(
            ref,
            response,
            path,
            jobs[0].request.task_kind,
            partner_shares(jobs, pack.outputs),
            outcome,
            {
                "pack": len(jobs),
                "call_id": uuid.uuid4().hex,
                "failed": len(jobs) - len(good),
                "prompt": prompts.CARD_PROMPT_VERSION,
                **(cut_detail if response.cut else {}),
            },
        )
        if self.cache is not None and good:
            await self.cache.put_many(
                (
                    job.key,
                    json.dumps(
                        {"draft": d.model_dump(mode="json"), "model": response.model}, ensure_ascii=False
                    ),
                    response.model,
                )
                for job, d in good
            )
        for job, draft in good:
            self._finish(job, draft, response.model, path, None)
        return cost

    def _learn(self, jobs: list[CardJob], ref: ModelRef, response: ProviderResponse, answered: int) -> None:
        """Feed the output budget: tokens per answered item, or a lower bound from a cut answer."""
        output = response.usage.output_tokens
        if response.cut:
            # The complete items and the one being written when the answer stopped used all of it.
            self.budgets.observe(jobs[0].request.task_kind, ref.model, output / (answered + 1), len(jobs))
        elif answered:
            self.budgets.observe(jobs[0].request.task_kind, ref.model, output / answered, len(jobs))

    def _replan_cut(
        self, cut: list[CardJob], pack_size: int, ref: ModelRef, served_by: str, path: str
    ) -> list[list[CardJob]]:
        """Packs to re-ask the items a cut answer did not reach (see ``card_jobs.replan_cut``); the items
        that cannot be asked again fail with the budget they were cut at."""
        again, spent = replan_cut(cut, ref.model, self.budgets.call_cap(ref.model))
        for job, reason in spent:
            self._finish(job, None, served_by, path, f"no complete answer: {reason}")
        if not again:
            return []
        per_item = self._per_item(again, ref.model)
        return split_again(again, pack_size, per_item, self.budgets.call_cap(ref.model))
