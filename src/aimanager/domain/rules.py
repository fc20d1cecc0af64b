"""Per-marketplace card rules and the per-marketplace variant cut from one ``CardDraft``.

One generation serves all four marketplaces (ARCHITECTURE §2): the draft carries the full Russian and
Uzbek text; :func:`variant_for` cuts each marketplace's card from it by code — title shortened at a
word boundary to the marketplace limit, markup stripped, attributes renamed to the marketplace's
labels, Uzbek text only where the marketplace takes it.

Limits (marketplace-apis.md): WB title ≤ 60, description ≤ 5000 by category with 2000 standard (§3.3);
Ozon name ≤ 500 (§4.4; description limit is not in the spec, gap G-4 — 6000 assumed like YM);
YM name ≤ 256, description ≤ 6000, forbidden sales words, no ALL CAPS, no links or contacts (§5.3);
Uzum name and description in Russian and Uzbek (Latin), name of at least three words, at least three
characteristics, country, weight, dimensions and IKPU required (§2.4; length limits not found, gap G-2 —
255/5000 assumed). YM for Uzbek sellers also needs the Uzbek name/description and IKPU (§5.3).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from aimanager.domain.cards import CardDraft, ProductFacts
from aimanager.domain.enums import Marketplace


@dataclass(frozen=True)
class CardRules:
    """What one marketplace accepts in a card."""

    marketplace: Marketplace
    title_max: int
    description_max: int
    languages: tuple[str, ...]  # "ru" always; "uz" where the marketplace needs both
    required_attributes: tuple[str, ...]  # canonical keys, see ATTRIBUTE_ALIASES
    title_min_words: int = 1
    description_min: int = 30
    min_attributes: int = 0
    forbidden_words: tuple[str, ...] = ()  # lower case; "stem*" matches any ending
    no_caps_words: bool = False  # YM: no ALL CAPS except brand names
    source: str = ""  # reference section the rules come from


# YM §5.3: sales terms and emotional words are rejected by moderation ("stem*" = any word ending).
YM_FORBIDDEN = (
    "скидк*",
    "распродаж*",
    "дешев*",
    "дешёв*",
    "подар*",
    "бесплатн*",
    "акци*",
    "специальная цена",
    "новинк*",
    "new",
    "аналог*",
    "заказ*",
    "хит",
    "хиты",
    "супер*",
)

RULES: dict[Marketplace, CardRules] = {
    Marketplace.WILDBERRIES: CardRules(
        Marketplace.WILDBERRIES,
        title_max=60,
        description_max=2000,
        languages=("ru",),
        required_attributes=("brand", "country", "length_mm", "width_mm", "height_mm"),
        source="marketplace-apis.md §3.3",
    ),
    Marketplace.OZON: CardRules(
        Marketplace.OZON,
        title_max=500,
        description_max=6000,
        languages=("ru",),
        required_attributes=("brand", "weight_g", "length_mm", "width_mm", "height_mm"),
        source="marketplace-apis.md §4.4 (description limit assumed, gap G-4)",
    ),
    Marketplace.YANDEX: CardRules(
        Marketplace.YANDEX,
        title_max=256,
        description_max=6000,
        languages=("ru", "uz"),
        required_attributes=("brand", "ikpu"),
        forbidden_words=YM_FORBIDDEN,
        no_caps_words=True,
        source="marketplace-apis.md §5.3",
    ),
    Marketplace.UZUM: CardRules(
        Marketplace.UZUM,
        title_max=255,
        description_max=5000,
        languages=("ru", "uz"),
        required_attributes=("brand", "country", "weight_g", "length_mm", "width_mm", "height_mm", "ikpu"),
        title_min_words=3,
        min_attributes=3,
        source="marketplace-apis.md §2.4 (length limits assumed, gap G-2)",
    ),
}

# Version of each marketplace's card rules above (limits, languages, labels, forbidden words): part of
# a card's input hash, so raising one regenerates that marketplace's cards and no other's.
RULES_VERSION: dict[Marketplace, str] = {
    Marketplace.WILDBERRIES: "wb/1",
    Marketplace.OZON: "ozon/1",
    Marketplace.YANDEX: "ym/1",
    Marketplace.UZUM: "uzum/1",
}


def card_languages(marketplace: Marketplace, wanted: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """The languages ``marketplace``'s card carries for a partner that wants ``wanted``."""
    return tuple(lang for lang in RULES[marketplace].languages if lang in wanted)


# Canonical attribute key → names it is known by in catalogs (lower case, punctuation-insensitive).
ATTRIBUTE_ALIASES: dict[str, tuple[str, ...]] = {
    "brand": ("brand", "бренд", "марка", "торговая марка", "brend"),
    "country": ("country", "страна", "страна производства", "страна производитель", "ishlab chiqarilgan"),
    "weight_g": ("weight_g", "weight", "вес", "вес г", "вес товара", "вес товара г", "масса", "масса г"),
    "length_mm": ("length_mm", "length", "длина", "длина мм", "длина упаковки мм"),
    "width_mm": ("width_mm", "width", "ширина", "ширина мм", "ширина упаковки мм"),
    "height_mm": ("height_mm", "height", "высота", "высота мм", "высота упаковки мм"),
    "ikpu": ("ikpu", "икпу", "mxik", "мхик", "код икпу"),
    "color": ("color", "colour", "цвет", "rang"),
    "material": ("material", "материал", "состав"),
    "volume_ml": ("volume_ml", "volume", "объем", "объём", "объем мл", "объём мл"),
}

# How each marketplace labels the canonical attributes in its card (unknown keys keep their name).
MARKETPLACE_LABELS: dict[Marketplace, dict[str, str]] = {
    Marketplace.WILDBERRIES: {
        "brand": "Бренд",
        "country": "Страна производства",
        "weight_g": "Вес товара без упаковки (г)",
        "length_mm": "Длина упаковки",
        "width_mm": "Ширина упаковки",
        "height_mm": "Высота упаковки",
        "color": "Цвет",
        "material": "Состав",
    },
    Marketplace.OZON: {
        "brand": "Бренд",
        "country": "Страна-изготовитель",
        "weight_g": "Вес товара, г",
        "length_mm": "Длина, мм",
        "width_mm": "Ширина, мм",
        "height_mm": "Высота, мм",
        "color": "Цвет товара",
        "material": "Материал",
    },
    Marketplace.YANDEX: {
        "brand": "vendor",
        "country": "Страна производства",
        "weight_g": "Вес, г",
        "ikpu": "ИКПУ",
        "color": "Цвет",
    },
    Marketplace.UZUM: {
        "brand": "Бренд",
        "country": "Страна-производитель",
        "weight_g": "Вес, г",
        "length_mm": "Длина, мм",
        "width_mm": "Ширина, мм",
        "height_mm": "Высота, мм",
        "ikpu": "ИКПУ",
        "color": "Цвет",
    },
}


class MarketplaceCard(BaseModel):
    """The card one marketplace receives, cut from the shared draft."""

    model_config = ConfigDict(frozen=True)

    marketplace: Marketplace
    sku: str
    title: str
    description: str
    bullets: list[str] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)
    title_uz: str | None = None
    description_uz: str | None = None
    bullets_uz: list[str] = Field(default_factory=list)
    keywords_uz: list[str] = Field(default_factory=list)
    attributes: dict[str, str] = Field(default_factory=dict)  # marketplace labels
    canonical_attributes: dict[str, str] = Field(default_factory=dict)
    brand: str | None = None
    barcode: str | None = None
    title_cut: bool = False  # the draft title was shortened to fit


def rules_for(marketplace: Marketplace) -> CardRules:
    """The card rules of ``marketplace``."""
    return RULES[marketplace]


_TAG = re.compile(r"<[^>]{0,500}>")
_MD = re.compile(r"(\*\*|__|`{1,3}|^#{1,6}\s)", re.MULTILINE)
_SPACES = re.compile(r"[ \t\u00a0]+")
_KEY_PUNCT = re.compile(r"[^\w]+")


# A draft is cut into one card per marketplace (four cuts of the same strings), and a bullet is
# stripped once to filter it and once to keep it: the same strings come back.
@functools.lru_cache(maxsize=8192)
def strip_markup(text: str) -> str:
    """Plain text: HTML tags and Markdown emphasis removed, runs of spaces collapsed."""
    text = _TAG.sub(" ", text)
    text = _MD.sub("", text)
    lines = [
        # Per-character filtering only for the rare line that has control or format characters.
        _SPACES.sub(
            " ", line if line.isprintable() else "".join(ch for ch in line if ch.isprintable())
        ).strip()
        for line in text.split("\n")
    ]
    return "\n".join(line for line in lines if line)


@functools.lru_cache(maxsize=4096)
def canonical_key(name: str) -> str:
    """The canonical attribute key for ``name`` (``"Вес, г"`` → ``"weight_g"``), or a normalised name."""
    norm = _KEY_PUNCT.sub(" ", name.lower()).strip()
    for key, aliases in ATTRIBUTE_ALIASES.items():
        if norm in aliases or norm.replace(" ", "_") == key:
            return key
    return norm


def canonical_attributes(facts: ProductFacts, draft: CardDraft | None = None) -> dict[str, str]:
    """Facts' attributes (plus brand) under canonical keys, overlaid with the draft's attributes.

    Facts win over the draft on a conflict: the draft may only rephrase, never change, a fact.
    """
    merged: dict[str, str] = {}
    if draft is not None:
        merged.update({canonical_key(k): v for k, v in draft.attributes.items() if v.strip()})
    merged.update({canonical_key(k): v for k, v in facts.attributes.items() if v.strip()})
    if facts.brand:
        merged["brand"] = facts.brand
    _split_dimensions(merged)
    return merged


def fit_title(title: str, limit: int) -> tuple[str, bool]:
    """``title`` cut at the last word boundary within ``limit`` characters; True when it was cut.

    Titles are written most-important-first (type + brand + model + key property, §2.4/§5.3), so a
    tail cut keeps what matters; trailing separators are dropped so the cut never ends in ", -".
    """
    title = " ".join(title.split())
    if len(title) <= limit:
        return title, False
    head = title[: limit + 1]
    cut = head.rsplit(" ", 1)[0] if " " in head else title[:limit]
    return cut[:limit].rstrip(" ,;:-–—/(").strip(), True


def variant_for(marketplace: Marketplace, draft: CardDraft, facts: ProductFacts) -> MarketplaceCard:
    """Cut ``marketplace``'s card from the shared ``draft``: limits, languages, labels, plain text."""
    rules = RULES[marketplace]
    title, cut = fit_title(strip_markup(draft.ru.title), rules.title_max)
    canon = canonical_attributes(facts, draft)
    labels = MARKETPLACE_LABELS.get(marketplace, {})
    card: dict[str, object] = {
        "marketplace": marketplace,
        "sku": facts.sku,
        "title": title,
        "description": strip_markup(draft.ru.description),
        "bullets": [strip_markup(b) for b in draft.ru.bullets if strip_markup(b)],
        "keywords": [strip_markup(k) for k in draft.ru.keywords if strip_markup(k)],
        "attributes": _relabel(canon, labels),
        "canonical_attributes": canon,
        "brand": facts.brand,
        "barcode": facts.barcode,
        "title_cut": cut,
    }
    if "uz" in rules.languages:
        title_uz, cut_uz = fit_title(strip_markup(draft.uz.title), rules.title_max)
        card.update(
            title_uz=title_uz,
            description_uz=strip_markup(draft.uz.description),
            bullets_uz=[strip_markup(b) for b in draft.uz.bullets if strip_markup(b)],
            keywords_uz=[strip_markup(k) for k in draft.uz.keywords if strip_markup(k)],
            title_cut=cut or cut_uz,
        )
    return MarketplaceCard.model_validate(card)


def _relabel(canon: Mapping[str, str], labels: Mapping[str, str]) -> dict[str, str]:
    return {labels.get(k, k): v for k, v in canon.items()}


_DIMS = re.compile(r"^\s*(\d+(?:[.,]\d+)?)\s*[xх×*]\s*(\d+(?:[.,]\d+)?)\s*[xх×*]\s*(\d+(?:[.,]\d+)?)")


def _split_dimensions(attrs: dict[str, str]) -> None:
    """Fill length/width/height from a "Д×Ш×В" style ``размеры``/``dimensions`` value when absent."""
    for key in ("размеры", "размеры мм", "размер упаковки", "dimensions", "габариты", "габариты мм"):
        value = attrs.get(key)
        if value is None:
            continue
        m = _DIMS.match(value)
        if m:
            for name, part in zip(("length_mm", "width_mm", "height_mm"), m.groups(), strict=True):
                attrs.setdefault(name, part.replace(",", "."))
        return
