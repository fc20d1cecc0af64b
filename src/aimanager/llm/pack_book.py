"""One answered pack booked: its call in the ledger (split by partner: ``pack_answers.partner_shares``)
and its good cards in the cache."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal

from aimanager.llm import prompts
from aimanager.llm.accounting import Accounting
from aimanager.llm.cache import CacheStore
from aimanager.llm.card_jobs import CardJob
from aimanager.llm.pack_answers import SortedPack, partner_shares
from aimanager.llm.types import ModelRef, ProviderResponse


async def book_pack(
    accounting: Accounting,
    cache: CacheStore | None,
    jobs: list[CardJob],
    ref: ModelRef,
    response: ProviderResponse,
    path: str,
    pack: SortedPack,
) -> Decimal:
    """The call in the ledger (its cost returned) and ``pack``'s good cards in the cache."""
    good = pack.good
    outcome = "ok" if len(good) == len(jobs) else "partial"
    cut_detail = {"cut_at_max_tokens": jobs[0].asked_max_tokens, "cut_items": len(pack.cut)}
    cost = await accounting.record_call(
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
    if cache is not None and good:
        await cache.put_many(
            (
                job.key,
                json.dumps({"draft": d.model_dump(mode="json"), "model": response.model}, ensure_ascii=False),
                response.model,
            )
            for job, d in good
        )
    return cost
