"""Group commit for bulk pushes: concurrent pushes to one account share one bulk call.

A marketplace's bulk endpoints are rate-limited per account, not per item: Wildberries takes ten
price uploads per six seconds whether each carries one price or a thousand. Fifty urgent single-SKU
repricing requests for one seller, each pushed on its own, queue behind that limit for a minute and
a half (every upload is followed by status reads under the same limit). Here the first caller for an
account sends at once; callers that arrive while its call is in flight wait and go out together in
the next call, like a database's group commit. At most one call per account is in flight, so the
limiter's tokens go to calls that carry everything waiting.

A batch never holds the same offer twice: a later push of an offer already in the waiting batch
waits for the call after, so the marketplace ends with the newest price and every caller's report
speaks of the price it asked for.

Across processes and hosts (``hold``, a cross-host lock per account — ``shared_state.SharedLocks``
when Redis is configured): a process sends its batch only while it holds the account's lock, and
its pushes that arrive while another process's call is in flight wait in its batch meanwhile. So at
most one price call per account is in flight anywhere, and each carries everything its process had
waiting — the group commit of one process, with the turn passed between processes. Batches are not
merged across processes: that would need every caller's report to travel back through Redis and a
crashed sender's items to be recovered, for a gain the shared rate limit already bounds (see
docs/limits.md).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Sequence
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from aimanager.connectors.base import PushReport

Key = TypeVar("Key", bound=Hashable)
Item = TypeVar("Item")


@dataclass
class _Batch(Generic[Item]):
    items: list[Item] = field(default_factory=list)
    offers: set[str] = field(default_factory=set)
    done: asyncio.Future[PushReport] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


@dataclass
class _Account(Generic[Item]):
    waiting: list[_Batch[Item]] = field(default_factory=list)
    sending: bool = False


class GroupPush(Generic[Key, Item]):
    """Coalesce pushes per key (an account and an operation) into as few bulk calls as possible.

    ``send(key, items)`` makes one bulk call (the connector splits it into the marketplace's batch
    size); ``offer(item)`` names the offer an item is for; ``hold(key)``, when given, is held around
    each call (the cross-host lock of the account, see the module docstring).
    """

    def __init__(
        self,
        send: Callable[[Key, list[Item]], Awaitable[PushReport]],
        offer: Callable[[Item], str],
        hold: Callable[[Key], AbstractAsyncContextManager[Any]] | None = None,
    ) -> None:
        self._send = send
        self._offer = offer
        self._hold = hold or (lambda _key: nullcontext())
        self._accounts: dict[Key, _Account[Item]] = {}
        self._senders: set[asyncio.Task[None]] = set()

    async def push(self, key: Key, items: Sequence[Item]) -> PushReport:
        """Push ``items`` with whatever else is waiting for ``key``; the report covers ``items`` only
        (the call's HTTP requests and tasks are shared by everyone in it)."""
        if not items:
            return PushReport()
        account = self._accounts.setdefault(key, _Account())
        mine = {self._offer(i) for i in items}
        batch = self._join(account, items, mine)
        if not account.sending:
            account.sending = True
            sender = asyncio.create_task(self._drain(key, account))
            self._senders.add(sender)
            sender.add_done_callback(self._senders.discard)
        report = await asyncio.shield(batch.done)
        return _only(report, mine)

    @staticmethod
    def _join(account: _Account[Item], items: Sequence[Item], mine: set[str]) -> _Batch[Item]:
        """The first waiting batch without any of ``mine`` (or a new one), with ``items`` added."""
        batch = next((b for b in account.waiting if not b.offers & mine), None)
        if batch is None:
            batch = _Batch[Item]()
            # Retrieved here so a call's error is never "unretrieved" when its callers were cancelled.
            batch.done.add_done_callback(lambda f: f.cancelled() or f.exception())
            account.waiting.append(batch)
        batch.items.extend(items)
        batch.offers |= mine
        return batch

    async def _drain(self, key: Key, account: _Account[Item]) -> None:
        try:
            while account.waiting:
                batch: _Batch[Item] | None = None
                try:
                    # The batch stays open to joiners while the turn is another process's.
                    async with self._hold(key):
                        batch = account.waiting.pop(0)
                        try:
                            batch.done.set_result(await self._send(key, batch.items))
                        except Exception as exc:  # every caller in the batch sees the call's error
                            batch.done.set_exception(exc)
                except asyncio.CancelledError:  # shutting down: nobody's call goes out any more
                    for pending in (*([batch] if batch else []), *account.waiting):
                        if not pending.done.done():
                            pending.done.cancel()
                    account.waiting.clear()
                    raise
                except Exception as exc:  # the lock itself failed: the batch it was for sees it
                    if batch is None and account.waiting:
                        batch = account.waiting.pop(0)
                    if batch is not None and not batch.done.done():
                        batch.done.set_exception(exc)
        finally:
            account.sending = False
            if not account.waiting:
                self._accounts.pop(key, None)


def _only(report: PushReport, offers: set[str]) -> PushReport:
    """The part of a shared call's report about ``offers``."""
    return PushReport(
        accepted=[o for o in report.accepted if o in offers],
        failed=[e for e in report.failed if e.offer_id in offers],
        tasks=[t for t in report.tasks if offers.intersection(t.offer_ids)],
        requests=report.requests,
        export_path=report.export_path,
    )
