"""Capabilities on a schedule: stock every N minutes, prices every N minutes or hours, reports daily.

A schedule is the engine's (``Backend.set_schedule``): any worker fires it, once per period. What it
enqueues is a ``run.scheduled`` job, which starts a run exactly as ``aimanager run`` does (planning,
chaining behind cards, tasks), so a scheduled run and a hand-started one are the same thing.

Names say whose schedule it is: ``all:stock`` is the operator's default for every partner,
``p7:stock`` partner 7's own — a partner with its own schedule for a capability is left out of the
default's runs for it.

Order intake is scheduled the same way (``set_orders_schedule``: ``all:orders``, ``p7:orders``): its
firing queues one ``orders.sync`` job per partner with a connected marketplace (``capabilities/orders``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from sqlalchemy import select

from aimanager.db.models import MarketplaceIntegration, Partner
from aimanager.domain.enums import Capability
from aimanager.jobs import Backend, Job, JobSpec, Priority, Schedule
from aimanager.pipelines.services.runs import start_run
from aimanager.pipelines.services.runtime import Runtime

SCHEDULED_KIND = "run.scheduled"
ORDERS = "orders"  # the schedule name's suffix for order intake (not a capability of its own)
_NAME = re.compile(r"^(all|p(\d+)):([a-z]+)$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_every(text: str) -> float:
    """``"90s"``, ``"10m"``, ``"6h"``, ``"1d"`` → seconds (at least a minute, so nothing hammers a
    marketplace by a typo)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd])\s*", text)
    if not match:
        raise ValueError(f"{text!r}: expected a number and a unit s, m, h or d (e.g. 10m, 6h, 1d)")
    seconds = float(match[1]) * _UNITS[match[2]]
    if seconds < 60:
        raise ValueError(f"{text!r}: at least 1m")
    return seconds


def schedule_name(capability: Capability, partner_id: int | None) -> str:
    return f"{'all' if partner_id is None else f'p{partner_id}'}:{capability.value}"


async def set_capability_schedule(
    backend: Backend,
    capability: Capability,
    every_s: float,
    *,
    partner_id: int | None = None,
    priority: Priority = Priority.LOW,
) -> str:
    """Run ``capability`` every ``every_s`` for one partner, or for every partner without its own."""
    name = schedule_name(capability, partner_id)
    payload = {"capabilities": [capability.value], "partners": None if partner_id is None else [partner_id]}
    job = JobSpec(
        SCHEDULED_KIND, payload, partner_id=partner_id, priority=priority, batch_key=f"schedule:{name}"
    )
    await backend.set_schedule(name, job, every_s)
    return name


def own_schedules(schedules: Sequence[Schedule], capability: Capability) -> set[int]:
    """Partners with a schedule of their own for ``capability``."""
    out: set[int] = set()
    for sched in schedules:
        match = _NAME.match(sched.name)
        if match and match[2] and match[3] == capability.value:
            out.add(int(match[2]))
    return out


async def run_scheduled(rt: Runtime, job: Job) -> dict[str, int]:
    """Handler of ``run.scheduled``: start the run the schedule names; returns the tasks queued."""
    if job.payload.get(ORDERS):
        return await queue_orders(rt, job)
    capabilities = [Capability(c) for c in job.payload["capabilities"]]
    partners = job.payload.get("partners")
    if partners is None:  # the operator's default: everyone but the partners with their own schedule
        mine = await rt.backend.list_schedules()
        skip = set().union(*(own_schedules(mine, c) for c in capabilities))
        async with rt.sessions() as session:
            active = (await session.execute(select(Partner.id).where(Partner.is_active))).scalars().all()
        partners = [p for p in active if p not in skip]
        if not partners:
            return {}
    run = await start_run(rt.sessions, rt.backend, capabilities, partner_ids=partners, priority=job.priority)
    return dict(run.queued) | {f"waiting_{k}": v for k, v in run.waiting.items()}


async def set_orders_schedule(
    backend: Backend, every_s: float, *, partner_id: int | None = None, priority: Priority = Priority.HIGH
) -> str:
    """Read new orders every ``every_s`` for one partner, or for every partner without its own."""
    name = f"{'all' if partner_id is None else f'p{partner_id}'}:{ORDERS}"
    payload = {"capabilities": [], ORDERS: True, "partners": None if partner_id is None else [partner_id]}
    job = JobSpec(
        SCHEDULED_KIND, payload, partner_id=partner_id, priority=priority, batch_key=f"schedule:{name}"
    )
    await backend.set_schedule(name, job, every_s)
    return name


async def queue_orders(rt: Runtime, job: Job) -> dict[str, int]:
    """An order-intake firing: one ``orders.sync`` per partner (with an active integration) it covers."""
    partners = job.payload.get("partners")
    async with rt.sessions() as session:
        q = (
            select(MarketplaceIntegration.partner_id)
            .join(Partner, Partner.id == MarketplaceIntegration.partner_id)
            .where(Partner.is_active, MarketplaceIntegration.active.is_(True))
            .distinct()
        )
        connected = sorted((await session.execute(q)).scalars().all())
    if partners is None:
        mine = {
            int(m[2])
            for s in await rt.backend.list_schedules()
            if (m := _NAME.match(s.name)) and m[2] and m[3] == ORDERS
        }
        partners = [p for p in connected if p not in mine]
    else:
        partners = [p for p in partners if p in connected]
    specs = [
        JobSpec("orders.sync", {}, partner_id=p, priority=job.priority, batch_key=f"p{p}:orders")
        for p in partners
    ]
    if specs:
        await rt.backend.enqueue_many(specs)
    return {ORDERS: len(specs)}
