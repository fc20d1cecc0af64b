"""What the provider's retry loop tells a call (``providers.base.RetryEvents``): a 429 holds the limiter
and queues the refused call for its tokens again, a 529 halves the calls in flight, every retry is
counted, and a timed-out attempt (which the provider may bill) is booked before its retry goes out."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from aimanager.llm.ledger_inflight import Ticket

if TYPE_CHECKING:
    from aimanager.llm.calls import Caller


class CallEvents:
    """Retry-loop feedback for one model: halve concurrency, hold the limiter, count retries, book a
    timed-out attempt (which the provider may bill) before its retry goes out."""

    def __init__(
        self,
        caller: Caller,
        key: str,
        ticket: Ticket | None = None,
        size: tuple[int, int] = (0, 0),
        reserved_at: float | None = None,
    ) -> None:
        self.caller, self.key, self.ticket = caller, key, ticket
        self.size = size  # (input, output) tokens the call reserves: a retry after a 429 takes them again
        # When the current attempt took its tokens from the limiter: a refusal of tokens taken against a
        # deeper burst than the limiter holds now teaches nothing new (``RateLimiter.throttled``).
        self.reserved_at = time.monotonic() if reserved_at is None else reserved_at
        self._hold: asyncio.Future[None] | None = None  # the limiter's hold after the last 429

    def on_throttled(self, retry_after: float | None) -> None:
        self.caller.stats.retries += 1
        # A 429 is about rates, which the limiter paces once the limits are known: cutting the calls in
        # flight as well would slow the work under the limits for a minute (a 529 is load, and cuts).
        # Unknown limits leave the concurrency controller as the only brake.
        if not self.caller.limiter.limits(self.key).known:
            self.caller.concurrency.on_overload()
        task = asyncio.ensure_future(
            self.caller.limiter.throttled(self.key, retry_after, self.reserved_at, self.size)
        )
        self.caller.background.add(task)
        task.add_done_callback(self.caller.background.discard)
        self._hold = task  # a retry waits for it (``before_retry``) rather than holding the limiter again

    def on_overloaded(self) -> None:
        self.caller.stats.retries += 1
        self.caller.concurrency.on_overload()

    async def on_maybe_billed(self) -> None:
        if self.ticket is not None:
            await self.ticket.retried()

    async def before_retry(self, kind: str, delay: float) -> None:
        """After a 429 the call queues for its tokens again, first in line, behind the buckets the
        refusal emptied. Each retrying on its own after the server's few milliseconds, the calls refused
        in one burst all went at once and were refused again, until their retries ran out (the server
        took none of their tokens, and our buckets had not counted them again either)."""
        limiter = self.caller.limiter
        if kind == "throttled" and self._hold is not None:
            await self._hold  # the buckets are held for the server's wait before this call queues
        if kind == "throttled" and limiter.limits(self.key).known:
            await limiter.acquire(self.key, *self.size, priority=0)
        else:
            await asyncio.sleep(delay)
        self.reserved_at = time.monotonic()
