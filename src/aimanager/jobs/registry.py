"""Handlers by job kind: single-job handlers and batch handlers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from aimanager.jobs.errors import UnknownJobKind
from aimanager.jobs.model import Job

SingleHandler = Callable[[Job], Awaitable[Any]]
"""Runs one job; its return value (JSON-serialisable or None) is stored as the job's result."""

BatchHandler = Callable[[list[Job]], Awaitable[dict[int, BaseException] | None]]
"""Runs jobs that share a batch key in one call; returns the failures by job id (None: all done)."""

Cap = int | Callable[[], int]
"""A ``max_running``: a number, or a function asked at every claim (a cap that follows a measurement)."""


@dataclass(frozen=True, slots=True)
class HandlerSpec:
    kind: str
    func: Callable[..., Awaitable[Any]]
    batch: bool = False
    max_batch: int = 50
    timeout_s: float | None = None
    # At most this many jobs of the kind held by one worker (claimed or running); see ``register``.
    max_running: Cap | None = None


class Registry:
    """Maps job kinds to handlers. A worker runs only kinds its registry knows."""

    def __init__(self) -> None:
        self._handlers: dict[str, HandlerSpec] = {}

    def register(
        self,
        kind: str,
        func: SingleHandler,
        *,
        timeout_s: float | None = None,
        max_running: Cap | None = None,
    ) -> None:
        """Register a single-job handler for ``kind``.

        ``max_running`` caps the jobs of this kind one worker holds at once. While the kind is at its
        cap the worker claims other kinds, even of a lower priority: jobs that wait on a shared
        outside limit (an LLM's tokens per minute) gain nothing from more slots, and would otherwise
        hold every slot while work that could run waits behind them. A function is asked at every
        claim, so the cap can follow what is measured (the LLM limits' need for calls in flight)."""
        self._handlers[kind] = HandlerSpec(kind, func, timeout_s=timeout_s, max_running=max_running)

    def register_batch(
        self,
        kind: str,
        func: BatchHandler,
        *,
        max_batch: int = 50,
        timeout_s: float | None = None,
        max_running: Cap | None = None,
    ) -> None:
        """Register a handler that receives up to ``max_batch`` jobs of ``kind`` sharing a batch key
        (``max_running`` as for :meth:`register`)."""
        self._handlers[kind] = HandlerSpec(
            kind, func, batch=True, max_batch=max_batch, timeout_s=timeout_s, max_running=max_running
        )

    def handler(self, kind: str) -> HandlerSpec:
        """The handler for ``kind`` or :class:`UnknownJobKind`."""
        try:
            return self._handlers[kind]
        except KeyError:
            known = ", ".join(sorted(self._handlers)) or "none"
            raise UnknownJobKind(f"unknown job kind {kind!r}; known kinds: {known}") from None

    def check(self, kinds: Iterable[str]) -> None:
        """Raise :class:`UnknownJobKind` for the first kind without a handler."""
        for kind in kinds:
            self.handler(kind)

    @property
    def kinds(self) -> list[str]:
        return sorted(self._handlers)

    @property
    def caps(self) -> dict[str, Cap]:
        """``max_running`` of the kinds that have one."""
        return {k: s.max_running for k, s in self._handlers.items() if s.max_running is not None}
