"""The narrative flow: report text from metrics, cached and ledgered like cards but never packed (one
call per report), checked like cards: a narrative states only numbers in its facts, its Uzbek is Uzbek
in the Latin script (not Cyrillic, not Russian in Latin letters), and it carries no instruction residue.
An answer that fails a check goes to the next model tier, as a cut or unparseable one does.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from aimanager.domain.content import injection_error
from aimanager.domain.fact_numbers import numbers_in, unsupported_numbers
from aimanager.domain.uzbek import has_cyrillic, to_latin, uzbek_errors
from aimanager.llm import prompts
from aimanager.llm.accounting import Accounting
from aimanager.llm.budget import CUT_GROWTH, OutputBudgets
from aimanager.llm.cache import CacheStore, cache_key
from aimanager.llm.calls import Caller
from aimanager.llm.errors import ProviderHTTPError
from aimanager.llm.ledger import Share
from aimanager.llm.router import Router
from aimanager.llm.types import Narrative, NarrativeRequest, ProviderRequest

_WORD = re.compile(r"[^\W\d_]+(?:['`\u2018\u2019\u02bb\u02bc][^\W\d_]+)*")


class NarrativeFlow:
    """Narratives through the route's models, then its escalation models, until one passes."""

    def __init__(
        self,
        router: Router,
        caller: Caller,
        cache: CacheStore | None,
        accounting: Accounting,
        budgets: OutputBudgets,
    ) -> None:
        self.budgets = budgets
        self.router = router
        self.caller = caller
        self.cache = cache
        self.accounting = accounting

    async def write(self, request: NarrativeRequest) -> Narrative:
        """Narrative text for ``request`` (see ``Gateway.write_narrative``)."""
        self.caller.check_open()
        route = self.router.route(request.task_kind)
        key = cache_key(
            request.task_kind,
            route.tier,
            prompts.NARRATIVE_PROMPT_VERSION,
            [request.facts, list(request.languages)],
        )
        if self.cache is not None and (hit := (await self.cache.get_many([key])).get(key)):
            data = json.loads(hit)
            hit_row = (request.partner_id, request.task_kind, data["model"], key)
            await self.accounting.record_cache_hits([hit_row], prompts.NARRATIVE_PROMPT_VERSION)
            return Narrative(data["ru"], data["uz"], data["model"], "cache")
        await self.accounting.check_budget(request.partner_id)
        user = prompts.narrative_user_message(request.facts, request.languages)
        allowed = numbers_in(json.dumps(request.facts, ensure_ascii=False))
        last_problem = ""
        at_least = 0  # after a cut answer, the next ask gets more room than that one had
        for models in (route.models, route.escalation):
            if not models:
                continue

            def build(model: str, at_least: int = at_least) -> ProviderRequest:
                start = route.max_output_tokens_per_item
                budget = max(at_least, self.budgets.per_item(request.task_kind, model, start))
                budget = min(budget, self.budgets.call_cap(model))
                return ProviderRequest(model, prompts.NARRATIVE_SYSTEM, user, budget)

            # One small call per report: priority 0, not behind a backlog of card packs.
            item = [(request.partner_id, "narrative", 1.0)]
            ticket = self.accounting.ticket(request.task_kind, "realtime", item)
            ref, response = await self.caller.call(models, build, priority=0, ticket=ticket)
            await self.accounting.record_call(
                ref,
                response,
                "realtime",
                request.task_kind,
                [Share(request.partner_id, ["narrative"], 1, 1)],
                "ok",
                {"prompt": prompts.NARRATIVE_PROMPT_VERSION},
            )
            output = response.usage.output_tokens
            self.budgets.observe(request.task_kind, ref.model, output)  # a lower bound when cut
            if response.cut:
                at_least = math.ceil(output * CUT_GROWTH)
                last_problem = f"cut by max_tokens at {output} tokens"
                continue
            try:
                texts = prompts.parse_narrative_answer(response.text)
            except Exception as exc:
                last_problem = str(exc)
                continue
            invented = unsupported_numbers(texts["ru"] + "\n" + texts["uz"], allowed)
            if invented:
                last_problem = f"narrative states numbers not in the facts: {invented[:5]}"
                continue
            if problems := narrative_errors(texts, request.facts, request.languages):
                last_problem = "; ".join(problems)
                continue
            if self.cache is not None:
                value = json.dumps({**texts, "model": response.model}, ensure_ascii=False)
                await self.cache.put_many([(key, value, response.model)])
            return Narrative(texts["ru"], texts["uz"], response.model, "realtime")
        raise ProviderHTTPError(f"narrative could not be written: {last_problem}")


def narrative_errors(texts: dict[str, str], facts: dict[str, Any], languages: tuple[str, ...]) -> list[str]:
    """Script and residue checks of a narrative answer (numbers are checked by the caller).

    Product names quoted from ``facts`` may appear in the Uzbek text in Latin letters: they are names,
    not Russian passed off as Uzbek, so their transliterations are not scored.
    """
    problems: list[str] = []
    for lang in languages:
        if lang in ("ru", "uz") and not texts.get(lang, "").strip():
            problems.append(f"{lang}: narrative is empty")
    names = _WORD.findall(to_latin(json.dumps(facts, ensure_ascii=False)))
    problems.extend(uzbek_errors("uz", texts.get("uz", ""), names))
    ru = texts.get("ru", "")
    if ru.strip() and not has_cyrillic(ru):
        problems.append("ru: narrative has no Cyrillic letters (not Russian)")
    for lang in ("ru", "uz"):
        if problem := injection_error(lang, texts.get(lang, "")):
            problems.append(problem)
    return problems
