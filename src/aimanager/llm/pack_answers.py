"""One answered pack, sorted item by item: what is good, what is asked again (same tier or the larger
one), what was cut by ``max_tokens`` and what fails now — decisions only; ``CardFlow.settle_pack`` books,
caches and sends what these decide.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from aimanager.domain.cards import CardDraft
from aimanager.domain.content import publishable_attributes
from aimanager.llm import prompts
from aimanager.llm.card_jobs import CardJob, fixable
from aimanager.llm.ledger import Share
from aimanager.llm.types import FailureKind

MAX_REASKS = 2  # per item, whatever the reason: a third identical failure is not worth a call


@dataclass
class SortedPack:
    """The items of one answer by what happens to them next."""

    good: list[tuple[CardJob, CardDraft]] = field(default_factory=list)
    reask_same: list[CardJob] = field(default_factory=list)  # no usable answer: asked alone again
    escalate: list[tuple[CardJob, str]] = field(default_factory=list)  # answered, failed the checks
    cut: list[CardJob] = field(default_factory=list)  # not reached before ``max_tokens``
    outputs: list[float] = field(default_factory=list)  # each item's share of the output tokens
    answered: int = 0  # items the model wrote out (valid or not): what the output budget learns from


@dataclass
class NextSteps:
    """What ``settle_pack`` does with the items that were not good."""

    retries: list[CardJob] = field(default_factory=list)
    failed: list[tuple[CardJob, str, FailureKind]] = field(default_factory=list)  # (job, error, kind)
    escalations: int = 0


async def sort_answer(
    jobs: list[CardJob], text: str, cut: bool, model: str, problems: Callable[[CardJob, CardDraft], list[str]]
) -> SortedPack:
    """Parse ``text`` for ``jobs`` (pack-local ids "1".."n") and validate each item with ``problems``."""
    ids = [str(i + 1) for i in range(len(jobs))]
    parsed = prompts.parse_card_answer(text, ids)
    out = SortedPack()
    for pid, job in zip(ids, jobs, strict=True):
        await asyncio.sleep(0)  # validating an item is ms of CPU: let claims and heartbeats in
        value = parsed[pid]
        if isinstance(value, CardDraft):
            out.outputs.append(float(len(value.model_dump_json())))
            # The characteristics come from the facts the model was shown, never from its answer.
            value = value.model_copy(update={"attributes": publishable_attributes(job.prepared.facts)})
            found = problems(job, value)
            if found:
                job.last_draft = value
                out.escalate.append((job, "; ".join(found)))
            else:
                out.good.append((job, value))
        elif cut and not value.startswith(prompts.SCHEMA_MISMATCH):
            out.outputs.append(0.0)
            out.cut.append(job)  # not answered because the answer ended, not because it was wrong
        else:
            out.outputs.append(0.0)
            out.reask_same.append(job)
            job.notes.append(f"{value} ({model})")
    out.answered = sum(
        isinstance(v, CardDraft) or v.startswith(prompts.SCHEMA_MISMATCH) for v in parsed.values()
    )
    return out


def partner_shares(jobs: list[CardJob], outputs: list[float]) -> list[Share]:
    """How one call's cost splits across partners: input by each item's facts, output by what each item
    got written (evenly when nothing usable came back)."""
    weights = outputs if any(outputs) else [1.0] * len(jobs)
    by_partner: dict[int, Share] = {}
    for job, weight in zip(jobs, weights, strict=True):
        share = by_partner.setdefault(job.request.partner_id, Share(job.request.partner_id, [], 0.0, 0.0))
        share.item_ids.append(job.request.item_id)
        share.input_weight += job.input_estimate + 50
        share.output_weight += weight
    return list(by_partner.values())


def next_steps(sorted_pack: SortedPack, served_by: str) -> NextSteps:
    """Asked again or failed, for each item with no usable answer or a rejected one."""
    steps = NextSteps()
    for job in sorted_pack.reask_same:
        if job.reasks >= MAX_REASKS:
            steps.failed.append((job, f"no valid answer: {job.notes[-1]}", "answer"))
        else:
            job.reasks += 1
            steps.retries.append(job)
    for job, problem in sorted_pack.escalate:
        job.notes.append(f"rejected from {served_by}: {problem}")
        job.rejections += 1
        rejected = f"card failed validation: {problem}"
        if not fixable(problem) or job.reasks >= MAX_REASKS:
            steps.failed.append((job, rejected, "answer"))
        elif job.rejections == 1 and not job.escalated:
            # A slip of the small model (an invented number, a stray word) is usually not repeated:
            # one more try at its price before the large model's (20×).
            job.reasks += 1
            steps.retries.append(job)
        elif not job.escalated and job.route.escalation:
            job.escalated, job.reasks = True, job.reasks + 1
            steps.escalations += 1
            steps.retries.append(job)
        else:
            steps.failed.append((job, rejected, "answer"))
    return steps
