"""``TaskBook.write`` upserts its outcomes with one cached statement (executemany) on both dialects:
the last word on a task wins, other tasks are untouched, chunks past 500 rows land too."""

from __future__ import annotations

from sqlalchemy import select

from aimanager.db.engine import make_engine, session_factory
from aimanager.db.models import TaskRecord
from aimanager.domain.enums import Capability, Marketplace
from aimanager.pipelines.services.tasks import TaskBook
from aimanager.schema.migrate import upgrade


async def test_outcomes_are_upserted_in_chunks(db_url: str) -> None:
    engine = make_engine(db_url)
    await upgrade(engine)
    sessions = session_factory(engine)
    try:
        first = TaskBook(1, job_id=10)
        for i in range(160):  # 640 rows: two chunks
            for market in Marketplace:
                first.done(Capability.CARDS, market, f"S{i}")
        async with sessions() as session, session.begin():
            await first.write(session)
        again = TaskBook(1, job_id=11)
        again.failed(Capability.CARDS, Marketplace.WILDBERRIES, "S7", "card failed its rules")
        async with sessions() as session, session.begin():
            await again.write(session)
        async with sessions() as session:
            rows = (await session.execute(select(TaskRecord))).scalars().all()
        assert len(rows) == 640
        s7 = {r.marketplace: r for r in rows if r.sku == "S7"}
        assert (s7["wildberries"].status, s7["wildberries"].reason, s7["wildberries"].job_id) == (
            "failed",
            "card failed its rules",
            11,
        )
        assert all(r.status == "done" and r.job_id == 10 for m, r in s7.items() if m != "wildberries")
    finally:
        await engine.dispose()
