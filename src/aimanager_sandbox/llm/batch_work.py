"""Batch answers worked out while the batch runs, as a provider does — not on the first look after it
ends. Computed lazily, 2,000 answers held that first poll for seconds of the sandbox's CPU: time no real
provider adds to a batch, and which the Batch benchmark then counted against the client.

The work starts in a thread when the batch is created; whoever asks for the answers first (the thread, or
a poll after the end if the thread is still at it) computes them under the batch's lock, once. Nothing
is published before the batch's end: the routes decide that, as before."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from typing import Any

_LOCK, _DONE = "_work_lock", "_work_done"
log = logging.getLogger(__name__)


def start(batch: dict[str, Any], work: Callable[[], Any]) -> None:
    """Run ``work`` (which asks for ``batch``'s ``answers``) in a worker thread: the event loop keeps
    serving meanwhile."""
    batch.setdefault(_LOCK, threading.Lock())
    asyncio.get_running_loop().run_in_executor(None, work).add_done_callback(_report)


def _report(done: asyncio.Future[Any]) -> None:
    """Say so when the early work failed: the first poll after the end computes the answers again (and
    meets the same error, in its response), but the reason is in the sandbox's log from the start."""
    if not done.cancelled() and (error := done.exception()) is not None:
        log.warning("the answers of a batch could not be worked out early: %r", error)


def answers(batch: dict[str, Any], compute: Callable[[], Any]) -> Any:
    """``batch``'s answers: computed once, by whoever gets here first."""
    lock = batch.setdefault(_LOCK, threading.Lock())
    with lock:
        if _DONE not in batch:
            batch[_DONE] = compute()
    return batch[_DONE]
