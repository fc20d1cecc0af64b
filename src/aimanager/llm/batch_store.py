"""Provider batches, durable from submission (the ``llm_batch_packs`` table).

Real batches take minutes to hours; the job that asked for the cards may time out, be retried or die
with its process meanwhile. Every pack of a submitted batch is written here with the cache keys of its
items, so whoever asks for those items next finds the batch and polls it instead of submitting them
again, and ``claim_many`` lets exactly one of the pollers record (and bill) each pack's answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from aimanager.db.models import LLMBatchPack

# Providers expire a batch 24 h after submission; an hour more covers the last results' download.
OPEN_FOR = timedelta(hours=25)


@dataclass(frozen=True, slots=True)
class OpenPack:
    batch_id: str
    custom_id: str
    item_keys: tuple[str, ...]


class BatchStore:
    """Packs of submitted batches: recorded at submission, found by item key, claimed once settled."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def record(self, batch_id: str, provider: str, model: str, packs: dict[str, list[str]]) -> None:
        now = datetime.now(UTC)
        rows = [
            {
                "batch_id": batch_id,
                "custom_id": cid,
                "provider": provider,
                "model": model,
                "item_keys": keys,
                "created_at": now,
            }
            for cid, keys in packs.items()
        ]
        async with self.engine.begin() as conn:
            await conn.execute(insert(LLMBatchPack), rows)

    async def open_packs(self, provider: str, model: str, keys: set[str]) -> list[OpenPack]:
        """Unsettled packs of batches still alive that hold any of ``keys``."""
        since = datetime.now(UTC) - OPEN_FOR
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(LLMBatchPack.batch_id, LLMBatchPack.custom_id, LLMBatchPack.item_keys).where(
                    LLMBatchPack.settled_at.is_(None),
                    LLMBatchPack.created_at >= since,
                    LLMBatchPack.provider == provider,
                    LLMBatchPack.model == model,
                )
            )
            return [
                OpenPack(batch_id, cid, tuple(item_keys))
                for batch_id, cid, item_keys in rows
                if keys.intersection(item_keys)
            ]

    async def claim_many(self, batch_id: str, custom_ids: list[str]) -> set[str]:
        """The packs of ``custom_ids`` this caller settles, in one statement: a batch's hundreds of packs
        claimed one transaction each would hold its answers back for seconds."""
        if not custom_ids:
            return set()
        async with self.engine.begin() as conn:
            result = await conn.execute(
                update(LLMBatchPack)
                .where(
                    LLMBatchPack.batch_id == batch_id,
                    LLMBatchPack.custom_id.in_(custom_ids),
                    LLMBatchPack.settled_at.is_(None),
                )
                .values(settled_at=datetime.now(UTC))
                .returning(LLMBatchPack.custom_id)
            )
            return {str(cid) for (cid,) in result}
