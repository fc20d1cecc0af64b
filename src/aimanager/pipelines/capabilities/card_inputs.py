"""Which cards must be written: the newest version per product and marketplace, and its input hash.

A marketplace's card is written again only when its input changed — the facts, that marketplace's
rules version, the prompt version or the languages it carries (``domain.cards.card_input_hash``) — or
when its newest version is one that needs it (none yet, needs input, refused by the marketplace).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from sqlalchemy import func, select

from aimanager.db.models import CardVersion, Product
from aimanager.domain.cards import ProductFacts, card_input_hash
from aimanager.domain.enums import Capability, Marketplace
from aimanager.domain.partner_settings import PartnerSettings
from aimanager.domain.rules import RULES, RULES_VERSION, card_languages
from aimanager.llm.prompts import CARD_PROMPT_VERSION
from aimanager.pipelines.services.tasks import TaskBook

# The task status and reason of a card (or price) that waits for a reviewer: "skipped", not "done" (it
# is not live) and not "failed" (nothing went wrong); `aimanager review list` shows them.
WAITING = "waiting for approval (aimanager review list)"
REVIEWER = "rejected by reviewer"
# Newest versions in these states need no new generation while their input is unchanged.
SETTLED = ("validated", "pushed", "exported", "pending_approval")


def changed_markets(
    product: Product,
    facts: ProductFacts,
    ready: list[Marketplace],
    prefs: PartnerSettings,
    latest: dict[tuple[int, str], Latest],
    digests: dict[tuple[int, Marketplace], str],
    book: TaskBook,
    repush: dict[tuple[int, Marketplace], list[int]],
) -> list[Marketplace]:
    """Of the ``ready`` marketplaces, those whose card must be written (its input changed, or it has
    none yet); the others' tasks are told from their newest version, with no LLM call.

    A marketplace that needs a language the partner excluded (Uzum and Yandex Market need Uzbek) is
    skipped with the reason: the partner's choice, not a failure of the work."""
    todo: list[Marketplace] = []
    sku, owner = product.sku, product.partner_id
    for market in ready:
        languages = card_languages(market, prefs.languages)
        if len(languages) < len(RULES[market].languages):
            why = (
                f"{market.value} cards need {'+'.join(RULES[market].languages)} text and the partner's "
                f"languages are {','.join(prefs.languages)} (aimanager settings set … languages=ru,uz)"
            )
            book.failed(Capability.CARDS, market, sku, why, "skipped", partner_id=owner)
            continue
        digest = card_input_hash(
            facts.facts_hash(), market.value, RULES_VERSION[market], CARD_PROMPT_VERSION, languages
        )
        previous = latest.get((product.id, market.value))
        if previous is None or previous.input_hash != digest or not previous.settled:
            digests[(product.id, market)] = digest
            todo.append(market)
        elif previous.status == "pending_approval":
            book.failed(Capability.CARDS, market, sku, WAITING, "skipped", partner_id=owner)
        elif previous.status == "rejected":
            book.failed(Capability.CARDS, market, sku, previous.errors[-1], partner_id=owner)
        elif previous.status == "validated":
            repush[(owner, market)].append(previous.id)  # written, never confirmed pushed
        else:
            book.done(Capability.CARDS, market, sku, partner_id=owner)
    return todo


class Latest(NamedTuple):
    id: int
    version: int
    status: str
    input_hash: str | None
    errors: list[str]

    @property
    def settled(self) -> bool:
        """Needs no new generation while its input is unchanged: written (and maybe live or waiting for a
        reviewer), or refused by a reviewer — the same input would only write the same card again. A
        card the marketplace refused is written again (it may go through once the cause is fixed)."""
        return self.status in SETTLED or (
            self.status == "rejected" and any(e.startswith(REVIEWER) for e in self.errors)
        )


async def latest_versions(session: Any, product_ids: list[int]) -> dict[tuple[int, str], Latest]:
    """Newest card version per (product, marketplace), in one query."""
    newest = (
        select(
            CardVersion.product_id.label("pid"),
            CardVersion.marketplace.label("mp"),
            func.max(CardVersion.version).label("v"),
        )
        .where(CardVersion.product_id.in_(product_ids))
        .group_by(CardVersion.product_id, CardVersion.marketplace)
        .subquery()
    )
    rows = await session.execute(
        select(
            CardVersion.product_id,
            CardVersion.marketplace,
            CardVersion.id,
            CardVersion.version,
            CardVersion.status,
            CardVersion.input_hash,
            CardVersion.validation_errors,
        ).join(
            newest,
            (CardVersion.product_id == newest.c.pid)
            & (CardVersion.marketplace == newest.c.mp)
            & (CardVersion.version == newest.c.v),
        )
    )
    return {
        (pid, market): Latest(int(cid), int(v), status, digest, list(errors or []))
        for pid, market, cid, v, status, digest, errors in rows
    }
