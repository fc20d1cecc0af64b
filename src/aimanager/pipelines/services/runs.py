"""Starting a run: plan the tasks of some capabilities and queue them, follow-ups after cards.

The one way a run starts, whoever asks: ``aimanager run``, the demo, the benchmarks, an operator's
urgent single-SKU repricing (``aimanager run -c pricing --sku X --priority urgent``). Cards are queued
at once. Pricing, stock and analytics of a partner that has card jobs queued or running — this run's
or an earlier one's — wait for them in one ``run.followups`` job (see ``followups``); those of the other
partners are queued at once too. ``aimanager run`` followed by ``aimanager worker`` therefore does
every partner's work in the right order with nothing else watching.

Images follow cards too (their uploads need the card on the marketplace: WB's nmID, Ozon's product id),
and are planned only for products with a photo that can be fetched (see ``planner``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aimanager.domain.enums import Capability
from aimanager.jobs import Backend, JobSpec, Priority
from aimanager.pipelines.services.followups import (
    CARD_KINDS,
    DEFAULT_POLL_S,
    FOLLOWS_CARDS,
    followup_spec,
)
from aimanager.pipelines.services.planner import build_plan

# What waits for a partner's card jobs: the follow-ups' capabilities, and images.
AFTER_CARDS = (*FOLLOWS_CARDS, Capability.IMAGES)


@dataclass
class RunStarted:
    """What a run queued now, and what waits for cards.

    ``waiting`` counts the tasks of the follow-up jobs as planned now (the jobs plan again when they
    run, so a catalog changed meanwhile is planned as it then is)."""

    queued: Counter[str] = field(default_factory=Counter)
    waiting: Counter[str] = field(default_factory=Counter)
    job_ids: list[int] = field(default_factory=list)
    followup_job_ids: list[int] = field(default_factory=list)
    waiting_partners: list[int] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    # The priority each capability's jobs got (the planner moves a medium-priority report to low).
    priorities: dict[str, str] = field(default_factory=dict)

    @property
    def tasks(self) -> Counter[str]:
        """Every task of the run per capability, queued or waiting."""
        return self.queued + self.waiting


async def start_run(
    sessions: async_sessionmaker[AsyncSession],
    backend: Backend,
    capabilities: Sequence[Capability],
    *,
    partner_ids: Sequence[int] | None = None,
    skus: Sequence[str] | None = None,
    priority: Priority = Priority.MEDIUM,
    poll_s: float = DEFAULT_POLL_S,
) -> RunStarted:
    """Plan ``capabilities`` over the active catalog (optionally some partners or SKUs) and queue
    them at ``priority``; a partner's follow-up capabilities wait for its card jobs, checked every
    ``poll_s`` seconds."""
    caps = list(dict.fromkeys(capabilities))
    later_caps = [c for c in caps if c in AFTER_CARDS]
    now_caps = [c for c in caps if c not in AFTER_CARDS]
    started = RunStarted()
    if now_caps:
        plan = await build_plan(sessions, now_caps, partner_ids=partner_ids, skus=skus, priority=priority)
        _note_priorities(started, plan.specs)
        await _queue(backend, plan.specs, started)
        started.queued.update(plan.tasks)
        started.skipped.extend(plan.skipped)
    if not later_caps:
        return started
    later = await build_plan(sessions, later_caps, partner_ids=partner_ids, skus=skus, priority=priority)
    _note_priorities(started, later.specs)  # follow-ups plan the same way when they run
    started.skipped.extend(s for s in later.skipped if s not in started.skipped)
    # Asked after this run's card jobs are queued: a partner of theirs is busy until they are done.
    busy = await backend.busy_partners(CARD_KINDS)
    waiting = sorted(p for p in later.tasks_by_partner if p in busy)
    now_specs = [s for s in later.specs if s.partner_id not in busy]
    for partner_id in later.tasks_by_partner:
        if partner_id not in busy:
            started.queued.update(later.tasks_by_partner[partner_id])
    await _queue(backend, now_specs, started)
    if waiting:
        spec = followup_spec(waiting, later_caps, skus=skus, priority=priority, poll_s=poll_s)
        res = await backend.enqueue_many([spec])
        started.followup_job_ids.extend(res.ids)
        started.waiting_partners.extend(waiting)
        for partner_id in waiting:
            started.waiting.update(later.tasks_by_partner[partner_id])
    return started


def _note_priorities(started: RunStarted, specs: list[JobSpec]) -> None:
    for spec in specs:
        started.priorities.setdefault(spec.kind.split(".")[0], spec.priority.name.lower())


async def _queue(backend: Backend, specs: list[JobSpec], started: RunStarted) -> None:
    if specs:
        res = await backend.enqueue_many(specs)
        started.job_ids.extend(res.ids)
