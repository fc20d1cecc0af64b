"""Checks every card passes before it is accepted, whatever model wrote it.

These are the gateway's own checks (format and grounding); the pipelines' richer validator is passed in
``CardRequest.validator`` and runs after these. A card that fails is re-asked alone, then escalated.
"""

from __future__ import annotations

import re

from aimanager.domain.cards import CardDraft, LocalizedCard, ProductFacts

MAX_TITLE = 60  # Wildberries, the strictest marketplace
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_WORD = re.compile(r"[^\W\d_]{3,}", re.UNICODE)
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")


def numbers_in(text: str) -> set[str]:
    """Numbers in ``text``, normalised (``1,5`` == ``1.5``; every part of ``1.5.2`` counts too)."""
    found: set[str] = set()
    for match in _NUMBER.findall(text):
        normal = match.replace(",", ".")
        found.add(normal)
        found.update(part for part in normal.split(".") if part)
    return found


def facts_text(facts: ProductFacts) -> str:
    """All text of the facts, the only place a card may take a number from."""
    parts = [facts.sku, facts.name, facts.brand or "", facts.category or "", facts.barcode or ""]
    parts.append(facts.description or "")
    for key, value in facts.attributes.items():
        parts.extend((key, value))
    return "\n".join(parts)


def card_text(card: LocalizedCard) -> str:
    return "\n".join([card.title, card.description, *card.bullets, *card.keywords])


def check_card(facts: ProductFacts, draft: CardDraft) -> list[str]:
    """Problems with ``draft`` as a card for ``facts`` (empty list = acceptable)."""
    problems: list[str] = []
    for lang, card in (("ru", draft.ru), ("uz", draft.uz)):
        if not card.title.strip():
            problems.append(f"{lang}: empty title")
        if len(card.title) > MAX_TITLE:
            problems.append(f"{lang}: title is {len(card.title)} chars (max {MAX_TITLE})")
        if not card.description.strip():
            problems.append(f"{lang}: empty description")
        if "<" in card_text(card) and re.search(r"<[a-zA-Z/!]", card_text(card)):
            problems.append(f"{lang}: contains HTML")
    if _CYRILLIC.search(card_text(draft.uz)):
        problems.append("uz: not in the Latin script")
    allowed = numbers_in(facts_text(facts))
    stated = numbers_in(card_text(draft.ru) + "\n" + card_text(draft.uz))
    stated |= numbers_in("\n".join(draft.attributes.values()))
    invented = sorted(stated - allowed)
    if invented:
        problems.append(f"states numbers not in the facts: {', '.join(invented[:5])}")
    # Grounding: the Russian title must name this product. A card written for another item of the pack
    # (a model confused by injected text) fails here and is re-asked alone.
    own_words = {w.lower() for w in _WORD.findall(f"{facts.name} {facts.brand or ''}")}
    title_words = {w.lower() for w in _WORD.findall(draft.ru.title)}
    if own_words and not own_words & title_words:
        problems.append("ru: title does not name the product")
    return problems
