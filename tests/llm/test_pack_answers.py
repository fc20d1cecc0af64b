"""The decisions taken for each item of an answered pack: good, asked again at the same tier, escalated
to the larger model, cut by ``max_tokens``, or failed now — and how the call's cost splits by partner."""

from __future__ import annotations

import asyncio

from aimanager.llm import CardRequest, prompts
from aimanager.llm.card_jobs import CardJob
from aimanager.llm.pack_answers import next_steps, partner_shares, sort_answer
from aimanager.llm.router import Route
from aimanager.llm.types import ModelRef
from tests.llm.conftest import product

SMALL, LARGE = ModelRef("anthropic", "small"), ModelRef("anthropic", "large")


def _job(sku: str, partner: int = 1, *, escalation: bool = True) -> CardJob:
    request = CardRequest(sku, partner, product(sku))
    route = Route("cards.generate", "fast", (SMALL,), (LARGE,) if escalation else (), 1500)
    prepared = prompts.prepare_facts(request.facts, max_description=2000)
    job = CardJob(request, prepared, route, sku, asyncio.get_running_loop().create_future())
    job.input_estimate = 100
    return job


async def test_unparsable_items_are_asked_again_then_fail_and_cut_ones_are_kept_apart() -> None:
    jobs = [_job("A"), _job("B")]
    # Not JSON at all: nothing answered, nothing cut — both asked again at the same tier.
    plain = await sort_answer(jobs, "I cannot help with that.", False, "small", lambda j, d: [])
    assert plain.good == [] and plain.cut == [] and plain.reask_same == jobs and plain.answered == 0
    steps = next_steps(plain, "small")
    assert steps.retries == jobs and steps.failed == [] and all(j.reasks == 1 for j in jobs)
    # The same answer once more is still a retry; the third time the items fail with the model's words.
    next_steps(plain, "small")
    third = next_steps(plain, "small")
    assert third.retries == [] and [f[0] for f in third.failed] == jobs
    assert third.failed[0][1].startswith("no valid answer:") and third.failed[0][2] == "answer"

    # The same broken text in a cut answer: the items were not reached, so they are cut, not re-asked.
    fresh = [_job("C"), _job("D")]
    broken = '{"items": [{"id": "1", "ru": {"title": "x'
    cut = await sort_answer(fresh, broken, True, "small", lambda j, d: [])
    assert cut.cut == fresh and cut.reask_same == [] and next_steps(cut, "small").retries == []


async def test_a_rejected_draft_gets_a_small_retry_then_the_large_model_and_unfixable_fails_now() -> None:
    job, hopeless = _job("A"), _job("B")
    sorted_pack = await sort_answer([job, hopeless], "no json", False, "small", lambda j, d: [])
    sorted_pack.reask_same = []
    sorted_pack.escalate = [
        (job, "description: contains a number not in the facts (42)"),
        (hopeless, "attributes: required 'Страна' missing"),
    ]
    first = next_steps(sorted_pack, "small")
    assert first.retries == [job] and not job.escalated and first.escalations == 0
    assert [(f[0], f[1]) for f in first.failed] == [
        (hopeless, "card failed validation: attributes: required 'Страна' missing")
    ]
    sorted_pack.escalate = [(job, "description: contains a number not in the facts (42)")]
    second = next_steps(sorted_pack, "small")
    assert second.retries == [job] and job.escalated and second.escalations == 1
    third = next_steps(sorted_pack, "large")  # the large model failed too: no tier left above it
    assert third.retries == [] and third.failed[0][0] is job
    assert job.notes[-1].startswith("rejected from large:")

    lone = _job("C", escalation=False)
    sorted_pack.escalate = [(lone, "ru: too short")]
    next_steps(sorted_pack, "small")  # the first rejection: one more try at the same price
    assert next_steps(sorted_pack, "small").failed[0][0] is lone  # no larger model on its route


async def test_the_cost_splits_by_partner_by_output_and_evenly_when_nothing_came_back() -> None:
    jobs = [_job("A", partner=1), _job("B", partner=2), _job("C", partner=1)]
    shares = {s.partner_id: s for s in partner_shares(jobs, [300.0, 100.0, 0.0])}
    assert shares[1].item_ids == ["A", "C"] and shares[1].output_weight == 300.0
    assert shares[2].output_weight == 100.0 and shares[1].input_weight == 2 * 150
    even = {s.partner_id: s for s in partner_shares(jobs, [0.0, 0.0, 0.0])}
    assert even[1].output_weight == 2.0 and even[2].output_weight == 1.0
