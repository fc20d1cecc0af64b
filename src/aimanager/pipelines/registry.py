"""The registry of every job kind the product runs (built-ins plus the pipelines' kinds)."""

from __future__ import annotations

import math
from functools import partial
from typing import Any

from aimanager.alerts import ALERTS_CHECK_KIND, run_check_job
from aimanager.jobs import Registry, builtin_registry
from aimanager.pipelines.capabilities import analytics, card_push, cards, images, orders, pricing, stock
from aimanager.pipelines.services.followups import FOLLOWUPS_KIND, run_followups
from aimanager.pipelines.services.runtime import Runtime
from aimanager.pipelines.services.schedules import SCHEDULED_KIND, run_scheduled

# Card generation jobs one worker holds at once (one pack each). A real pack streams ~150 output tokens
# a second for ~3 minutes, so keeping an 800k-tokens-a-minute limit busy takes 800,000 / 60 / 150 ≈ 90
# calls in flight (Little's law). Until the gateway has measured that (``card_jobs_in_flight``), 100.
CARD_JOBS_IN_FLIGHT = 100
# Once measured: the calls the limit needs, half again for the parts of a job that are not its call
# (waiting for its turn at the limits, re-asks, storing), within these bounds.
CARD_JOBS_HEADROOM = 1.5
CARD_JOBS_MIN, CARD_JOBS_MAX = 16, 400
PIPELINE_KINDS = (
    "cards.generate",
    "cards.push",
    "pricing.apply",
    "stock.sync",
    orders.ORDERS_KIND,
    "analytics.report",
    FOLLOWUPS_KIND,
    SCHEDULED_KIND,
    ALERTS_CHECK_KIND,
    images.PREPARE_KIND,
    images.UPLOAD_KIND,
)


def card_jobs_in_flight(rt: Runtime) -> int:
    """How many ``cards.generate`` jobs a worker may hold now: what keeps the LLM's output limit busy.

    A fixed 100 was too few at a real model's speed once a job's other parts counted (card jobs ran at
    0.6 a second where the limit allowed 0.89) and too many for a small limit (slots held waiting)."""
    needed = rt.gateway.calls_to_keep_busy()
    if not needed:
        return CARD_JOBS_IN_FLIGHT
    return max(CARD_JOBS_MIN, min(CARD_JOBS_MAX, math.ceil(needed * CARD_JOBS_HEADROOM)))


def pipeline_registry(rt: Runtime) -> Registry:
    """Handlers of the four capabilities and of a run's follow-ups, bound to ``rt``."""
    reg = builtin_registry()
    # A generation job is one full pack (the planner's ``CARD_PACK``), so it is claimed alone: a slot
    # is given back as soon as its own pack is answered, not when the slowest of several packs is
    # (each call's speed varies, and holding finished packs' slots left the limit below busy). They
    # wait on the LLM's output: ``card_jobs_in_flight`` keeps the limit busy at the model's measured
    # speed, and more would only hold slots that pricing, stock and reports could use meanwhile (a worker
    # needs --concurrency above it for that: see docs/pipelines.md).
    reg.register_batch(
        "cards.generate",
        partial(cards.generate, rt),
        max_batch=1,
        timeout_s=900,
        max_running=partial(card_jobs_in_flight, rt),
    )
    reg.register_batch(
        "cards.push", partial(card_push.push, rt), max_batch=card_push.PUSH_JOBS_PER_CALL, timeout_s=900
    )
    reg.register("pricing.apply", partial(pricing.apply, rt), timeout_s=900)
    reg.register("stock.sync", partial(stock.sync, rt), timeout_s=900)
    # New orders reserve their units and queue the stock push they need (``capabilities/orders``).
    reg.register(orders.ORDERS_KIND, partial(orders.sync, rt), timeout_s=300)
    reg.register("analytics.report", partial(analytics.report, rt), timeout_s=900)
    # A partner's pricing, stock and analytics, queued once its cards are out (``services/followups``).
    reg.register(FOLLOWUPS_KIND, partial(run_followups, rt), timeout_s=60)
    # A schedule's firing: the run ``aimanager run`` would start (``services/schedules``).
    reg.register(SCHEDULED_KIND, partial(run_scheduled, rt), timeout_s=300)
    # Alert rules over what the store knows, delivered to the configured channels (``alerts``).
    reg.register(ALERTS_CHECK_KIND, partial(run_check_job, rt.sessions, dry_run=rt.dry_run), timeout_s=300)
    # Product images: photos → checks → vision → renders → storage (batched per partner), then uploads.
    reg.register_batch(images.PREPARE_KIND, partial(images.prepare, rt), max_batch=5, timeout_s=900)
    reg.register(images.UPLOAD_KIND, partial(images.upload, rt), timeout_s=900)
    return reg


async def build_registry(settings: Any, backend: Any, *, dry_run: bool = False) -> Registry:
    """All handlers a worker process can run, wired to services built from ``settings``.

    ``dry_run``: decide, generate and record everything, but write nothing to a marketplace or disk.
    """
    from aimanager.pipelines.services.wiring import build_runtime

    rt = await build_runtime(settings, backend=backend, dry_run=dry_run)
    return pipeline_registry(rt)


def known_kinds() -> list[str]:
    """Job kinds that exist, for validating enqueue requests without building services."""
    return sorted({*builtin_registry().kinds, *PIPELINE_KINDS})
