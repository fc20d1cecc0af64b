"""Each partner's follow-up capabilities, queued as soon as its own cards are out.

A new listing's price and stock can be set only once the marketplace has its card, so pricing, stock
and analytics follow cards — but a partner need not wait for every other partner's cards. A run
(``runs.start_run``) that has to wait leaves one durable ``run.followups`` job for its waiting
partners. Each time a worker runs it, one query finds the partners that still have a card job queued
or running; the others get their follow-up capabilities planned and queued at once, and the job
snoozes (the engine's :class:`Snooze`: queued again later, no attempt used) with the rest in its
payload, until none is left. One job and one query per look, however many partners wait: a job per
partner cost a claim, a query and a write each per look, which took an eighth of the worker's CPU
with 100 partners. Partners early in the card backlog are priced, stocked and reported on while the
LLM is still writing the others' cards, and a worker restart loses nothing: the follow-up is a row
in the queue like any job.

The wait between looks grows with the time already waited (a twentieth of it, from ``poll_s`` up to
``MAX_POLL_S``): a partner whose cards are out waits at most that long for its prices and stock,
and the many small follow-ups of urgent requests made during a long card backlog look a few times a
minute, not every ``poll_s``. After ``MAX_WAIT_S`` the follow-up ends ``failed`` with the reason, for
an operator to see and retry.

A generation job queues its push jobs in the transaction that stores its card versions, before it is
acknowledged, so a partner never looks idle between the two; a retried job is queued again and keeps
its partner busy; a dead one does not (its cards are dead-lettered, the rest go ahead).

The follow-up runs at least once like every job: if its worker dies after queueing the partner's jobs
and before the acknowledgement, it queues them again, and the handlers, being idempotent, change
nothing twice.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence

from aimanager.domain.enums import Capability
from aimanager.jobs import Job, JobSpec, PermanentFailure, Priority, Snooze
from aimanager.pipelines.services.planner import build_plan, enqueue_plan
from aimanager.pipelines.services.runtime import Runtime

FOLLOWUPS_KIND = "run.followups"
CARD_KINDS = ("cards.generate", "cards.push")
# What waits for a partner's cards; cards themselves never wait.
FOLLOWS_CARDS = (Capability.PRICING, Capability.STOCK, Capability.ANALYTICS)
DEFAULT_POLL_S = 2.0
# A look is one query however many partners wait: cheap enough to keep the lag after cards short
# (at 30 s, the last partners of a 100-partner run waited a quarter of a minute longer).
MAX_POLL_S = 5.0
POLL_SHARE_OF_WAIT = 0.05
# How long a follow-up waits for its partner's cards before it gives up (the job ends failed, with the
# reason, for an operator to look at): a day covers the largest card backlog at real LLM limits.
MAX_WAIT_S = 24 * 3600.0


def next_look_s(waited_s: float, poll_s: float) -> float:
    """Seconds until a follow-up that has waited ``waited_s`` looks again."""
    return min(MAX_POLL_S, max(poll_s, POLL_SHARE_OF_WAIT * waited_s))


def followup_spec(
    partner_ids: Sequence[int],
    capabilities: Sequence[Capability],
    *,
    skus: Sequence[str] | None,
    priority: Priority,
    poll_s: float = DEFAULT_POLL_S,
) -> JobSpec:
    """The job that queues ``capabilities`` for each of ``partner_ids`` (optionally some SKUs) as soon
    as that partner has no card job queued or running, looking first after ``poll_s`` seconds."""
    return JobSpec(
        FOLLOWUPS_KIND,
        {
            "partners": sorted(set(partner_ids)),
            "capabilities": [c.value for c in capabilities],
            "skus": list(skus) if skus else None,
            "poll_s": poll_s,
            "queued": {},
        },
        partner_id=partner_ids[0] if len(set(partner_ids)) == 1 else None,
        priority=priority,
        batch_key=f"followups:{uuid.uuid4().hex[:12]}",
    )


async def run_followups(rt: Runtime, job: Job) -> dict[str, int]:
    """Handler of ``run.followups``: payload ``{"partners", "capabilities", "skus"?, "poll_s", "queued"}``.

    One look at the queue for all the run's waiting partners: those whose cards are out get their
    follow-ups queued now; the job snoozes with the rest (and the tasks queued so far) in its payload.
    Returns the tasks it queued per capability, stored as the job's result."""
    payload = job.payload
    waiting = [int(p) for p in payload["partners"]]
    queued: Counter[str] = Counter(payload.get("queued") or {})
    busy = await rt.backend.busy_partners(CARD_KINDS)
    ready = [p for p in waiting if p not in busy]
    if ready:
        plan = await build_plan(
            rt.sessions,
            [Capability(c) for c in payload["capabilities"]],
            partner_ids=ready,
            skus=payload.get("skus") or None,
            priority=job.priority,
        )
        await enqueue_plan(rt.backend, plan)
        queued.update(plan.tasks)
    still = [p for p in waiting if p in busy]
    if not still:
        return dict(queued)
    waited = rt.backend.clock() - job.enqueued_at
    names = ", ".join(str(p) for p in still[:10]) + (" …" if len(still) > 10 else "")
    if waited > MAX_WAIT_S:
        raise PermanentFailure(
            f"partner(s) {names}: cards still in flight after {waited / 3600:.0f} h; their pricing, "
            "stock and analytics not queued (retry this job once the cards are done)"
        )
    raise Snooze(
        f"partner(s) {names}: cards still in flight",
        delay=next_look_s(waited, float(payload["poll_s"])),
        payload={**payload, "partners": still, "queued": dict(queued)},
    )
