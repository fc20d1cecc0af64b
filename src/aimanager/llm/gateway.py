"""The LLM gateway: the one door every LLM call of AI Manager goes through.

A thin facade: it builds the shared parts from a :class:`GatewayConfig` (providers, router, limiter,
concurrency, cache, accounting) and hands cards to :mod:`~aimanager.llm.card_flow` and narratives to
:mod:`~aimanager.llm.narrative_flow`.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from aimanager.errors import ConfigError
from aimanager.llm.accounting import Accounting
from aimanager.llm.batch_store import BatchStore
from aimanager.llm.buckets import MemoryBuckets, RedisBuckets
from aimanager.llm.budget import OutputBudgets
from aimanager.llm.cache import CacheStore, RedisCacheStore, SQLCacheStore
from aimanager.llm.calls import Caller
from aimanager.llm.card_flow import CardFlow
from aimanager.llm.config import GatewayConfig
from aimanager.llm.errors import GatewayClosed
from aimanager.llm.ledger_inflight import lost_after
from aimanager.llm.limiter import AdaptiveConcurrency, RateLimiter
from aimanager.llm.narrative_flow import NarrativeFlow
from aimanager.llm.prices import PriceTable, default_prices
from aimanager.llm.providers.base import Provider
from aimanager.llm.providers.factory import build_providers
from aimanager.llm.router import Router, load_routes
from aimanager.llm.types import CardRequest, CardResult, GatewayStats, Narrative, NarrativeRequest
from aimanager.llm.vision_flow import VisionFlow, VisionRequest, VisionResult


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
        self.providers = providers
        self.cache = cache
        self.limiter = limiter
        lost = lost_after(
            config.request_timeout_s, config.max_retries, config.max_retry_after_s, config.batch_timeout_s
        )
        self.accounting = Accounting(engine, prices, config.budget_refresh_s, lost)
        self.router = Router.from_config(
            load_routes(config.routes_file),
            config.providers,
            task_overrides=config.task_overrides,
            tier_overrides=config.tier_overrides,
            cooldown_s=config.cooldown_s,
        )
        self.concurrency = AdaptiveConcurrency(config.concurrency_initial, maximum=config.concurrency_max)
        self.caller = Caller(
            providers,
            self.router,
            limiter,
            self.concurrency,
            self.accounting.stats,
            prices=prices,
            max_fallback_price_ratio=config.max_fallback_price_ratio,
        )
        self.budgets = OutputBudgets(config.max_output_tokens_per_call)
        self.cards = CardFlow(
            config,
            self.router,
            self.caller,
            cache,
            self.accounting,
            providers,
            self.budgets,
            BatchStore(engine),
        )
        self.narratives = NarrativeFlow(self.router, self.caller, cache, self.accounting, self.budgets)
        self.vision = VisionFlow(self.router, self.caller, cache, self.accounting)

    @classmethod
    async def create(cls, config: GatewayConfig, engine: AsyncEngine) -> Gateway:
        """A gateway over ``engine`` (the ledger, budgets and the SQL cache live there)."""
        ttl = timedelta(days=config.cache_ttl_days) if config.cache_ttl_days else None
        cache: CacheStore | None = None
        if config.cache_store == "sql":
            cache = SQLCacheStore(engine, ttl)
        elif config.cache_store == "redis":
            if not config.redis_url:
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

    def stats(self) -> GatewayStats:
        """Counters since the gateway was created: calls, items, tokens, cost, cache hits, fallbacks."""
        return self.accounting.stats

    def calls_to_keep_busy(self, task_kind: str = "card") -> float:
        """Calls in flight that keep the output-tokens limit of ``task_kind``'s first model busy, from
        its learned limit and measured speed per call (0 until both are known)."""
        ref = self.router.route(task_kind).models[0]
        return self.caller.calls_to_keep_busy(ref)

    async def generate_cards(self, requests: list[CardRequest]) -> list[CardResult]:
        """One ``CardResult`` per request, in order. Raises ``SpendCapReached`` if the provider's spend
        cap stops the run; a partner over its own budget only gets ``error`` results."""
        return await self.cards.generate(requests)

    async def write_narrative(self, request: NarrativeRequest) -> Narrative:
        """Narrative text from metrics, cached and ledgered like cards (not packed: one per report)."""
        return await self.narratives.write(request)

    async def extract_attributes(self, request: VisionRequest) -> VisionResult:
        """Attributes a product photo shows (the ``vision`` route), cached and ledgered like cards."""
        return await self.vision.extract(request)

    async def close(self) -> None:
        """Finish packs in flight, then release connections. Further calls raise ``GatewayClosed``."""
        await self.cards.drain()
        if self.caller.stopped is None:
            self.caller.stopped = GatewayClosed("the LLM gateway is closed")
        for provider in self.providers.values():
            await provider.close()
        if self.cache is not None:
            await self.cache.close()
        await self.limiter.close()
