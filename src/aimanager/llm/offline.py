"""The offline writer: deterministic cards and narratives from facts, with no network and no key.

It is the ``offline`` provider (the product works without an LLM key), and the LLM sandbox builds on it
(pack parsing, narratives). It behaves like a careful model:

* every statement comes from the facts, so the cards pass ``domain.validate.draft_errors`` (titles ≤ 60
  characters, no number that is not in the facts);
* seller text that breaks the content rules (phones, links, messengers, promotion, instructions aimed at
  a model) is left out, never repeated;
* ``uz`` is Uzbek: glossary words and sentence templates (``domain.glossary``), names transliterated by
  the official alphabet (``domain.uzbek``), and a word it cannot render in Uzbek is quoted as a name
  rather than passed off as Uzbek; for Uzbek input the ``ru`` card is template Russian around the
  product's own names;
* narratives are sentences in both languages, quoting only the figures given.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

from aimanager.domain.cards import CardDraft, LocalizedCard, ProductFacts
from aimanager.domain.content import Licence, licence_for, publishable_attributes, safe_sentences
from aimanager.domain.glossary import Piece, knows_russian_for, to_russian, to_uzbek, translate
from aimanager.domain.rules import canonical_key
from aimanager.domain.uzbek import has_cyrillic, russian_evidence
from aimanager.domain.uzbek import to_latin as to_latin
from aimanager.domain.validate import MAX_TITLE, latin_names
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

_UZBEK_LETTERS = re.compile("[қғўҳҚҒЎҲ]")
_NAME_LIST = re.compile(r",\s+(?=[A-ZА-ЯЁЎҚҒҲ])")


def _sentences(text: str | None, licence: Licence) -> list[str]:
    return [s if s.endswith((".", "!", "?")) else s + "." for s in safe_sentences(text, licence)]


def is_uzbek_input(facts: ProductFacts) -> bool:
    """True when the seller wrote the facts in Uzbek (Cyrillic with қ/ғ/ў/ҳ, or Latin that reads Uzbek)."""
    text = "\n".join([facts.name, facts.category or "", facts.description or "", *facts.attributes])
    if _UZBEK_LETTERS.search(text):
        return True
    if has_cyrillic(text):
        return False
    evidence = russian_evidence(text)
    return evidence.uzbek >= 2 and evidence.uzbek > evidence.russian


def _title(facts: ProductFacts) -> str:
    name = facts.name.strip() or facts.sku
    brand = (facts.brand or "").strip()
    text = name if not brand or brand.lower() in name.lower() else f"{brand} {name}"
    return cut(text, MAX_TITLE) or cut(name, MAX_TITLE) or facts.sku[:MAX_TITLE]


def _join(pieces: Sequence[Piece], names: Iterable[str]) -> str:
    """Translated pieces as text; when words the glossary did not know make it read as Russian, those
    runs are quoted as names (a reader sees a name, not Russian passed off as Uzbek)."""
    text = "".join(p.text for p in pieces)
    if all(p.known for p in pieces) or not russian_evidence(text, names).is_russian:
        return text
    out: list[str] = []
    run: list[str] = []
    for piece in [*pieces, Piece("", True)]:
        if not piece.known or (run and not piece.text.strip() and piece.text):
            run.append(piece.text)
            continue
        if run:
            words = "".join(run)
            out.append(f"«{words.strip()}»" + words[len(words.rstrip()) :])
            run = []
        out.append(piece.text)
    return "".join(out)


def _uz(text: str, names: Iterable[str]) -> str:
    return _join(translate(text), names)


def _label(text: str) -> str:
    return text[:1].upper() + text[1:]


def _lower(text: str) -> str:
    """``text`` with a lower-case first letter, unless its first word is an acronym ("MXIK")."""
    first = text.split(" ", 1)[0]
    return text if first.isupper() and len(first) > 1 else text[:1].lower() + text[1:]


# Logistics and codes last: bullets (at most six) show what a buyer chooses by first.
_LATE = {"country": 1, "weight_g": 2, "length_mm": 2, "width_mm": 2, "height_mm": 2, "ikpu": 3}
_NOT_KEYWORDS = frozenset({"uchun", "bilan", "для", "или", "and", "for"})


def _ordered(attributes: dict[str, str]) -> list[tuple[str, str]]:
    return sorted(attributes.items(), key=lambda kv: (_LATE.get(canonical_key(kv[0]), 0), kv[0]))


def _keywords(parts: Iterable[str]) -> list[str]:
    words: list[str] = []
    for part in parts:
        for word in part.replace(",", " ").split():
            clean = word.strip(".:;!?()[]\"'«»").lower()
            if clean in _NOT_KEYWORDS:
                continue
            if len(clean) >= 3 and not any(c.isdigit() for c in clean) and clean not in words:
                words.append(clean)
    return words[:8]


def _ru_card(facts: ProductFacts, attrs: list[tuple[str, str]], licence: Licence) -> LocalizedCard:
    """Russian card from Russian facts."""
    title = _title(facts)
    parts = [f"{title}."]
    if facts.category:
        parts.append(f"Категория: {facts.category}.")
    parts.extend(_sentences(cut(facts.description or "", 600), licence))
    if attrs:
        parts.append("Характеристики: " + "; ".join(f"{k}: {v}" for k, v in attrs) + ".")
    bullets = [f"{k}: {v}" for k, v in attrs][:6]
    if facts.brand:
        bullets.insert(0, f"Бренд: {facts.brand}")
    if facts.category:
        bullets.append(f"Категория: {facts.category}")
    return LocalizedCard(
        title=title,
        description=" ".join(parts),
        bullets=bullets[:6] or [facts.name],
        keywords=_keywords([facts.name, facts.brand or "", facts.category or ""]) or [facts.sku.lower()],
    )


def _uz_card(facts: ProductFacts, attrs: list[tuple[str, str]], licence: Licence) -> LocalizedCard:
    """Uzbek card from Russian facts: glossary and templates, names transliterated."""
    names = latin_names(facts)
    title = cut(_uz(_title(facts), names), MAX_TITLE)
    parts = [f"{title}."]
    if facts.brand:
        parts.append(f"{to_latin(facts.brand)} brendining mahsuloti.")
    category = _uz(facts.category, names) if facts.category else ""
    if category:
        parts.append(f"Toifasi: {category}.")
    for sentence in _sentences(cut(facts.description or "", 600), licence):
        pieces = translate(sentence)
        if all(p.known for p in pieces):  # free text the glossary cannot render is left out
            parts.append("".join(p.text for p in pieces))
    pairs = [(_uz(k, names), _uz(v, names)) for k, v in attrs]
    if pairs:
        parts.append("Asosiy xususiyatlari: " + "; ".join(f"{_lower(k)} — {v}" for k, v in pairs) + ".")
    bullets = [f"{_label(k)}: {v}" for k, v in pairs][:6]
    if facts.brand:
        bullets.insert(0, f"Brend: {to_latin(facts.brand)}")
    if category:
        bullets.append(f"Toifa: {category}")
    keywords = _keywords([title, to_latin(facts.brand or ""), category])
    return LocalizedCard(
        title=title,
        description=" ".join(dict.fromkeys(parts)),
        bullets=bullets[:6] or [title],
        keywords=keywords or [to_latin(facts.sku.lower())],
    )


def _from_uzbek(
    facts: ProductFacts, attrs: list[tuple[str, str]], licence: Licence
) -> tuple[LocalizedCard, LocalizedCard]:
    """(ru, uz) cards from Uzbek facts: Uzbek in Latin, and template Russian around the product's names."""
    name = _title(facts)
    uz_title = cut(to_latin(name), MAX_TITLE)
    uz_category = to_latin(facts.category or "")
    uz_pairs = [(to_latin(k), to_latin(v)) for k, v in attrs]
    uz_parts = [f"{uz_title}."]
    if facts.brand:
        uz_parts.append(f"{to_latin(facts.brand)} brendining mahsuloti.")
    if uz_category:
        uz_parts.append(f"Toifasi: {uz_category}.")
    uz_parts.extend(to_latin(s) for s in _sentences(cut(facts.description or "", 600), licence))
    if uz_pairs:
        uz_parts.append("Asosiy xususiyatlari: " + "; ".join(f"{k} — {v}" for k, v in uz_pairs) + ".")
    uz = LocalizedCard(
        title=uz_title,
        description=" ".join(uz_parts),
        bullets=([f"Brend: {to_latin(facts.brand)}"] if facts.brand else [])
        + [f"{k}: {v}" for k, v in uz_pairs][:5]
        or [uz_title],
        keywords=_keywords([uz_title, uz_category]) or [facts.sku.lower()],
    )
    ru_title = to_russian(name)
    if not knows_russian_for(name) or not has_cyrillic(ru_title):
        kind = (
            to_russian(facts.category or "") if facts.category and knows_russian_for(facts.category) else ""
        )
        ru_title = cut(f"{kind or 'Товар'} {ru_title}", MAX_TITLE)
    ru_pairs = [(to_russian(k), to_russian(v)) for k, v in attrs]
    ru_parts = [f"{ru_title}."]
    if facts.brand:
        ru_parts.append(f"Товар бренда {facts.brand}.")
    if facts.category:
        ru_parts.append(f"Категория: {to_russian(facts.category)}.")
    ru_parts.append(f"Название у продавца: «{facts.name}».")
    if ru_pairs:
        ru_parts.append("Характеристики: " + "; ".join(f"{k}: {v}" for k, v in ru_pairs) + ".")
    ru = LocalizedCard(
        title=ru_title,
        description=" ".join(ru_parts),
        bullets=([f"Бренд: {facts.brand}"] if facts.brand else []) + [f"{k}: {v}" for k, v in ru_pairs][:5]
        or [ru_title],
        keywords=_keywords([ru_title, to_russian(facts.category or "")]) or [facts.sku.lower()],
    )
    return ru, uz


def write_card(facts: ProductFacts) -> CardDraft:
    """A well-formed ru + uz card stating only what ``facts`` says (and none of its contacts)."""
    licence = licence_for(facts)
    attrs = _ordered(publishable_attributes(facts))
    if is_uzbek_input(facts):
        ru, uz = _from_uzbek(facts, attrs, licence)
    else:
        ru, uz = _ru_card(facts, attrs, licence), _uz_card(facts, attrs, licence)
    return CardDraft(ru=ru, uz=uz, attributes=dict(attrs))


# -- narrative ------------------------------------------------------------------------------------------
# metric key → (Russian sentence, Uzbek sentence); {v} is the value, {c} the currency.
_NARRATIVE: dict[str, tuple[str, str]] = {
    "revenue": ("Выручка за период — {v} {c}.", "Davr uchun tushum — {v} {c}."),
    "units": ("Продано единиц товара: {v}.", "Sotilgan mahsulotlar soni: {v} dona."),
    "margin": ("Маржа составила {v} {c}.", "Marja — {v} {c}."),
    "margin_pct": ("Маржинальность — {v} %.", "Marja ulushi — {v} %."),
    "a_class_skus": (
        "Основную выручку (группа A по ABC-анализу) приносят товары в количестве {v}.",
        "Asosiy tushumni (ABC tahlilida A guruhi) keltiradigan mahsulotlar soni: {v}.",
    ),
    "top_products": ("Лидеры продаж: {v}.", "Eng koʻp sotilgan mahsulotlar: {v}."),
    "out_of_stock_skus": ("Нет в наличии позиций: {v}.", "Omborda qolmagan mahsulotlar soni: {v}."),
    "low_stock_skus": ("Заканчиваются на складе позиций: {v}.", "Omborda kam qolgan mahsulotlar soni: {v}."),
    "dearer_than_competitor": (
        "Дороже конкурентов продаются позиций: {v}.",
        "Raqobatchilarnikidan qimmatroq sotilayotgan mahsulotlar soni: {v}.",
    ),
    "ai_spend_usd": ("Расходы на ИИ — {v} USD.", "Sunʼiy intellekt xarajatlari — {v} USD."),
}


def write_narrative(facts: dict[str, Any], languages: tuple[str, ...] = ("ru", "uz")) -> dict[str, str]:
    """A short report in sentences, in each language, quoting only the figures in ``facts``."""
    currency = str(facts.get("currency") or "")
    ru: list[str] = []
    uz: list[str] = []
    for key, value in facts.items():
        if value is None or value == "" or key == "currency":
            continue
        text = str(value)
        if key in _NARRATIVE:
            ru_t, uz_t = _NARRATIVE[key]
            uz_value = text
            if key == "top_products":  # names joined by ", "; "1,7 л" inside a name is not a separator
                uz_value = ", ".join(_uz(n, ()) for n in _NAME_LIST.split(text))
            ru.append(ru_t.format(v=text, c=currency).replace("  ", " ").replace(" .", "."))
            uz.append(uz_t.format(v=to_latin(uz_value), c=currency).replace("  ", " ").replace(" .", "."))
        else:
            ru.append(f"Показатель «{key}»: {text}.")
            uz.append(f"«{key}» koʻrsatkichi: {to_latin(to_uzbek(text))}.")
    ru_text = ("Итоги периода. " + " ".join(ru)) if ru else "За период данных нет."
    uz_text = ("Davr yakunlari. " + " ".join(uz)) if uz else "Bu davr uchun maʼlumot yoʻq."
    return {"ru": ru_text if "ru" in languages else "", "uz": uz_text if "uz" in languages else ""}


def card_items(user_message: str) -> list[tuple[str, ProductFacts]]:
    """The (pack id, facts) pairs a card prompt asks about."""
    document = read_document(user_message, ITEMS_MARKER)
    return [(str(e["id"]), ProductFacts.model_validate(e["facts"])) for e in document.get("items", [])]


def answer(user_message: str) -> str:
    """Answer a gateway prompt as a model would: the strict JSON the system prompt asks for."""
    if f"TASK {CARD_PROMPT_VERSION}" in user_message:
        items = card_items(user_message)
        document: dict[str, Any] = {
            # The card prompt asks for no attributes: the gateway takes them from the facts.
            "items": [
                {"id": pid, "card": write_card(f).model_dump(mode="json", exclude={"attributes"})}
                for pid, f in items
            ]
        }
    elif f"TASK {NARRATIVE_PROMPT_VERSION}" in user_message:
        request = read_document(user_message, FACTS_MARKER)
        languages = tuple(request.get("languages") or ("ru", "uz"))
        document = write_narrative(request.get("facts") or {}, languages)
    else:
        raise InvalidAnswer("the offline writer only answers the gateway's card and narrative prompts")
    return json.dumps(document, ensure_ascii=False)
