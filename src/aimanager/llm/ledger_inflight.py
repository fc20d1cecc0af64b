"""Calls in flight are in the ledger before the provider sees them (issue 14: every token accounted).

A worker killed between the provider's answer and the booking of it used to leave a call that was
charged but never booked. Now each call writes its partners' rows first, outcome ``pending``, priced at
its worst case (estimated input + ``max_tokens`` output at the pinned price); the answer *settles* those
rows in place (real usage, cost and outcome), an error answered before any generation (429, 529, 5xx,
another 4xx) *drops* them. A row still pending ``lost_after`` its start — its worker is gone — is
*swept* to outcome ``lost`` at its worst-case cost, so the ledger never counts less than was charged.

A request that was sent and then timed out (or lost its connection) is different from an error status:
the provider may be generating the answer and bills it. Its rows are never dropped: when it is the
call's last attempt (``ProviderTimedOut``) they stay pending and are swept as lost; when it is retried,
they are booked ``lost`` at worst case (``detail.timed_out``) in the same write that opens the next
attempt's pending rows, before that attempt goes out (``Ticket.retried``). Reusing ``lost`` rather than a
new outcome: spend, budgets and the reports already count ``lost`` as worst-case, estimated spend.

Writes are group-committed like ``Ledger``: every open queued while the previous write ran goes out in
one INSERT, every settle and drop in one transaction, so thousands of calls starting together cost one
round trip rather than thousands. Settling or sweeping a row sets its ``created_at`` to that moment: a
row leaves ``pending`` inside a day that is still open, so the daily spend rollup (which skips pending
rows) never misses one.

The sweep runs in every gateway that writes: with its first write and then every ``SWEEP_EVERY_S`` at
a random point of the period — no daemon of its own (one indexed UPDATE over the pending rows).
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, bindparam, delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from aimanager.db.models import AIUsageLog
from aimanager.db.pool import LLM_CALL, db_priority
from aimanager.errors import LLMError
from aimanager.llm.errors import ProviderTimedOut
from aimanager.llm.ledger import LedgerRow, Share, row_values, split_call
from aimanager.llm.prices import PriceTable
from aimanager.llm.tokens import estimate_tokens
from aimanager.llm.types import ModelRef, ProviderRequest, ProviderResponse, Usage
from aimanager.logs import get_logger

log = get_logger(__name__)
PENDING, LOST = "pending", "lost"
# Beyond the longest a live call can take: a worker that is alive settles or drops its rows before.
LOST_MARGIN_S = 300.0
SWEEP_EVERY_S = 300.0
# Answered responses waiting for their booking are forgotten after this (their rows are swept as lost).
ANSWERED_TTL_S = 3600.0
_SETTLED = (
    *("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "cost_usd"),
    *("latency_ms", "outcome", "items", "request_id", "detail", "created_at"),
)


def lost_after(
    request_timeout_s: float, max_retries: int, max_retry_after_s: float, batch_timeout_s: float
) -> tuple[float, float]:
    """Seconds after which a pending real-time / batch row is lost: every attempt of the retry loop at
    its timeout plus its longest pause, or the batch's own timeout, then a margin."""
    realtime = (max_retries + 1) * (request_timeout_s + max_retry_after_s) + LOST_MARGIN_S
    return realtime, batch_timeout_s + LOST_MARGIN_S


def shares_of(items: Sequence[tuple[int | None, str, float]]) -> list[Share]:
    """``(partner, item id, weight)`` per item → one share per partner, in first-seen order."""
    by_partner: dict[int | None, Share] = {}
    for partner, item, weight in items:
        share = by_partner.setdefault(partner, Share(partner, [], 0.0, 0.0))
        share.item_ids.append(item)
        share.input_weight += weight
        share.output_weight += weight
    return list(by_partner.values())


@dataclass(slots=True, eq=False)
class Ticket:
    """One call's in-flight rows: opened before the provider sees the request, then settled (by
    ``Accounting.record_call``) or dropped. ``key``: the batch request the rows belong to, once known."""

    ledger: InFlightLedger
    task_kind: str
    path: str
    shares: list[Share]
    detail: dict[str, Any] = field(default_factory=dict)
    ids: dict[int | None, int] = field(default_factory=dict)  # partner → its pending row
    key: str | None = None
    worst_usd: Decimal = Decimal(0)
    # What the open rows were written from, for the next attempt's after a timeout (``retried``).
    rows: list[LedgerRow] = field(default_factory=list)
    sent: tuple[ModelRef, ProviderRequest, int] | None = None

    async def open(self, ref: ModelRef, request: ProviderRequest, input_tokens: int) -> None:
        """Write the pending rows at the call's worst case; raises if the ledger cannot take them (then
        the call must not be made)."""
        rows = self.ledger.pending_rows(self, ref, request, input_tokens)
        self.worst_usd = sum((r.cost_usd for r in rows), Decimal(0))
        ids = await self.ledger.submit(_Op(rows=rows))
        self.ids = {r.partner_id: i for r, i in zip(rows, ids, strict=True)}
        self.rows, self.sent = rows, (ref, request, input_tokens)

    async def retried(self) -> None:
        """The attempt the open rows stand for was sent and timed out, and is about to be sent again:
        the provider may bill both. One write books this attempt ``lost`` at its worst case and opens the
        next attempt's pending rows — so a worker that dies at any point leaves every sent attempt in the
        ledger at worst case. Raises if the ledger cannot take it (then the retry must not go out)."""
        if not self.ids or self.sent is None:
            return  # nothing open here (a ledger write failed before): those rows are swept as lost
        ids, self.ids = self.ids, {}  # if the write fails they stay pending, never dropped
        booked = [
            (ids.get(r.partner_id), replace(r, outcome=LOST, detail={**r.detail, "timed_out": True}))
            for r in self.rows
        ]
        rows = self.ledger.pending_rows(self, *self.sent)
        new = await self.ledger.submit(_Op(rows=rows, settle=booked))
        self.ids = {r.partner_id: i for r, i in zip(rows, new, strict=True)}
        self.rows = rows
        log.warning("llm.ledger.timed_out", rows=len(booked), worst_usd=str(self.worst_usd), retried=True)

    async def failed(self, exc: BaseException) -> None:
        """The call raised: an error status means nothing was generated, so the rows go; a cancelled
        call may have been answered and a timed-out one (``ProviderTimedOut``: sent, then no answer) may
        be billed, so their rows stay pending (and are swept as lost at worst case). Never raises."""
        if isinstance(exc, asyncio.CancelledError) or not (self.ids or self.key):
            return
        if isinstance(exc, ProviderTimedOut):
            # Forgotten here, so a later drop of this ticket (a fallback model's failure) cannot take them.
            self.ids = {}
            log.warning("llm.ledger.timed_out", worst_usd=str(self.worst_usd), retried=False)
            return
        try:
            await self.drop()
        except Exception as error:  # left pending: swept as lost at worst case, never under-counted
            log.error("llm.ledger.drop_failed", error=str(error)[:300])

    async def drop(self) -> None:
        """Nothing was charged: delete the pending rows."""
        ids = list(self.ids.values()) or await self.ledger.pending_ids(self.key)
        self.ids = {}
        if ids:
            await self.ledger.submit(_Op(drop=ids))

    async def link(self, key: str) -> None:
        """The rows belong to batch request ``key`` (so any process that settles it finds them). Never
        raises: unlinked rows are swept as lost, and their batch is then booked anew (over, not under)."""
        self.key = key
        if self.ids:
            try:
                await self.ledger.submit(_Op(link=(key, list(self.ids.values()))))
            except Exception as exc:
                log.error("llm.ledger.link_failed", key=key, error=str(exc)[:300])

    def adopt(self, key: str) -> Ticket:
        """The ticket of the pending rows of batch request ``key`` (opened by any process)."""
        self.key = key
        return self

    def answered(self, response: ProviderResponse) -> None:
        """Remember that ``response`` answers this ticket: its booking settles the rows."""
        self.ledger.expect(response, self)

    async def settle(self, rows: list[LedgerRow]) -> None:
        """Book ``rows`` (the call's real split) in place of the pending rows."""
        ids = self.ids or dict(await self.ledger.pending_rows_of(self.key))
        self.ids = {}
        matched = [(ids.pop(r.partner_id, None), r) for r in rows]
        await self.ledger.submit(_Op(settle=matched, drop=list(ids.values())))


@dataclass(slots=True, eq=False)
class _Op:
    rows: list[LedgerRow] = field(default_factory=list)  # pending rows to insert (ids come back)
    settle: list[tuple[int | None, LedgerRow]] = field(default_factory=list)  # None: insert
    drop: list[int] = field(default_factory=list)
    link: tuple[str, list[int]] | None = None
    done: asyncio.Future[list[int]] | None = None


class InFlightWriteInterrupted(LLMError):
    """The write carrying this call's rows was cancelled: they may or may not have been committed."""


def _fail(batch: list[_Op], exc: BaseException) -> None:
    for op in batch:
        if op.done is not None and not op.done.done():
            op.done.set_exception(exc)


class InFlightLedger:
    """Pending rows of calls in flight: opens, settles, drops and the sweep of lost ones."""

    def __init__(
        self, engine: AsyncEngine, prices: PriceTable, lost_after_s: tuple[float, float] | None = None
    ) -> None:
        self.engine = engine
        self.prices = prices
        self.lost_after_s = lost_after_s or lost_after(600.0, 4, 60.0, 24 * 3600.0)
        self._queue: list[_Op] = []
        self._lock = asyncio.Lock()
        self._answered: dict[int, tuple[ProviderResponse, Ticket, float]] = {}
        self._next_sweep = 0.0  # the first write sweeps
        self._rng = random.Random()

    def ticket(
        self,
        task_kind: str,
        path: str,
        items: Sequence[tuple[int | None, str, float]],
        detail: dict[str, Any] | None = None,
    ) -> Ticket:
        """A ticket for one call serving ``items`` (partner, item id, weight); nothing is written yet."""
        return Ticket(self, task_kind, path, shares_of(items), dict(detail or {}))

    def pending_rows(
        self, ticket: Ticket, ref: ModelRef, request: ProviderRequest, input_tokens: int
    ) -> list[LedgerRow]:
        """The call's rows at its worst case: all input uncached or written to the prompt cache,
        whichever costs more, and every token of ``max_tokens`` written."""
        price = self.prices.price(ref.model)  # an unpriced model raises here, before anything is sent
        batch = ticket.path == "batch"
        options = (
            Usage(input_tokens=input_tokens, output_tokens=request.max_tokens),
            Usage(cache_write_tokens=input_tokens, output_tokens=request.max_tokens),
        )
        worst = max(options, key=lambda usage: price.cost(usage, batch=batch))
        detail = {
            **ticket.detail,
            "call_id": uuid.uuid4().hex,
            "estimate": True,
            "max_tokens": request.max_tokens,
            "input_estimate": input_tokens,
            "started_at": datetime.now(UTC).isoformat(),
        }
        rows = split_call(
            usage=worst,
            shares=ticket.shares,
            prices=self.prices,
            model=ref.model,
            provider=ref.provider,
            path=ticket.path,
            task_kind=ticket.task_kind,
            latency_ms=0,
            outcome=PENDING,
            request_id=None,
            detail=detail,
        )
        for n, row in enumerate(rows):  # a unique mark to match the INSERT's ids back (no order needed)
            row.request_id = f"{PENDING}:{detail['call_id']}:{n}"
        return rows

    def expect(self, response: ProviderResponse, ticket: Ticket) -> None:
        now = time.monotonic()
        if len(self._answered) > 1000:  # answers never booked (a crash in between): their rows go lost
            self._answered = {k: v for k, v in self._answered.items() if now - v[2] < ANSWERED_TTL_S}
        self._answered[id(response)] = (response, ticket, now)

    def claim(self, response: ProviderResponse) -> Ticket | None:
        """The ticket ``response`` answers, if any (each is claimed once)."""
        entry = self._answered.pop(id(response), None)
        return entry[1] if entry is not None and entry[0] is response else None

    async def pending_rows_of(self, key: str | None) -> list[tuple[int | None, int]]:
        """``(partner, row id)`` of the pending rows of batch request ``key``."""
        if key is None:
            return []
        where = and_(AIUsageLog.outcome == PENDING, AIUsageLog.request_id == key)
        async with self.engine.connect() as conn:
            found = await conn.execute(select(AIUsageLog.partner_id, AIUsageLog.id).where(where))
            return [(partner, row_id) for partner, row_id in found.all()]

    async def pending_ids(self, key: str | None) -> list[int]:
        return [row_id for _, row_id in await self.pending_rows_of(key)]

    # -- group commit ---------------------------------------------------------------------------------
    async def submit(self, op: _Op) -> list[int]:
        """Queue ``op`` and return once it is committed (by this caller or another's write); the ids of
        its inserted pending rows."""
        op.done = asyncio.get_running_loop().create_future()
        self._queue.append(op)
        async with self._lock:
            if self._queue:
                batch, self._queue = self._queue, []
                try:
                    await self._write(batch)
                except Exception as exc:  # each caller raises it from its own future below
                    _fail(batch, exc)
                except BaseException:  # cancelled mid-write: the others learn it, we re-raise
                    _fail([o for o in batch if o is not op], InFlightWriteInterrupted())
                    raise
            if time.monotonic() >= self._next_sweep:
                self._next_sweep = time.monotonic() + SWEEP_EVERY_S * self._rng.uniform(0.5, 1.5)
                try:
                    await self.sweep()
                except Exception as exc:  # the next period tries again
                    log.error("llm.ledger.sweep_failed", error=str(exc)[:300])
        return await op.done

    async def _write(self, batch: list[_Op]) -> None:
        now = datetime.now(UTC)
        with db_priority(LLM_CALL):
            await self._write_rows(batch, now)

    async def _write_rows(self, batch: list[_Op], now: datetime) -> None:
        async with self.engine.begin() as conn:
            opened = [r for op in batch for r in op.rows]
            ids: dict[str | None, int] = {}
            if opened:
                # RETURNING in parameter order would make SQLite insert row by row: match by mark instead.
                stmt = insert(AIUsageLog).returning(AIUsageLog.request_id, AIUsageLog.id)
                returned = await conn.execute(stmt, [row_values(r, now) for r in opened])
                ids = {mark: row_id for mark, row_id in returned.all()}
            await self._settle(conn, [pair for op in batch for pair in op.settle], now)
            drops = [i for op in batch for i in op.drop]
            if drops:
                gone = and_(AIUsageLog.id.in_(drops), AIUsageLog.outcome == PENDING)
                await conn.execute(delete(AIUsageLog).where(gone))
            for op in batch:
                if op.link is not None:
                    key, linked = op.link
                    await conn.execute(
                        update(AIUsageLog).where(AIUsageLog.id.in_(linked)).values(request_id=key)
                    )
        for op in batch:
            assert op.done is not None
            op.done.set_result([ids[r.request_id] for r in op.rows])

    async def _settle(
        self, conn: AsyncConnection, pairs: list[tuple[int | None, LedgerRow]], now: datetime
    ) -> None:
        fresh = [row_values(r, now) for row_id, r in pairs if row_id is None]
        if fresh:
            await conn.execute(insert(AIUsageLog), fresh)
        known = [(row_id, row_values(r, now)) for row_id, r in pairs if row_id is not None]
        if not known:
            return
        columns = AIUsageLog.__table__.c
        # Only a row still pending: a row swept as lost meanwhile keeps its worst case (never less).
        stmt = (
            update(AIUsageLog)
            .where(AIUsageLog.id == bindparam("row_id"), AIUsageLog.outcome == PENDING)
            .values({name: bindparam(f"v_{name}", type_=columns[name].type) for name in _SETTLED})
        )
        params = [{"row_id": row_id, **{f"v_{n}": v[n] for n in _SETTLED}} for row_id, v in known]
        await conn.execute(stmt, params)

    async def sweep(self, now: datetime | None = None) -> int:
        """Mark the pending rows older than ``lost_after_s`` (real-time, batch) ``lost``, kept at their
        worst case; returns how many. Dated now, so a closed day's rollup never changes."""
        now = now or datetime.now(UTC)
        realtime, batch = (now - timedelta(seconds=s) for s in self.lost_after_s)
        old = or_(
            and_(AIUsageLog.path == "batch", AIUsageLog.created_at < batch),
            and_(AIUsageLog.path != "batch", AIUsageLog.created_at < realtime),
        )
        stmt = (
            update(AIUsageLog).where(AIUsageLog.outcome == PENDING, old).values(outcome=LOST, created_at=now)
        )
        async with self.engine.begin() as conn:
            lost = int(getattr(await conn.execute(stmt), "rowcount", 0) or 0)
        if lost:
            log.warning("llm.ledger.lost", rows=lost, realtime_after_s=self.lost_after_s[0])
        return lost


# -- the Batch API path: one ticket per pack (custom id) -------------------------------------------------
def batch_key(batch_id: str, custom_id: str) -> str:
    """What a batch pack's pending rows carry as ``request_id`` until it is settled."""
    return f"batch:{batch_id}:{custom_id}"


async def open_tickets(
    ref: ModelRef, tickets: dict[str, Ticket], requests: list[tuple[str, ProviderRequest]]
) -> None:
    """Open every pack's rows (one INSERT: they queue together)."""
    await asyncio.gather(
        *(
            tickets[cid].open(ref, request, estimate_tokens(request.system + request.user))
            for cid, request in requests
        )
    )


async def drop_tickets(tickets: dict[str, Ticket], exc: BaseException) -> None:
    """The batch was refused: nothing was charged."""
    await asyncio.gather(*(ticket.failed(exc) for ticket in tickets.values()))


async def link_tickets(batch_id: str, tickets: dict[str, Ticket]) -> None:
    """The batch was accepted: each pack's rows carry its key (see ``batch_key``)."""
    await asyncio.gather(*(t.link(batch_key(batch_id, cid)) for cid, t in tickets.items()))
