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
