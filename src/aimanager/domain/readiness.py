"""Is a product ready for a card on a marketplace? What facts are missing, before any model is asked.

A required attribute (Ozon's weight and dimensions, Uzum's IKPU, …) must come from the seller's
catalog: a model that wrote one would be inventing it. So a product that lacks one is not sent to the
LLM for that marketplace at all; its task ends "needs input" with the list of what to add, and the
product's other marketplaces go ahead without it.
"""

from __future__ import annotations

from collections.abc import Iterable

from aimanager.domain.cards import ProductFacts
from aimanager.domain.enums import Marketplace
from aimanager.domain.rules import MARKETPLACE_LABELS, RULES, canonical_attributes

# How a person fills each canonical attribute in, when the marketplace has no label of its own for it.
CATALOG_NAMES: dict[str, str] = {
    "brand": "Бренд",
    "country": "Страна производства",
    "weight_g": "Вес, г",
    "length_mm": "Длина, мм",
    "width_mm": "Ширина, мм",
    "height_mm": "Высота, мм",
    "ikpu": "ИКПУ",
}


def missing_facts(marketplace: Marketplace, facts: ProductFacts) -> list[str]:
    """What the catalog must add before ``marketplace`` can take a card for this product ([] = ready).

    Each entry names the attribute as the catalog spells it, with the marketplace's own label when it
    differs (``"Вес, г (Ozon: Вес товара, г)"``)."""
    rules = RULES[marketplace]
    have = canonical_attributes(facts)
    missing: list[str] = []
    for key in rules.required_attributes:
        if have.get(key, "").strip():
            continue
        name = CATALOG_NAMES.get(key, key)
        label = MARKETPLACE_LABELS.get(marketplace, {}).get(key)
        missing.append(f"{name} ({marketplace.value}: {label})" if label and label != name else name)
    if rules.min_attributes and len(have) < rules.min_attributes:
        missing.append(f"at least {rules.min_attributes} characteristics (the catalog has {len(have)})")
    return missing


def readiness(
    marketplaces: Iterable[Marketplace], facts: ProductFacts
) -> tuple[list[Marketplace], dict[Marketplace, list[str]]]:
    """``(ready, needs_input)``: the marketplaces a card can be written for now, and for the others
    what is missing."""
    ready: list[Marketplace] = []
    needs: dict[Marketplace, list[str]] = {}
    for market in dict.fromkeys(marketplaces):
        missing = missing_facts(market, facts)
        if missing:
            needs[market] = missing
        else:
            ready.append(market)
    return ready, needs
