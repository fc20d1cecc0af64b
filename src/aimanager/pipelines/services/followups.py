"""Each partner's follow-up capabilities as soon as its own cards are out.

A new listing's price and stock can be set only once the marketplace has its card, so pricing and
stock follow cards — but a partner need not wait for every other partner's cards. ``follow_cards``
watches the queue and, for each partner with no card job left queued or running, plans and enqueues
the follow-up capabilities for that partner alone. Partners early in the card backlog are priced,
stocked and reported on while the LLM is still writing the others' cards.

A generation job queues its push jobs in the transaction that stores its card versions, before it is
acknowledged, so a partner never looks idle between the two; a retried job is queued again and keeps
its partner busy; a dead one does not (its cards are dead-lettered, the rest go ahead).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Sequence

from aimanager.domain.enums import Capability, Priority
from aimanager.pipelines.planner import build_plan, enqueue_plan
from aimanager.pipelines.runtime import Runtime

CARD_KINDS = ("cards.generate", "cards.push")


async def follow_cards(
    rt: Runtime,
    partner_ids: Sequence[int],
    capabilities: Sequence[Capability],
    *,
    poll_s: float = 0.5,
    on_ready: Callable[[list[int]], None] | None = None,
) -> Counter[str]:
    """Enqueue ``capabilities`` for each of ``partner_ids`` once its card jobs are done.

    Returns the tasks planned per capability. ``on_ready`` hears each group of partners as it is
    enqueued (the demo and the scenario start urgent requests for a partner only then).
    """
    tasks: Counter[str] = Counter()
    pending = set(partner_ids)
    while pending:
        ready = sorted(pending - await rt.backend.busy_partners(CARD_KINDS))
        if not ready:
            await asyncio.sleep(poll_s)
            continue
        plan = await build_plan(rt.sessions, capabilities, partner_ids=ready)
        await enqueue_plan(rt.backend, plan)
        tasks.update(plan.tasks)
        pending.difference_update(ready)
        if on_ready is not None:
            on_ready(ready)
    return tasks


async def urgent_repricing(
    rt: Runtime,
    skus: Sequence[str],
    ready: asyncio.Event,
    *,
    every_s: float,
    on_planned: Callable[[Counter[str]], None],
) -> None:
    """An operator's urgent single-SKU repricing requests, one every ``every_s`` once ``ready`` is set
    (the SKUs' partner has its cards out); ``on_planned`` hears each request's tasks."""
    if not skus:
        return
    await ready.wait()
    for sku in skus:
        await asyncio.sleep(every_s)
        plan = await build_plan(rt.sessions, [Capability.PRICING], skus=[sku], priority=Priority.URGENT)
        await enqueue_plan(rt.backend, plan)
        on_planned(plan.tasks)
