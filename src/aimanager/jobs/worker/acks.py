"""Acknowledgements and lease renewals: the worker's writes to the rows it holds.

Successes are acknowledged in coalesced bulk writes (one per ~10 ms of completions); the leases of the
held jobs, and of those whose ack is not written yet, are renewed by a heartbeat every lease/3.

Both survive a store that fails (a connection killed, the database restarting): failed acks are kept
and written by the next flush, which the flush loop retries with backoff on its own; a failed renewal
is tried again within a second or two, well inside the lease, so no lease the worker can still renew
is lost.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from aimanager.jobs.backends.protocol import Backend
from aimanager.jobs.model import Completion, Job
from aimanager.logs import get_logger
from aimanager.retry import Backoff

log = get_logger("aimanager.jobs.worker")


class AcksAndLeases:
    """Buffers acks and writes them in bulk; renews leases; never runs the two writes at once."""

    def __init__(
        self,
        backend: Backend,
        worker_id: str,
        *,
        lease_s: float,
        claim_batch: int,
        held: Mapping[int, Job],
    ) -> None:
        self._backend = backend
        self._worker_id = worker_id
        self._lease_s = lease_s
        self._claim_batch = claim_batch
        self._held = held  # the worker's held jobs (a live view): their leases are renewed
        self._acks: list[Completion] = []
        self._unwritten: set[int] = set()  # acked jobs whose ack is not written yet: still leased
        self._ack_event = asyncio.Event()
        # Acks and lease renewals update overlapping rows (a job being acked is still renewed); run
        # concurrently on PostgreSQL they lock those rows in different orders and can deadlock. Run
        # one at a time, a renewal also never counts a job whose ack is half written as lost.
        self._row_writes = asyncio.Lock()
        self._backoff = Backoff(base=0.1, cap=min(2.0, lease_s / 6.0))
        self.ack_failures = 0  # the current run of failed flushes
        self.heartbeat_failures = 0  # the current run of failed renewals

    @property
    def pending(self) -> int:
        """Acks buffered and not written yet."""
        return len(self._acks)

    def ack(self, completion: Completion) -> None:
        """Buffer a success; the flush loop writes it."""
        self._acks.append(completion)
        self._unwritten.add(completion.job_id)
        self._ack_event.set()

    async def flush(self) -> bool:
        """Write the buffered acks in one call (kept for the next flush if the store fails).

        Returns False when the write failed (after a backoff pause)."""
        if not self._acks:
            return True
        batch, self._acks = self._acks, []
        try:
            async with self._row_writes:
                await self._backend.complete(self._worker_id, batch)
        except Exception as exc:
            self._acks = batch + self._acks  # keep them: the next flush tries again
            self.ack_failures += 1
            log.error("job.ack_failed", count=len(batch), error=str(exc)[:300], failures=self.ack_failures)
            self._ack_event.set()  # the flush loop retries even if no new ack arrives
            await asyncio.sleep(self._backoff.delay(self.ack_failures))
            return False
        self.ack_failures = 0
        for c in batch:
            self._unwritten.discard(c.job_id)
        return True

    async def flush_all(self, tries: int = 10) -> None:
        """At shutdown: write what is buffered, retrying a store that blinks a few times."""
        for _ in range(tries):
            if await self.flush() and not self._acks:
                return

    async def flush_loop(self) -> None:
        while True:
            await self._ack_event.wait()
            # Coalesce: one write per ~10 ms of completions instead of one per finished job.
            if len(self._acks) < self._claim_batch:
                await asyncio.sleep(0.01)
            self._ack_event.clear()
            await self.flush()

    async def renew_leases(self) -> bool:
        """Extend the leases of every job this worker still holds or has not written the ack of.

        Returns False when the store did not take the renewal."""
        ids = list(self._held) + list(self._unwritten)
        if not ids:
            return True
        try:
            async with self._row_writes:
                held = await self._backend.heartbeat(self._worker_id, ids, self._lease_s)
        except Exception as exc:
            self.heartbeat_failures += 1
            log.error("worker.heartbeat_failed", error=str(exc)[:300], failures=self.heartbeat_failures)
            return False
        self.heartbeat_failures = 0
        # Jobs acked while this renewal waited for its turn are no longer 'running': they are not lost.
        still = sum(1 for i in ids if i in self._held or i in self._unwritten)
        if held < still:
            log.warning("worker.leases_lost", held=held, expected=still)
        return True

    async def heartbeat_loop(self) -> None:
        interval = self._lease_s / 3.0
        wait = interval
        while True:
            await asyncio.sleep(wait)
            # A failed renewal is tried again soon (backoff capped at lease/6), not a full interval
            # later: two missed intervals would let another worker's reaper take the jobs.
            ok = await self.renew_leases()
            wait = interval if ok else min(interval, self._backoff.delay(self.heartbeat_failures))
