"""What a rule reports (``Finding``), what it reads with (``RuleContext``), and the shared helpers.

A finding's ``key`` names the *condition*, not its details: while a condition lasts its key is found
again and again and the alert fires once; its message may change (3 cards rejected, then 5).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from aimanager.db.models import Partner


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}


@dataclass(frozen=True, slots=True)
class Finding:
    """One condition a rule found: ``key`` is stable while the condition lasts."""

    rule: str
    key: str
    severity: Severity
    message: str
    action: str  # the command that acts on it
    partner_id: int | None = None  # None: operator-wide


@dataclass
class RuleContext:
    session: AsyncSession
    now: datetime
    partners: dict[int, tuple[str, str]]  # id → (slug, name)
    cover_days: Decimal = Decimal(7)
    examples: int = 3  # items quoted in a message

    def slug(self, partner_id: int | None) -> str:
        if partner_id is None:
            return "operator"
        return self.partners.get(partner_id, (f"partner-{partner_id}", ""))[0]


Rule = Callable[[RuleContext], Awaitable[list[Finding]]]


def examples(items: Iterable[str], limit: int) -> str:
    """The first ``limit`` items, each cut to 160 characters, and how many more there are."""
    items = list(items)
    shown = "; ".join(i[:160] for i in items[:limit])
    return shown + (f"; … and {len(items) - limit} more" if len(items) > limit else "")


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


async def load_partners(session: AsyncSession) -> dict[int, tuple[str, str]]:
    rows = await session.execute(select(Partner.id, Partner.slug, Partner.name))
    return {pid: (slug, name) for pid, slug, name in rows.all()}
