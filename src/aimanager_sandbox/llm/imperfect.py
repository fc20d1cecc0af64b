"""The imperfect model: answers that go wrong the ways real ones do, each kind at its own rate.

Per call (the whole answer): ``refusal`` (the answer is only a refusal sentence), ``invalid_json`` (an
unescaped quote early in the JSON: nothing after it parses), ``chatter`` (prose and a code fence around
the JSON). Per item of a card pack: ``missing_item`` (the entry is left out), ``uz_cyrillic`` (the
Uzbek text in the Cyrillic script), ``invented_number`` (a number that is not in the facts),
``empty_uz`` (the Uzbek description left empty: one language of two skipped). Narratives meet the
per-call kinds, ``uz_cyrillic`` and ``invented_number``.
Every injected answer is counted in ``state.bad_answers``; the dice are ``state.answer_rng`` (seeded).
"""

from __future__ import annotations

import json
from typing import Any

from aimanager.domain.cards import ProductFacts
from aimanager.domain.fact_numbers import facts_text, numbers_in
from aimanager_sandbox.llm import uzbek
from aimanager_sandbox.llm.state import SandboxState

REFUSAL = "I can't help with that request."
CHATTER_BEFORE = "Here are the product cards you asked for:\n\n```json\n"
CHATTER_AFTER = "\n```\n\nLet me know if you would like any changes."
_CANDIDATES = (7, 3, 12, 24, 36, 48, 5, 9, 15, 99, 250, 1000)


def _due(state: SandboxState, kind: str) -> bool:
    rate = float(getattr(state.config, f"{kind}_rate"))
    if rate <= 0 or state.answer_rng.random() >= rate:
        return False
    state.bump(state.bad_answers, kind)
    return True


def invented_number(allowed: set[str]) -> int:
    """A number that ``allowed`` (normalised numbers of the facts) does not contain."""
    return next((n for n in _CANDIDATES if str(n) not in allowed), 777)


def _uz_in_cyrillic(card: dict[str, Any]) -> None:
    uz = card["uz"]
    uz["title"] = uzbek.to_cyrillic(uz["title"])
    uz["description"] = uzbek.to_cyrillic(uz["description"])
    uz["bullets"] = [uzbek.to_cyrillic(b) for b in uz["bullets"]]
    uz["keywords"] = [uzbek.to_cyrillic(k) for k in uz["keywords"]]


def spoil_item(state: SandboxState, facts: ProductFacts, card: dict[str, Any]) -> dict[str, Any] | None:
    """The card as the imperfect model writes it (None: the model left the item out)."""
    if _due(state, "missing_item"):
        return None
    if _due(state, "uz_cyrillic"):
        _uz_in_cyrillic(card)
    if _due(state, "invented_number"):
        n = invented_number(numbers_in(facts_text(facts)))
        card["ru"]["description"] += f" Количество предметов в наборе: {n}."
    if _due(state, "empty_uz"):
        card["uz"]["description"] = ""
    return card


def _break_json(text: str) -> str:
    """``text`` with an unescaped quote inside its first string value (what a model that forgets to
    escape a quoted model name writes): the JSON no longer parses from there on."""
    for key in ('"description": "', '"ru": "', '"title": "'):
        at = text.find(key)
        if at >= 0:
            at += len(key)
            return f'{text[:at]}серия "Classic" {text[at:]}'
    return text[: max(1, len(text) // 2)]


def spoil_call(state: SandboxState, text: str) -> str:
    """The per-call kinds, applied to a whole answer ``text`` (after the per-item ones)."""
    if _due(state, "invalid_json"):
        text = _break_json(text)
    if _due(state, "chatter"):
        text = f"{CHATTER_BEFORE}{text}{CHATTER_AFTER}"
    return text


def cards_answer(state: SandboxState, entries: list[tuple[str, ProductFacts, dict[str, Any]]]) -> str:
    """The answer to a card prompt: ``{"items": [...]}`` with every imperfection due."""
    if _due(state, "refusal"):
        return REFUSAL
    items = []
    for pid, facts, card in entries:
        spoiled = spoil_item(state, facts, card)
        if spoiled is not None:
            items.append({"id": pid, "card": spoiled})
    return spoil_call(state, json.dumps({"items": items}, ensure_ascii=False))


def narrative_answer(state: SandboxState, text: str, facts: dict[str, Any]) -> str:
    """The offline writer's narrative ``text`` as the imperfect model writes it."""
    if _due(state, "refusal"):
        return REFUSAL
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        return spoil_call(state, text)
    if isinstance(document, dict) and document.get("uz") and _due(state, "uz_cyrillic"):
        document["uz"] = uzbek.to_cyrillic(str(document["uz"]))
    if isinstance(document, dict) and document.get("ru") and _due(state, "invented_number"):
        allowed = numbers_in(json.dumps(facts, ensure_ascii=False))
        document["ru"] = f"{document['ru']} Рост составил {invented_number(allowed)} %."
    return spoil_call(state, json.dumps(document, ensure_ascii=False))
