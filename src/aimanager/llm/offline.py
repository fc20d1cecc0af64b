"""The offline writer: deterministic cards and narratives from facts, with no network and no key.

It is the ``offline`` provider (the product works without an LLM key) and the brain of the LLM sandbox,
which answers the real SDKs' requests with these texts. Every string comes from the facts, so the cards
pass ``domain.validate.draft_errors``: titles ≤ 60 characters, no number that is not in the facts, Uzbek
in the Latin script (Cyrillic facts are transliterated).
"""

from __future__ import annotations

import json
from typing import Any

from aimanager.domain.cards import CardDraft, LocalizedCard, ProductFacts
from aimanager.domain.validate import MAX_TITLE
from aimanager.llm.errors import InvalidAnswer
from aimanager.llm.prompts import (
    CARD_PROMPT_VERSION,
    FACTS_MARKER,
    ITEMS_MARKER,
    NARRATIVE_PROMPT_VERSION,
    cut,
    read_document,
)

MODEL = "offline-writer"

_TRANSLIT = dict(
    zip(
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
        [
            "a",
            "b",
            "v",
            "g",
            "d",
            "e",
            "yo",
            "j",
            "z",
            "i",
            "y",
            "k",
            "l",
            "m",
            "n",
            "o",
            "p",
            "r",
            "s",
            "t",
            "u",
            "f",
            "x",
            "ts",
            "ch",
            "sh",
            "sh",
            "ʼ",
            "i",
            "",
            "e",
            "yu",
            "ya",
        ],
        strict=True,
    )
)
_TRANSLIT["ь"] = ""


def to_latin(text: str) -> str:
    """Russian Cyrillic → Uzbek Latin (the official 1995 alphabet's letter choices, simplified)."""
    out: list[str] = []
    for char in text:
        low = char.lower()
        if low in _TRANSLIT:
            latin = _TRANSLIT[low]
            out.append(latin.capitalize() if char != low else latin)
        elif "\u0400" <= char <= "\u04ff":
            out.append("")  # other Cyrillic letters (Uzbek ў, қ…) have no single mapping here
        else:
            out.append(char)
    return "".join(out)


def _title(facts: ProductFacts) -> str:
    name = facts.name.strip() or facts.sku
    brand = (facts.brand or "").strip()
    text = name if not brand or brand.lower() in name.lower() else f"{brand} {name}"
    return cut(text, MAX_TITLE) or cut(name, MAX_TITLE) or facts.sku[:MAX_TITLE]


def _bullets(facts: ProductFacts, latin: bool) -> list[str]:
    items = [f"{k}: {v}" for k, v in sorted(facts.attributes.items()) if v][:6]
    if facts.brand:
        items.insert(0, ("Brend: " if latin else "Бренд: ") + facts.brand)
    if facts.category:
        items.append(("Toifa: " if latin else "Категория: ") + facts.category)
    items = items[:6] or [facts.name]
    return [to_latin(b) for b in items] if latin else items


def _keywords(facts: ProductFacts, latin: bool) -> list[str]:
    words: list[str] = []
    for part in (facts.name, facts.brand or "", facts.category or ""):
        for word in part.replace(",", " ").split():
            clean = word.strip(".:;!?()[]\"'«»").lower()
            if len(clean) >= 3 and not any(c.isdigit() for c in clean) and clean not in words:
                words.append(clean)
    words = words[:8] or [facts.sku.lower()]
    return [to_latin(w) for w in words] if latin else words


def write_card(facts: ProductFacts) -> CardDraft:
    """A well-formed ru + uz card stating only what ``facts`` says."""
    title = _title(facts)
    details = "; ".join(f"{k}: {v}" for k, v in sorted(facts.attributes.items()) if v)
    ru_parts = [f"{title}."]
    if facts.category:
        ru_parts.append(f"Категория: {facts.category}.")
    if facts.description:
        text = cut(facts.description, 600)
        ru_parts.append(text if text.endswith((".", "!", "?")) else text + ".")
    if details:
        ru_parts.append(f"Характеристики: {details}.")
    uz_parts = [f"{to_latin(title)}."]
    if facts.brand:
        uz_parts.append(f"{to_latin(facts.brand)} brendi mahsuloti.")
    if facts.category:
        uz_parts.append(f"Toifa: {to_latin(facts.category)}.")
    if details:
        uz_parts.append(f"Xususiyatlari: {to_latin(details)}.")
    return CardDraft(
        ru=LocalizedCard(
            title=title,
            description=" ".join(ru_parts),
            bullets=_bullets(facts, latin=False),
            keywords=_keywords(facts, latin=False),
        ),
        uz=LocalizedCard(
            title=cut(to_latin(title), MAX_TITLE),
            description=" ".join(uz_parts),
            bullets=_bullets(facts, latin=True),
            keywords=_keywords(facts, latin=True),
        ),
        attributes={k: v for k, v in facts.attributes.items() if v},
    )


def _label(key: str) -> str:
    return key.replace("_", " ").strip().capitalize()


def write_narrative(facts: dict[str, Any], languages: tuple[str, ...] = ("ru", "uz")) -> dict[str, str]:
    """A plain narrative listing the metrics in each language (numbers only from ``facts``)."""
    lines = [f"{_label(k)}: {v}" for k, v in sorted(facts.items()) if v is not None and v != ""]
    body = "; ".join(lines)
    ru = f"Итоги периода. {body}." if lines else "Итоги периода: данных нет."
    uz = f"Davr yakunlari. {to_latin(body)}." if lines else "Davr yakunlari: maʼlumot yoʻq."
    return {"ru": ru if "ru" in languages else "", "uz": uz if "uz" in languages else ""}


def card_items(user_message: str) -> list[tuple[str, ProductFacts]]:
    """The (pack id, facts) pairs a card prompt asks about."""
    document = read_document(user_message, ITEMS_MARKER)
    return [(str(e["id"]), ProductFacts.model_validate(e["facts"])) for e in document.get("items", [])]


def answer(user_message: str) -> str:
    """Answer a gateway prompt as a model would: the strict JSON the system prompt asks for."""
    if f"TASK {CARD_PROMPT_VERSION}" in user_message:
        items = card_items(user_message)
        document: dict[str, Any] = {
            "items": [{"id": pid, "card": write_card(f).model_dump(mode="json")} for pid, f in items]
        }
    elif f"TASK {NARRATIVE_PROMPT_VERSION}" in user_message:
        request = read_document(user_message, FACTS_MARKER)
        languages = tuple(request.get("languages") or ("ru", "uz"))
        document = write_narrative(request.get("facts") or {}, languages)
    else:
        raise InvalidAnswer("the offline writer only answers the gateway's card and narrative prompts")
    return json.dumps(document, ensure_ascii=False)
