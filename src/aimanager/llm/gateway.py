"""The LLM gateway: the one door every LLM call of AI Manager goes through.

``generate_cards`` → cache lookup → budget check → packer (or the Batch API for low-priority work) →
one call per pack through the limiter with fallback → strict per-item parsing and validation → failed
items re-asked alone (validation failures escalate to the larger tier) → ledger rows and cache entries.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from aimanager.domain.cards import CardDraft
from aimanager.llm import prompts
from aimanager.llm.cache import CacheStore, RedisCacheStore, SQLCacheStore, cache_key
from aimanager.llm.calls import Caller, CallFailed
from aimanager.llm.config import GatewayConfig
from aimanager.llm.errors import BudgetExceeded, GatewayClosed, ProviderHTTPError, SpendCapReached
from aimanager.llm.ledger import Budgets, Ledger, LedgerRow, Share, split_call
from aimanager.llm.limiter import AdaptiveConcurrency, MemoryBuckets, RateLimiter, RedisBuckets
from aimanager.llm.packer import Packer
from aimanager.llm.prices import PriceTable, default_prices
from aimanager.llm.providers.base import Provider, RetryPolicy
from aimanager.llm.router import Route, Router, load_routes
from aimanager.llm.tokens import estimate_tokens
from aimanager.llm.types import (
    CardRequest,
    CardResult,
    GatewayStats,
    ModelRef,
    Narrative,
    NarrativeRequest,
    ProviderRequest,
    ProviderResponse,
    Usage,
)
from aimanager.llm.validation import check_card, numbers_in
from aimanager.logs import get_logger
from aimanager.retry import Backoff

log = get_logger(__name__)
PackKey = tuple[str, str]  # (task kind, tier)


@dataclass(slots=True)
class CardJob:
    """One card request on its way through the gateway."""

    request: CardRequest
    prepared: prompts.PreparedFacts
    route: Route
    key: str
    future: asyncio.Future[CardResult]
    reasks: int = 0
    escalated: bool = False
    notes: list[str] = field(default_factory=list)


def build_providers(config: GatewayConfig) -> dict[str, Provider]:
    """Provider instances for every configured provider name."""
    from aimanager.llm.providers.offline import OfflineProvider

    policy = RetryPolicy(
        config.max_retries, Backoff(base=config.retry_base_delay_s, cap=8.0), config.max_retry_after_s
    )
    providers: dict[str, Provider] = {}
    for name in config.providers:
        if name == "offline":
            providers[name] = OfflineProvider()
        elif name == "anthropic":
            from aimanager.llm.providers.anthropic import AnthropicProvider

            providers[name] = AnthropicProvider(
                api_key=config.anthropic_api_key,
                base_url=config.anthropic_base_url,
                policy=policy,
                timeout=config.request_timeout_s,
            )
        elif name == "openai":
            from aimanager.llm.providers.openai import OpenAIProvider

            providers[name] = OpenAIProvider(
                api_key=config.openai_api_key,
                base_url=config.openai_base_url,
                policy=policy,
                timeout=config.request_timeout_s,
            )
    return providers


class Gateway:
    """Cards and narratives through packing, caching, limits, fallback, batches and the ledger."""

    def __init__(
        self,
        config: GatewayConfig,
        engine: AsyncEngine,
        *,
        providers: dict[str, Provider],
        cache: CacheStore | None,
        limiter: RateLimiter,
        prices: PriceTable,
    ) -> None:
        self.config = config
        self.engine = engine
        self.prices = prices
        self.cache = cache
        self._stats = GatewayStats()
        self.router = Router.from_config(
            load_routes(config.routes_file),
            config.providers,
            task_overrides=config.task_overrides,
            tier_overrides=config.tier_overrides,
            cooldown_s=config.cooldown_s,
        )
        self.concurrency = AdaptiveConcurrency(config.concurrency_initial, maximum=config.concurrency_max)
        self.caller = Caller(providers, self.router, limiter, self.concurrency, self._stats)
        self.providers = providers
        self.limiter = limiter
        self.ledger = Ledger(engine)
        self.budgets = Budgets(engine, config.budget_refresh_s)
        self.packer: Packer[PackKey, CardJob] = Packer(
            self._run_pack, max_items=config.pack_size, window_s=config.pack_window_s
        )
        from aimanager.llm.batch import BatchPath

        self.batch = BatchPath(self)
        self.batcher: Packer[PackKey, CardJob] = Packer(
            self.batch.run,
            max_items=config.batch_max_requests * config.pack_size,
            window_s=config.batch_window_s,
        )

    @classmethod
    async def create(cls, config: GatewayConfig, engine: AsyncEngine) -> Gateway:
        """A gateway over ``engine`` (the ledger, budgets and the SQL cache live there)."""
        ttl = timedelta(days=config.cache_ttl_days) if config.cache_ttl_days else None
        cache: CacheStore | None = None
        if config.cache_store == "sql":
            cache = SQLCacheStore(engine, ttl)
        elif config.cache_store == "redis":
            if not config.redis_url:
                from aimanager.errors import ConfigError

                raise ConfigError("cache_store 'redis' needs redis_url (AIMANAGER_REDIS_URL)")
            cache = RedisCacheStore(config.redis_url, config.redis_prefix + "cache:", ttl)
        use_redis = config.limiter_store == "redis" or (config.limiter_store is None and config.redis_url)
        buckets = (
            RedisBuckets(config.redis_url, config.redis_prefix + "bucket:")
            if use_redis and config.redis_url
            else MemoryBuckets()
        )
        limiter = RateLimiter(buckets, dict(config.limits), config.limiter_burst_seconds)
        return cls(
            config,
            engine,
            providers=build_providers(config),
            cache=cache,
            limiter=limiter,
            prices=default_prices(),
        )

    # -- public API ---------------------------------------------------------------------------------------
    def stats(self) -> GatewayStats:
        """Counters since the gateway was created: calls, items, tokens, cost, cache hits, fallbacks."""
        return self._stats

    async def generate_cards(self, requests: list[CardRequest]) -> list[CardResult]:
        """One ``CardResult`` per request, in order. Raises ``SpendCapReached`` if the provider's spend
        cap stops the run; a partner over its own budget only gets ``error`` results."""
        self.caller.check_open()
        loop = asyncio.get_running_loop()
        jobs: list[CardJob] = []
        for request in requests:
            prepared = prompts.prepare_facts(request.facts, max_description=self.config.max_description_chars)
            route = self.router.route(request.task_kind)
            key = cache_key(
                request.task_kind,
                route.tier,
                prompts.CARD_PROMPT_VERSION,
                prompts.facts_payload(prepared.facts),
            )
            jobs.append(
                CardJob(request, prepared, route, key, loop.create_future(), notes=list(prepared.notes))
            )
        self._stats.items += len(jobs)
        pending = await self._serve_from_cache(jobs)
        refused: dict[int, BudgetExceeded] = {}
        for partner_id in dict.fromkeys(job.request.partner_id for job in pending):
            try:
                await self.budgets.check(partner_id)
            except BudgetExceeded as exc:
                refused[partner_id] = exc
        # Submitted without an await in between, so one caller's items fill packs of their own
        # instead of interleaving with other callers' (a partner's cards then finish together).
        for job in pending:
            if (refusal := refused.get(job.request.partner_id)) is not None:
                self._stats.budget_refusals += 1
                self._finish(job, None, "", "realtime", str(refusal))
                continue
            pack_key = (job.request.task_kind, job.route.tier)
            if job.request.priority_low and self.config.batch_enabled and self.batch.available(job.route):
                self.batcher.submit(pack_key, job)
            else:
                self.packer.submit(pack_key, job)
        return list(await asyncio.gather(*(job.future for job in jobs)))

    async def write_narrative(self, request: NarrativeRequest) -> Narrative:
        """Narrative text from metrics, cached and ledgered like cards (not packed: one per report)."""
        self.caller.check_open()
        route = self.router.route(request.task_kind)
        key = cache_key(
            request.task_kind,
            route.tier,
            prompts.NARRATIVE_PROMPT_VERSION,
            [request.facts, list(request.languages)],
        )
        if self.cache is not None and (hit := (await self.cache.get_many([key])).get(key)):
            data = json.loads(hit)
            await self._write_cache_rows([(request.partner_id, request.task_kind, data["model"], key)])
            return Narrative(data["ru"], data["uz"], data["model"], "cache")
        await self.budgets.check(request.partner_id)
        user = prompts.narrative_user_message(request.facts, request.languages)
        allowed = numbers_in(json.dumps(request.facts, ensure_ascii=False))
        last_problem = ""
        for models in (route.models, route.escalation):
            if not models:
                continue
            ref, response = await self.caller.call(
                models,
                lambda m: ProviderRequest(
                    m, prompts.NARRATIVE_SYSTEM, user, route.max_output_tokens_per_item
                ),
                priority=0,  # one small call per report: not behind a backlog of card packs
            )
            await self._ledger_call(
                ref,
                response,
                "realtime",
                request.task_kind,
                [Share(request.partner_id, ["narrative"], 1, 1)],
                "ok",
                {},
            )
            try:
                texts = prompts.parse_narrative_answer(response.text)
            except Exception as exc:
                last_problem = str(exc)
                continue
            invented = numbers_in(texts["ru"] + " " + texts["uz"]) - allowed
            if invented:
                last_problem = f"narrative states numbers not in the facts: {sorted(invented)[:5]}"
                continue
            if self.cache is not None:
                value = json.dumps({**texts, "model": response.model}, ensure_ascii=False)
                await self.cache.put_many([(key, value, response.model)])
            return Narrative(texts["ru"], texts["uz"], response.model, "realtime")
        raise ProviderHTTPError(f"narrative could not be written: {last_problem}")

    async def close(self) -> None:
        """Finish packs in flight, then release connections. Further calls raise ``GatewayClosed``."""
        await self.packer.drain()
        await self.batcher.drain()
        if self.caller.stopped is None:
            self.caller.stopped = GatewayClosed("the LLM gateway is closed")
        for provider in self.providers.values():
            await provider.close()
        if self.cache is not None:
            await self.cache.close()
        await self.limiter.close()

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
        self._stats.cache_hits += len(hits)
        await self._write_cache_rows(hits)
        return pending

    async def _write_cache_rows(self, hits: list[tuple[int, str, str, str]]) -> None:
        rows = [
            LedgerRow(
                partner,
                task,
                self._provider_of(model),
                model,
                "cache",
                Usage(),
                Decimal(0),
                outcome="hit",
                items=1,
                detail={"items": [item], "prices": self.prices.version},
            )
            for partner, task, model, item in hits
        ]
        await self.ledger.write(rows)

    def _provider_of(self, model: str) -> str:
        entry = self.prices.models.get(model)
        return entry.provider if entry else "unknown"

    # -- packs --------------------------------------------------------------------------------------------
    def _problems(self, job: CardJob, draft: CardDraft) -> list[str]:
        problems = check_card(job.prepared.facts, draft)
        if not problems and job.request.validator is not None:
            problems = list(job.request.validator(job.request.facts, draft))
        return problems

    def _finish(
        self, job: CardJob, draft: CardDraft | None, model: str, path: Any, error: str | None
    ) -> None:
        if job.future.done():
            return
        if error is not None:
            self._stats.failed_items += 1
        job.future.set_result(
            CardResult(job.request.item_id, draft, model, path, error, job.escalated, job.notes)
        )

    def pack_request(self, jobs: list[CardJob], model: str) -> ProviderRequest:
        """The provider request for a pack of jobs (pack-local ids "1".."n")."""
        items = [(str(i + 1), job.prepared.facts) for i, job in enumerate(jobs)]
        per_item = self.config.max_output_tokens_per_item or jobs[0].route.max_output_tokens_per_item
        max_tokens = per_item * len(jobs)
        return ProviderRequest(model, prompts.CARD_SYSTEM, prompts.card_user_message(items), max_tokens)

    async def _run_pack(self, key: PackKey, jobs: list[CardJob]) -> None:
        models = jobs[0].route.escalation if jobs[0].escalated else jobs[0].route.models
        try:
            ref, response = await self.caller.call(models, lambda m: self.pack_request(jobs, m))
        except SpendCapReached as exc:
            for job in jobs:
                if not job.future.done():
                    job.future.set_exception(exc)
            return
        except (CallFailed, ProviderHTTPError) as exc:
            reason = exc.reason if isinstance(exc, CallFailed) else str(exc)
            for job in jobs:
                self._finish(job, None, "", "realtime", f"LLM call failed: {reason}")
            return
        except Exception as exc:  # a bug must fail the items loudly, not hang their futures
            log.exception("llm.pack.crashed")
            for job in jobs:
                self._finish(job, None, "", "realtime", f"internal error: {exc!r}")
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
                self._finish(job, None, response.model, path, f"internal error after the call: {exc!r}")

    async def settle_pack(
        self, jobs: list[CardJob], ref: ModelRef, response: ProviderResponse, path: str
    ) -> None:
        """Parse and validate each item of an answered pack; ledger, cache, re-ask what failed."""
        ids = [str(i + 1) for i in range(len(jobs))]
        parsed = prompts.parse_card_answer(response.text, ids)
        good: list[tuple[CardJob, CardDraft]] = []
        reask_same: list[CardJob] = []
        escalate: list[tuple[CardJob, str]] = []
        outputs: list[float] = []
        for pid, job in zip(ids, jobs, strict=True):
            await asyncio.sleep(0)  # validating an item is ms of CPU: let claims and heartbeats in
            value = parsed[pid]
            if isinstance(value, CardDraft):
                outputs.append(float(len(value.model_dump_json())))
                problems = self._problems(job, value)
                if problems:
                    escalate.append((job, "; ".join(problems)))
                else:
                    good.append((job, value))
            else:
                outputs.append(0.0)
                reask_same.append(job)
                job.notes.append(f"{value} ({ref.model})")
        if not any(outputs):
            outputs = [1.0] * len(jobs)
        by_partner: dict[int, Share] = {}
        for job, weight in zip(jobs, outputs, strict=True):
            share = by_partner.setdefault(job.request.partner_id, Share(job.request.partner_id, [], 0.0, 0.0))
            share.item_ids.append(job.request.item_id)
            share.input_weight += estimate_tokens(json.dumps(prompts.facts_payload(job.prepared.facts))) + 50
            share.output_weight += weight
        outcome = "ok" if len(good) == len(jobs) else "partial"
        await self._ledger_call(
            ref,
            response,
            path,
            jobs[0].request.task_kind,
            list(by_partner.values()),
            outcome,
            {"pack": len(jobs), "call_id": uuid.uuid4().hex, "failed": len(jobs) - len(good)},
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
        retries: list[CardJob] = []
        for job in reask_same:
            if job.reasks >= 2:
                self._finish(job, None, response.model, path, f"no valid answer: {job.notes[-1]}")
            else:
                job.reasks += 1
                retries.append(job)
        for job, problem in escalate:
            job.notes.append(f"rejected from {response.model}: {problem}")
            if job.escalated or not job.route.escalation or job.reasks >= 2:
                self._finish(job, None, response.model, path, f"card failed validation: {problem}")
            else:
                job.escalated, job.reasks = True, job.reasks + 1
                self._stats.escalations += 1
                retries.append(job)
        self._stats.reasked_items += len(retries)
        # Alone, so a hostile or confusing neighbour cannot spoil the second try.
        await asyncio.gather(
            *(self._run_pack((job.request.task_kind, job.route.tier), [job]) for job in retries)
        )

    async def _ledger_call(
        self,
        ref: ModelRef,
        response: ProviderResponse,
        path: str,
        task_kind: str,
        shares: list[Share],
        outcome: str,
        detail: dict[str, Any],
    ) -> None:
        rows = split_call(
            usage=response.usage,
            shares=shares,
            prices=self.prices,
            model=ref.model,
            provider=ref.provider,
            path=path,
            task_kind=task_kind,
            latency_ms=int(response.latency_s * 1000),
            outcome=outcome,
            request_id=response.request_id,
            detail={**detail, "served_by": response.model},
        )
        for row in rows:
            self.budgets.add(row.partner_id, row.cost_usd)
            self._stats.cost_usd += row.cost_usd
        self._stats.usage = self._stats.usage + response.usage
        await self.ledger.write(rows)
