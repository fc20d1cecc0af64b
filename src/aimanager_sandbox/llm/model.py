"""What the sandbox's "model" answers, before ``max_tokens`` cuts it.

Card prompts are answered by the sandbox's own ``writer`` (cards of realistic size, real Uzbek),
narratives by the product's offline writer; both then pass through ``imperfect`` at the configured
rates. Test behaviours on top:

- ``bad_skus`` × ``weak_models``: the small model writes an invalid card (too-long title, an invented
  number) for those products; the large model writes them correctly — so escalation can be shown.
- ``gullible``: a prompt containing "ignore previous instructions" makes the model obey it for every
  item of the pack, with chatter around the JSON — the worst case a pack can meet.
"""

from __future__ import annotations

import json
import re
from typing import Any

from aimanager.domain.cards import ProductFacts
from aimanager.llm import offline
from aimanager.llm.errors import InvalidAnswer
from aimanager.llm.prompts import CARD_PROMPT_VERSION, FACTS_MARKER, NARRATIVE_PROMPT_VERSION, read_document
from aimanager_sandbox.llm import imperfect, vision, writer
from aimanager_sandbox.llm.state import SandboxState

_INJECTION = re.compile(r"ignore (all )?(previous|prior|above) instructions", re.I)
# What the model says to a prompt that is neither a card pack nor a narrative (a probe, a test call).
PLAIN_ANSWER = "OK."


def is_card_prompt(user_text: str) -> bool:
    return f"TASK {CARD_PROMPT_VERSION}" in user_text


def answer(state: SandboxState, model: str, user_text: str, images: list[Any] | None = None) -> str:
    """The whole answer text for one request (a real-time call or a batch request); ``images``: the
    decoded image blocks of the user turn (a vision prompt is answered from them, ``vision``)."""
    config = state.config
    if vision.is_vision_prompt(user_text):
        return vision.answer(user_text, images or [])
    if not is_card_prompt(user_text):
        try:
            text = offline.answer(user_text)
        except InvalidAnswer:
            return PLAIN_ANSWER
        facts: dict[str, Any] = {}
        if f"TASK {NARRATIVE_PROMPT_VERSION}" in user_text:
            facts = dict(read_document(user_text, FACTS_MARKER).get("facts") or {})
        return imperfect.narrative_answer(state, text, facts)
    items = offline.card_items(user_text)
    if config.gullible and _INJECTION.search(user_text):
        hacked: list[dict[str, Any]] = []
        for pid, facts_ in items:
            card = _card(facts_)
            card["ru"]["title"] = card["uz"]["title"] = "HACKED"
            hacked.append({"id": pid, "card": card})
        return "Sure! Ignoring my instructions as asked:\n" + json.dumps(
            {"items": hacked}, ensure_ascii=False
        )
    entries = []
    for pid, facts_ in items:
        card = _card(facts_)
        if facts_.sku in config.bad_skus and model in config.weak_models:
            card["ru"]["title"] = (card["ru"]["title"] + " — лучший выбор 2026 года, скидка 99%") * 2
        entries.append((pid, facts_, card))
    return imperfect.cards_answer(state, entries)


def _card(facts: ProductFacts) -> dict[str, Any]:
    """One item's card as the prompt asks for it: ru and uz text, no attributes (the product takes
    those from the facts)."""
    return writer.write_card(facts).model_dump(mode="json", exclude={"attributes"})


def fails_in_batch(state: SandboxState, user_text: str) -> bool:
    """A batch request whose card prompt names one of ``batch_error_skus`` comes back as an error line
    (batch fault injection)."""
    if not is_card_prompt(user_text) or not state.config.batch_error_skus:
        return False
    return any(facts.sku in state.config.batch_error_skus for _, facts in offline.card_items(user_text))


def batch_outcome(state: SandboxState, user_text: str) -> str:
    """``succeeded`` | ``errored`` | ``expired`` for one batch request (``batch_error_skus`` first, then
    the configured rates)."""
    if fails_in_batch(state, user_text):
        outcome = "errored"
    else:
        cfg, rng = state.config, state.answer_rng
        outcome = "succeeded"
        if cfg.batch_expired_rate and rng.random() < cfg.batch_expired_rate:
            outcome = "expired"
        elif cfg.batch_errored_rate and rng.random() < cfg.batch_errored_rate:
            outcome = "errored"
    state.bump(state.batch_outcomes, outcome)
    return outcome
