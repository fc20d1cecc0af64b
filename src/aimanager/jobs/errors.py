"""Errors of the job engine, and the two exceptions handlers raise to steer retries."""

from __future__ import annotations

from typing import Any

from aimanager.errors import JobError


class UnknownJobKind(JobError):
    """A job kind with no registered handler."""


class InvalidPayload(JobError):
    """A job payload that is not a JSON object."""


class Retry(Exception):  # a control-flow signal, not an error report
    """Raised by a handler to ask for another attempt after ``delay`` seconds (e.g. a Retry-After).

    The attempt still counts: after ``max_attempts`` the job goes to ``dead`` like any failure.
    ``payload``, when given, replaces the job's payload in the same write: what is left to do (a batch
    of 20 products of which 3 failed retries those 3, and dies, if it does, naming only them).
    """

    def __init__(
        self,
        reason: str = "retry requested",
        *,
        delay: float | None = None,
        payload: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(reason)
        self.delay = delay
        self.payload = payload


class Snooze(Exception):  # a control-flow signal, not an error report
    """Raised by a handler whose job cannot run *yet* (it waits for other work): queued again after
    ``delay`` seconds, the attempt not counted and no error recorded.

    Unlike :class:`Retry`, nothing failed, so a job may snooze any number of times; the handler owns
    the limit (it knows how long waiting makes sense) and raises :class:`PermanentFailure` past it.
    ``payload``, when given, replaces the job's payload in the same write: what is left to wait for
    (a job that waits on many things records the ones already done).
    """

    def __init__(self, reason: str, *, delay: float, payload: dict[str, Any] | None = None) -> None:
        super().__init__(reason)
        self.delay = delay
        self.payload = payload


class PermanentFailure(Exception):
    """Raised by a handler when another attempt cannot succeed (bad input): the job ends ``failed``.

    ``payload``, when given, replaces the job's payload in the same write (only what failed, so a
    retry by hand redoes just that)."""

    def __init__(self, reason: str, *, payload: dict[str, Any] | None = None) -> None:
        super().__init__(reason)
        self.payload = payload
