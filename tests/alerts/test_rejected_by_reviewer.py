"""``cards.rejected`` counts the marketplaces' refusals only: a card a reviewer rejected is a person's
decision (``aimanager review``), already known to whoever made it — not something to be alerted about."""

from __future__ import annotations

from typing import Any

from aimanager.alerts.findings import RuleContext
from aimanager.alerts.rules import cards_rejected
from aimanager.db.models import CardVersion
from tests.alerts import seed
from tests.alerts.conftest import NOW


def rejected(partner_id: int, product_id: int, marketplace: str, errors: list[str]) -> CardVersion:
    return CardVersion(
        partner_id=partner_id,
        product_id=product_id,
        marketplace=marketplace,
        version=1,
        content={},
        status="rejected",
        validation_errors=errors,
    )


async def test_a_card_rejected_by_a_reviewer_is_not_a_rejected_card_alert(sessions: Any) -> None:
    async with sessions() as session, session.begin():
        acme, _ = await seed.partners(session)
        a1, _ = await seed.product(session, acme, "A1")
        a2, _ = await seed.product(session, acme, "A2")
        session.add_all(
            [
                # Refused by a reviewer (after a marketplace had refused an earlier text: the last word
                # is the reviewer's).
                rejected(
                    acme.id, a1.id, "wildberries", ["title longer than 60", "rejected by reviewer: tone"]
                ),
                rejected(acme.id, a2.id, "ozon", ["rejected by reviewer"]),
            ]
        )
    async with sessions() as session:
        ctx = RuleContext(session=session, now=NOW, partners={acme.id: ("acme", "Acme Savdo")})
        assert await cards_rejected(ctx) == []

    # A marketplace's refusal still fires, and only it is counted.
    async with sessions() as session, session.begin():
        session.add(rejected(acme.id, a2.id, "wildberries", ["rejected by reviewer", "Бренд: required"]))
    async with sessions() as session:
        ctx = RuleContext(session=session, now=NOW, partners={acme.id: ("acme", "Acme Savdo")})
        [finding] = await cards_rejected(ctx)
    assert "1 card rejected on wildberries" in finding.message and "A2: Бренд: required" in finding.message
