"""One card request on its way through the gateway, and the rules for asking it again.

Kept apart from the flow that moves it (``card_flow``): what makes a problem worth a larger model, and
how a pack cut by ``max_tokens`` is asked again, are decisions with their own tests.
"""

from __future__ import annotations

import asyncio
import math
import re
from dataclasses import dataclass, field
from decimal import Decimal

from aimanager.domain.cards import CardDraft
from aimanager.llm import prompts
from aimanager.llm.budget import CUT_GROWTH
from aimanager.llm.router import Route
from aimanager.llm.types import CardRequest, CardResult

# A cut item is asked again at most this often; then it fails with the budget it was last cut at.
MAX_CUT_REASKS = 3
# Problems that come from the facts, not the writing: a larger model cannot invent a missing required
# attribute (and must not), so these fail at once instead of escalating at 20× the price.
_UNFIXABLE = re.compile(r"attributes: (required .* missing|at least \d+ characteristics required)")


def fixable(problem: str) -> bool:
    """True if a better answer could cure ``problem`` (so escalating to a larger model makes sense)."""
    return not all(_UNFIXABLE.search(part) for part in problem.split("; "))


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
    # The budget of the last request built for this job; after a cut, the least per-item budget its next
    # ask must have (always more than it was cut at, so a cut request is never sent again as it was).
    asked_per_item: int = 0
    asked_max_tokens: int = 0
    min_per_item: int = 0
    cuts: int = 0
    rejections: int = 0  # answers that failed the checks (the first is asked again at the same tier)
    last_draft: CardDraft | None = None  # the last answer that failed the checks
    retry_after: float | None = None  # when its calls failed: how long until trying again makes sense
    reserved: Decimal = Decimal(0)  # the partner's budget held for this item until it is billed
    input_estimate: int = 0  # estimated input tokens of its facts (once: the budget and the ledger use it)


def replan_cut(cut: list[CardJob], model: str, cap: int) -> tuple[list[CardJob], list[tuple[CardJob, str]]]:
    """``(again, spent)``: the items of a cut answer to ask again, each with ``CUT_GROWTH`` × the budget
    it was cut at (up to the model's max output ``cap``), and those cut too often or already at the cap,
    with the reason. Growth stays geometric even for an item asked alone: providers count ``max_tokens``
    against the output-tokens-per-minute limit while a call runs, so one item asked at the model's whole
    max output (32-64k) would hold back every other call for nothing."""
    again: list[CardJob] = []
    spent: list[tuple[CardJob, str]] = []
    for job in cut:
        job.cuts += 1
        job.min_per_item = max(job.min_per_item, min(cap, math.ceil(job.asked_per_item * CUT_GROWTH)))
        reason = f"cut by max_tokens at {job.asked_max_tokens} tokens ({model})"
        job.notes.append(reason)
        if job.cuts > MAX_CUT_REASKS or job.asked_per_item >= cap:
            spent.append((job, reason))
        else:
            again.append(job)
    return again, spent


def split_again(again: list[CardJob], pack_size: int, per_item: int, cap: int) -> list[list[CardJob]]:
    """Half the cut pack's size, or fewer so the larger budget per item fits one call."""
    size = max(1, min(math.ceil(pack_size / 2), cap // per_item))
    return [again[i : i + size] for i in range(0, len(again), size)]
