"""The sandbox's card writer: cards of the size and language a real model writes.

Per item, Russian and Uzbek (Latin): a title within every marketplace's limit, a description of
~900-1,400 characters (marketplaces expect 800-2,000), five bullets, 8-12 keywords and the attributes
(the card prompt asks for none: ``model`` leaves them out).
Every property comes from the facts; the rest is use-and-care prose from ``texts`` that states no
property, so a card holds no number and no claim the facts do not license, and passes the product's
validator. Uzbek is written as Uzbek: glossary translations of the catalog's words and values, Uzbek
sentences; only unknown words are transliterated (official alphabet).

Choices (intro, order of closing sentences, lengths) are drawn from a seed of the product's family —
category, brand, kind and attribute names, not its SKU — so items of one family cost the same tokens.
"""

from __future__ import annotations

import hashlib
import random
import re
from dataclasses import dataclass

from aimanager.domain.cards import CardDraft, LocalizedCard, ProductFacts
from aimanager.domain.rules import canonical_key, fit_title
from aimanager.domain.validate import MAX_TITLE, content_errors
from aimanager.llm.prompts import cut
from aimanager_sandbox.llm import uzbek
from aimanager_sandbox.llm.texts import FILLER_RU, FILLER_UZ, Topic, topic_for

DESCRIPTION_MAX = 1950  # under Wildberries' 2,000 with room to spare
FACTS_DESCRIPTION_MAX = 600
TARGET_LENGTH = (850, 1200)  # characters of each description, drawn per product family
DIMENSIONS = ("length_mm", "width_mm", "height_mm")
_LAST = {"color": 1, "country": 2, "weight_g": 4, "length_mm": 3, "width_mm": 3, "height_mm": 3}


@dataclass(frozen=True, slots=True)
class Prop:
    """One fact attribute as a card states it in both languages."""

    canonical: str
    label_ru: str
    value_ru: str
    label_uz: str
    value_uz: str


def _value(value: str, unit: str, uz: bool) -> str:
    if not unit:
        return uzbek.translate(value) if uz else value
    if unit.lower().startswith("от "):  # "Возраст, от лет" = 6 → "от 6 лет" / "6 yoshdan"
        return f"{value} {uzbek.unit(unit)}" if uz else f"от {value} {unit[3:]}"
    return f"{uzbek.translate(value)} {uzbek.unit(unit)}" if uz else f"{value} {unit}"


def properties(facts: ProductFacts) -> list[Prop]:
    """The facts' attributes in the order a card lists them: the product's own properties first, then
    colour, country, package size and weight; the IKPU code is an attribute, not prose."""
    props = []
    for key, value in facts.attributes.items():
        canonical = canonical_key(key)
        if not value.strip() or canonical in ("ikpu", "brand"):
            continue
        label, unit = uzbek.split_unit(key)
        props.append(
            Prop(canonical, label, _value(value, unit, False), uzbek.label(label), _value(value, unit, True))
        )
    return sorted(props, key=lambda p: _LAST.get(p.canonical, 0))


def _package(props: list[Prop]) -> tuple[str, str] | None:
    """``("274 × 251 × 246 мм", "274 × 251 × 246 mm")`` when all three sides share one unit."""
    sides = [next((p for p in props if p.canonical == c), None) for c in DIMENSIONS]
    if any(side is None for side in sides):
        return None
    parts = [s.value_ru.rsplit(" ", 1) for s in sides if s is not None]
    if any(len(p) != 2 for p in parts) or len({p[1] for p in parts}) != 1:
        return None
    numbers = " × ".join(p[0] for p in parts)
    return f"{numbers} {parts[0][1]}", f"{numbers} {uzbek.unit(parts[0][1])}"


def _seed(facts: ProductFacts, topic: Topic) -> int:
    family = "|".join([facts.category or "", facts.brand or "", topic.stems[:1][0] if topic.stems else ""])
    family += "|" + "|".join(sorted(facts.attributes))
    return int.from_bytes(hashlib.sha256(family.encode()).digest()[:8], "big")


def titles(facts: ProductFacts) -> tuple[str, str]:
    """Russian and Uzbek titles within ``MAX_TITLE``: the product's name, brand first if it lacks one."""
    name = " ".join(facts.name.split()) or facts.sku
    brand = (facts.brand or "").strip()
    ru = name if not brand or brand.lower() in name.lower() else f"{brand} {name}"
    ru = fit_title(ru, MAX_TITLE)[0] or name[:MAX_TITLE]
    head, rest = uzbek.title_head(ru)
    uz = f"{head} {uzbek.translate(rest)}".strip() if head else uzbek.translate(ru)
    return ru.rstrip(" ,;:-"), fit_title(uz, MAX_TITLE)[0].rstrip(" ,;:-") or uzbek.to_latin(ru)


def _fill(paragraphs: list[str], fillers: tuple[str, ...], target: int, rng: random.Random) -> str:
    text = "\n".join(p for p in paragraphs if p)
    closing: list[str] = []
    for sentence in rng.sample(fillers, len(fillers)):
        if len(text) + len(" ".join(closing)) >= target:
            break
        if len(text) + len(" ".join([*closing, sentence])) + 1 > DESCRIPTION_MAX:
            continue
        closing.append(sentence)
    return f"{text}\n{' '.join(closing)}" if closing else text


def _sentence(text: str) -> str:
    text = text.strip()
    return text if not text or text.endswith((".", "!", "?")) else text + "."


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def seller_sentences(facts: ProductFacts) -> str:
    """The seller's own description, as a careful model repeats it: cut to a paragraph, and only the
    sentences the product's validator accepts — a link, markup or an instruction aimed at the model in
    seller text is left out, never copied into the card."""
    kept = []
    for sentence in _SENTENCE_END.split(cut(facts.description or "", FACTS_DESCRIPTION_MAX)):
        probe = CardDraft(
            ru=LocalizedCard(title=facts.name, description=_sentence(sentence)),
            uz=LocalizedCard(title="x", description="x"),
        )
        if sentence.strip() and not any("ru.description" in e for e in content_errors(facts, probe, ("ru",))):
            kept.append(_sentence(sentence))
    return " ".join(kept)


def _intros_ru(facts: ProductFacts, title: str) -> list[str]:
    brand, category = (facts.brand or "").strip(), (facts.category or "").strip()
    by = f" бренда {brand}" if brand else ""
    where = f" из категории «{category}»" if category else ""
    return [
        f"{title} — товар{by}{where}.",
        f"{title}{by} — выбор для тех, кто хочет заранее знать все характеристики товара.",
        f"В этой карточке — {title}{by}. Ниже собраны характеристики, которые указал производитель, "
        "и советы по использованию.",
    ]


def _intros_uz(facts: ProductFacts, title: str) -> list[str]:
    brand = (facts.brand or "").strip()
    category = uzbek.translate((facts.category or "").strip())
    of = f"{brand} brendining " if brand else ""
    where = f"«{category}» toifasidagi " if category else ""
    return [
        f"{title} — {of}{where}mahsuloti.",
        f"{title}"
        + (f", {brand} brendi" if brand else "")
        + ": kartochkada ishlab chiqaruvchi koʻrsatgan barcha xususiyatlar jamlangan.",
        f"{title} — xususiyatlarini oldindan bilib olmoqchi boʻlganlar uchun qulay tanlov.",
    ]


def _facts_lines(props: list[Prop], uz: bool) -> str:
    """The properties as sentences: the product's own in one list, then colour, country, package."""
    main = [p for p in props if p.canonical not in _LAST]
    lines = []
    if main:
        head = "Asosiy xususiyatlari: " if uz else "Основные характеристики: "
        pairs = [(p.label_uz, p.value_uz) if uz else (p.label_ru, p.value_ru) for p in main]
        lines.append(head + "; ".join(f"{label.lower()} — {value}" for label, value in pairs) + ".")
    for p in props:
        if p.canonical in ("color", "country"):
            lines.append(f"{p.label_uz} — {p.value_uz}." if uz else f"{p.label_ru} — {p.value_ru}.")
    package = _package(props)
    weight = next((p for p in props if p.canonical == "weight_g"), None)
    weight_text = (weight.value_uz if uz else weight.value_ru) if weight else ""
    if package:
        size = f"Qadoq oʻlchamlari — {package[1]}" if uz else f"Габариты упаковки — {package[0]}"
        tail = (f", ogʻirligi — {weight_text}" if uz else f", вес — {weight_text}") if weight else ""
        lines.append(f"{size}{tail}.")
    elif weight:
        lines.append(f"Ogʻirligi — {weight_text}." if uz else f"Вес — {weight_text}.")
    return " ".join(lines)


def describe_ru(facts: ProductFacts, title: str, props: list[Prop], topic: Topic, rng: random.Random) -> str:
    own = seller_sentences(facts)
    paragraphs = [rng.choice(_intros_ru(facts, title)), own, _facts_lines(props, uz=False), topic.ru]
    return _fill(paragraphs, FILLER_RU, rng.randint(*TARGET_LENGTH), rng)


def describe_uz(facts: ProductFacts, title: str, props: list[Prop], topic: Topic, rng: random.Random) -> str:
    # The facts' own description is Russian prose: the Uzbek text states the same facts from the
    # attributes instead of transliterating it.
    paragraphs = [rng.choice(_intros_uz(facts, title)), _facts_lines(props, uz=True), topic.uz]
    return _fill(paragraphs, FILLER_UZ, rng.randint(*TARGET_LENGTH), rng)


def bullets(facts: ProductFacts, props: list[Prop], topic: Topic) -> tuple[list[str], list[str]]:
    """Five bullets per language: four facts, then use."""
    pairs: list[tuple[str, str]] = []
    if facts.brand:
        pairs.append((f"Бренд: {facts.brand}", f"Brend: {facts.brand}"))
    pairs += [
        (f"{p.label_ru}: {p.value_ru}", f"{p.label_uz}: {p.value_uz}")
        for p in props
        if p.canonical not in DIMENSIONS
    ]
    package = _package(props)
    if package:
        pairs.append((f"Габариты упаковки: {package[0]}", f"Qadoq oʻlchamlari: {package[1]}"))
    pairs = pairs[:4] + list(zip(topic.bullets_ru, topic.bullets_uz, strict=True))
    return [ru for ru, _ in pairs[:5]], [uz for _, uz in pairs[:5]]


def keywords(facts: ProductFacts, topic: Topic, rng: random.Random) -> tuple[list[str], list[str]]:
    """8-12 search phrases per language, without numbers."""
    brand = (facts.brand or "").strip()
    kind = " ".join(w for w in facts.name.split()[:2] if not any(c.isdigit() for c in w)).lower().strip(",")
    head, _ = uzbek.title_head(facts.name)
    ru = [kind, f"{topic.keywords_ru[0]} {brand}".strip(), brand, (facts.category or "").lower()]
    uz = [head.lower(), f"{topic.keywords_uz[0]} {brand}".strip(), brand]
    uz.append(uzbek.translate(facts.category or "").lower())
    count = rng.randint(8, 12)
    return _phrases(ru + list(topic.keywords_ru), count), _phrases(uz + list(topic.keywords_uz), count)


def _phrases(words: list[str], count: int) -> list[str]:
    clean = [w.strip() for w in words if w.strip() and not any(c.isdigit() for c in w)]
    return list(dict.fromkeys(clean))[:count]


def write_card(facts: ProductFacts) -> CardDraft:
    """A ru + uz card of realistic size stating only what ``facts`` says."""
    topic = topic_for(f"{facts.name} {facts.category or ''}")
    rng = random.Random(_seed(facts, topic))
    props = properties(facts)
    title_ru, title_uz = titles(facts)
    bullets_ru, bullets_uz = bullets(facts, props, topic)
    keywords_ru, keywords_uz = keywords(facts, topic, rng)
    return CardDraft(
        ru=LocalizedCard(
            title=title_ru,
            description=describe_ru(facts, title_ru, props, topic, rng),
            bullets=bullets_ru,
            keywords=keywords_ru,
        ),
        # A model asked for Uzbek in Latin script writes it so even where the facts (an Uzbek product
        # name, a brand) are in Cyrillic.
        uz=LocalizedCard(
            title=uzbek.to_latin(title_uz),
            description=uzbek.to_latin(describe_uz(facts, title_uz, props, topic, rng)),
            bullets=[uzbek.to_latin(b) for b in bullets_uz],
            keywords=[uzbek.to_latin(k) for k in keywords_uz],
        ),
        attributes={k: v for k, v in facts.attributes.items() if v.strip()},
    )
