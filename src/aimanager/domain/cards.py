"""Product facts and the card written from them — the contract between the gateway and the pipelines.

One generation serves every marketplace: the LLM (or the offline writer) returns one ``CardDraft`` with
Russian and Uzbek (Latin) text; per-marketplace variants (title limits, attribute names) are cut from it
by code in ``domain.rules``.
"""

from __future__ import annotations

import hashlib
import json

from pydantic import BaseModel, ConfigDict, Field


class ProductFacts(BaseModel):
    """What is known about a product: the only source a card may state facts from."""

    model_config = ConfigDict(frozen=True)

    sku: str
    name: str
    brand: str | None = None
    category: str | None = None
    barcode: str | None = None
    description: str | None = None
    attributes: dict[str, str] = Field(default_factory=dict)

    def facts_hash(self) -> str:
        """Stable hash of the facts; an unchanged hash means an unchanged card input."""
        blob = json.dumps(self.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(blob.encode()).hexdigest()


class LocalizedCard(BaseModel):
    """Card text in one language."""

    title: str
    description: str
    bullets: list[str] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)


class CardDraft(BaseModel):
    """One generated card: Russian and Uzbek (Latin script) text plus normalised attributes."""

    ru: LocalizedCard
    uz: LocalizedCard
    attributes: dict[str, str] = Field(default_factory=dict)


def card_input_hash(
    facts_hash: str, marketplace: str, rules_version: str, prompt_version: str, languages: tuple[str, ...]
) -> str:
    """Everything a marketplace's card is written from: the facts, that marketplace's rules version,
    the prompt version and the languages it carries. Unchanged = no new generation is needed."""
    blob = json.dumps([facts_hash, marketplace, rules_version, prompt_version, list(languages)])
    return hashlib.sha256(blob.encode()).hexdigest()


# The fields of a marketplace card that reach the marketplace as text (``rules.MarketplaceCard``).
CARD_TEXT_FIELDS = (
    "title",
    "description",
    "bullets",
    "keywords",
    "title_uz",
    "description_uz",
    "bullets_uz",
    "keywords_uz",
    "attributes",
)


def card_text_hash(variant: dict[str, object]) -> str:
    """Hash of a card variant's text as the marketplace receives it: equal to
    ``listings.card_pushed_hash`` means the marketplace holds this text already."""
    text = {k: variant.get(k) for k in CARD_TEXT_FIELDS}
    blob = json.dumps(text, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()
